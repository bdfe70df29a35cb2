"""One long frame as a forecast's input: split_frame, and predict_frame (what the MLflow model
serves) equal to RNNForecaster.predict given the same history and inputs. No MLflow here."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from tsrnn import RNNForecaster
from tsrnn._data.frames import split_frame
from tsrnn.datasets import load
from tsrnn.errors import DataError, ParameterError
from tsrnn.io import flat_forecast
from tsrnn.mlflow import ForecastModel, predict_frame

SMALL = {"steps": 20, "hidden_size": 8, "n_models": 1, "random_state": 0}
DAYS = pd.date_range("2020-01-01", periods=60, freq="D")
AHEAD = pd.date_range("2020-03-01", periods=4, freq="D")


def panel(ids=("a", "b", "c"), days=DAYS, seed=0) -> pd.DataFrame:
    """Daily sales of a few stores, with a price (known ahead) and a size (static)."""
    rng = np.random.default_rng(seed)
    parts = []
    for k, store in enumerate(ids):
        t = np.arange(len(days))
        parts.append(
            pd.DataFrame(
                {
                    "store": store,
                    "day": days,
                    "sales": 10 + 5 * k + np.sin(t / 3) + rng.normal(0, 0.1, len(t)),
                    "price": rng.normal(1, 0.1, len(t)),
                    "size": float(k + 1),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def future(ids=("a", "b", "c"), steps=AHEAD) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "store": np.repeat(list(ids), len(steps)),
            "day": np.tile(steps, len(ids)),
            "price": np.linspace(0.9, 1.1, len(ids) * len(steps)),
        }
    )


def by_series(frame: pd.DataFrame, columns) -> pd.DataFrame:
    return frame.set_index(["store", "day"])[columns]


@pytest.fixture(scope="module")
def stores():
    data = panel()
    static = data.groupby("store")[["size"]].first()
    model = RNNForecaster(horizon=4, **SMALL)
    return model.fit(by_series(data, "sales"), by_series(data, ["price"]), static)


@pytest.fixture(scope="module")
def air():
    return RNNForecaster(horizon=6, **SMALL).fit(load("airpassengers"))


def test_split_frame_cuts_history_and_future_rows_in_any_row_order():
    data = pd.concat([panel(), future()], ignore_index=True).sample(frac=1, random_state=0)
    parts = split_frame(
        data, time_col="day", target="sales", id_col="store", exog=["price"],
        future=["price"], static=["size"],
    )  # fmt: skip
    assert parts.y.index.names == ["store", "day"] and len(parts.y) == 180
    assert parts.y.index.sort_values().equals(by_series(panel(), "sales").index)
    assert parts.y.index.is_monotonic_increasing is False  # series in order of first row
    assert parts.y.groupby(level="store").apply(lambda s: s.index.is_monotonic_increasing).all()
    assert parts.X_future.index.get_level_values("day").unique().equals(AHEAD)
    assert parts.static["size"].sort_index().to_dict() == {"a": 1.0, "b": 2.0, "c": 3.0}


def test_split_frame_refuses_what_it_cannot_read():
    data = panel().drop(columns="size")
    kwargs = {"time_col": "day", "target": "sales", "id_col": "store", "exog": ["price"]}
    with pytest.raises(DataError, match=r"'promo', which the model does not read"):
        split_frame(data.assign(promo=1), **kwargs)
    with pytest.raises(DataError, match=r"2020-01-01 twice for store=a \(rows 1 and 181\)"):
        split_frame(pd.concat([data, data.iloc[:1]], ignore_index=True), **kwargs)
    with pytest.raises(DataError, match=r"'price' of the input frame has an empty value on row 3"):
        split_frame(data.assign(price=data["price"].where(data.index != 2)), **kwargs)
    with pytest.raises(DataError, match=r"Series store='c' has no target value"):
        split_frame(data.assign(sales=data["sales"].where(data["store"] != "c")), **kwargs)
    with pytest.raises(DataError, match=r"needs them on its history rows"):
        split_frame(data.drop(columns="price"), **kwargs)
    with pytest.raises(DataError, match=r"changes within series 'a'"):
        split_frame(data.assign(size=data.index % 2), **kwargs, static=["size"])


def test_split_frame_of_an_empty_frame_is_empty():
    assert split_frame(pd.DataFrame(), time_col="ds", target="y") == (None, None, None, None)


def test_predict_frame_equals_predict_with_the_same_inputs(stores):
    """History and future rows in the model's names, or in Nixtla's, forecast as predict does."""
    data, ahead = panel(seed=1), future()
    expected = stores.predict(
        X_future=by_series(ahead, ["price"]),
        y=by_series(data, "sales"),
        X=by_series(data, ["price"]),
        level=[80],
    )
    frame = pd.concat([data.drop(columns="size"), ahead], ignore_index=True)
    got = predict_frame(stores, frame, level=[80])
    pd.testing.assert_frame_equal(got, flat_forecast(expected))
    nixtla = frame.rename(columns={"store": "unique_id", "day": "ds", "sales": "y"})
    pd.testing.assert_frame_equal(predict_frame(stores, nixtla, level=[80]), got)
    assert got.columns.tolist() == ["store", "day", "forecast", "lower", "upper", "lo-80", "hi-80"]


def test_an_empty_frame_forecasts_the_kept_series(air, stores):
    pd.testing.assert_frame_equal(predict_frame(air, pd.DataFrame()), flat_forecast(air.predict()))
    pd.testing.assert_frame_equal(
        predict_frame(stores, future(), horizon=3, quantiles=[0.1]),
        flat_forecast(
            stores.predict(3, X_future=by_series(future(), ["price"]).groupby(level=0).head(3),
                           quantiles=[0.1])
        ),
    )  # fmt: skip


def test_future_rows_past_the_horizon_are_ignored_and_too_few_refused(stores):
    with pytest.raises(DataError, match=r"Series 'c' has 0 future row\(s\) for a horizon of 4"):
        predict_frame(stores, future(ids=("a", "b")))
    with pytest.raises(DataError, match=r"has 2 future row\(s\) for a horizon of 4: .*'price'"):
        predict_frame(stores, future(steps=AHEAD[:2]))
    assert len(predict_frame(stores, future(), horizon=2)) == 6


def test_a_new_series_reads_its_static_columns(stores):
    data = panel(ids=("new",), seed=2).assign(size=2.5)
    frame = pd.concat([data, future(ids=("new",))], ignore_index=True)
    expected = stores.predict(
        X_future=by_series(future(ids=("new",)), ["price"]),
        y=by_series(data, "sales"),
        X=by_series(data, ["price"]),
        static=pd.DataFrame({"size": [2.5]}, index=pd.Index(["new"], name="store")),
    )
    pd.testing.assert_frame_equal(predict_frame(stores, frame), flat_forecast(expected))
    with pytest.raises(DataError, match=r"static covariates \(size\)"):
        predict_frame(stores, frame.drop(columns="size"))


def test_a_single_series_model_takes_one_unique_id(air):
    history = load("airpassengers").iloc[-40:].rename("y").rename_axis("ds").reset_index()
    expected = predict_frame(air, history, horizon=3)
    got = predict_frame(air, history.assign(unique_id="air"), horizon=3)
    pd.testing.assert_frame_equal(got, expected)
    with pytest.raises(DataError, match=r"fitted on one series, and the frame holds 2"):
        predict_frame(air, history.assign(unique_id=["a", "b"] * 20))


def test_a_model_that_keeps_no_series_needs_history(air):
    """As after a fit on a dataset of a Dask cluster: the fit keeps no series."""
    kept_none = RNNForecaster(**air.get_params())._adopt(
        dataclasses.replace(air.fitted_, series=None)
    )
    with pytest.raises(DataError, match=r"keeps no series: send their history .*'ds'"):
        predict_frame(kept_none, pd.DataFrame())
    history = load("airpassengers").rename("y").rename_axis("ds").reset_index()
    pd.testing.assert_frame_equal(predict_frame(kept_none, history), predict_frame(air, history))


def test_an_integer_time_column_for_a_model_fitted_on_a_range_index():
    y = pd.Series(5 + np.sin(np.arange(50) / 3))
    model = RNNForecaster(horizon=3, **SMALL).fit(y)
    got = predict_frame(model, pd.DataFrame({"ds": np.arange(100, 120), "y": y.iloc[:20]}))
    assert got["timestamp"].tolist() == [120, 121, 122]
    with pytest.raises(DataError, match=r"must hold integer time steps"):
        predict_frame(model, pd.DataFrame({"ds": DAYS[:20], "y": y.iloc[:20]}))


def test_the_pyfunc_model_checks_its_params(air):
    model = ForecastModel(air)
    assert len(model.predict(pd.DataFrame(), params={"horizon": np.int64(2), "level": 80})) == 2
    with pytest.raises(ParameterError, match=r"Unknown parameter\(s\) 'steps'"):
        model.predict(pd.DataFrame(), params={"steps": 2})
    with pytest.raises(ParameterError, match=r"horizon must be a positive integer; got 0"):
        model.predict(pd.DataFrame(), params={"horizon": 0})
    with pytest.raises(ParameterError, match=r"level must be a list of numbers"):
        model.predict(pd.DataFrame(), params={"level": ["high"]})
