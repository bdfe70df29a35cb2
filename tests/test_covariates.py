"""Past-only (historic) covariates (#24): read over the history, never asked of the future."""

import numpy as np
import pandas as pd
import pytest
import torch

from tsrnn import RNNForecaster
from tsrnn._forecast.windows import Panel
from tsrnn.errors import DataError
from tsrnn.persist import load, save

FAST = {"hidden_size": 16, "n_models": 1, "device": "cpu", "random_state": 0, "interval": None}


@pytest.fixture(scope="module")
def leading():
    """40 series whose next value is the signal's current one (a past-only column that leads
    the target by one step), plus a known promotion column."""
    rng = np.random.default_rng(0)
    n, steps = 40, 80
    signal = rng.normal(size=(n, steps))
    promo = (rng.random((n, steps)) < 0.2).astype(float)
    target = 10 + np.roll(signal, 1, axis=1) + 2 * promo + 0.1 * rng.normal(size=(n, steps))
    index = pd.MultiIndex.from_product(
        [[f"s{k}" for k in range(n)], pd.date_range("2020-01-01", periods=steps, freq="D")],
        names=["id", "ds"],
    )
    y = pd.Series(target.ravel(), index=index, name="y")
    X = pd.DataFrame({"promo": promo.ravel(), "signal": signal.ravel()}, index=index)
    return y, X


def _split(y, X, end):
    ends = y.groupby(level=0).cumcount().to_numpy() < end
    return y[ends], X[ends], y[~ends], X[~ends]


def test_past_only_columns_are_never_asked_of_the_future(leading):
    y, X = leading
    y_fit, X_fit, _, X_next = _split(y, X, 79)
    model = RNNForecaster(horizon=1, steps=30, hist_exog=["signal"], **FAST).fit(y_fit, X_fit)
    out = model.predict(X_future=X_next[["promo"]])  # no signal
    assert len(out) == 40 and np.isfinite(out.to_numpy(dtype=float)[:, 0]).all()
    pd.testing.assert_frame_equal(model.predict(X_future=X_next), out)  # given: not read
    only = RNNForecaster(horizon=1, steps=30, hist_exog=["signal"], **FAST)
    only.fit(y_fit, X_fit[["signal"]])
    assert np.isfinite(only.predict().to_numpy(dtype=float)[:, 0]).all()  # no X_future at all
    with pytest.raises(DataError, match="hist_exog names"):
        RNNForecaster(hist_exog=["price"], **FAST).fit(y_fit, X_fit)


def test_training_never_sees_the_future_of_a_past_only_column():
    """The Panel gives 0 in the steps ahead of a window for a past-only column, its value for
    a known one."""
    data = Panel([np.arange(6.0)], [np.arange(12.0).reshape(6, 2)], known=(True, False))
    _, _, past_X, future_X = data.past(torch.tensor([0]), torch.tensor([3]), 3, 2)
    assert past_X[0, :, 1].tolist() == [1.0, 3.0, 5.0]
    assert future_X[0].tolist() == [[6.0, 0.0], [8.0, 0.0]]


def test_a_leading_past_only_signal_lowers_the_error(leading):
    """The next value is the signal's last one: with the signal as a past-only input the
    one-step error falls well below the model's without it."""
    y, X = leading
    y_fit, X_fit, y_next, X_next = _split(y, X, 79)
    errors = {}
    for name, hist in (("with", ["signal"]), ("without", None)):
        columns = ["promo", "signal"] if hist else ["promo"]
        model = RNNForecaster(horizon=1, lookback=8, steps=300, hist_exog=hist, **FAST)
        model.fit(y_fit, X_fit[columns])
        got = model.predict(X_future=X_next[["promo"]])["forecast"].to_numpy()
        errors[name] = np.mean(np.abs(got - y_next.to_numpy()))
    assert errors["with"] < 0.7 * errors["without"], errors


def test_past_only_columns_survive_a_save_and_load(leading, tmp_path):
    y, X = leading
    y_fit, X_fit, _, X_next = _split(y, X, 79)
    model = RNNForecaster(horizon=1, steps=20, hist_exog=["signal"], **FAST).fit(y_fit, X_fit)
    save(model, tmp_path / "m.tsrnn")
    again = load(tmp_path / "m.tsrnn")
    assert again.hist_exog == ["signal"]
    pd.testing.assert_frame_equal(
        again.predict(X_future=X_next[["promo"]]), model.predict(X_future=X_next[["promo"]])
    )


@pytest.mark.parametrize(
    ("freq", "features"),
    [("h", ["hour", "weekday"]), ("D", ["weekday", "yearday"]), ("W-SUN", ["week"]),
     ("MS", ["month"]), ("QS", ["quarter"]), ("YS", [])],
)  # fmt: skip
def test_calendar_features_on_each_frequency(freq, features):
    """calendar="auto" adds the sine and cosine of each cycle the frequency has (none for
    years), known in the future without any file: predict needs no X_future."""
    index = pd.date_range("2020-01-01", periods=60, freq=freq, name="ds")
    y = pd.Series(10 + np.sin(np.arange(60)), index=index)
    model = RNNForecaster(horizon=3, steps=10, calendar="auto", **FAST).fit(y)
    expected = [f"calendar:{f}_{part}" for f in features for part in ("sin", "cos")]
    assert list(model.feature_names_in_) == expected
    out = model.predict()
    assert len(out) == 3 and np.isfinite(out["forecast"]).all()
    assert np.isfinite(model.predict(y=y.iloc[:-5])["forecast"]).all()


def test_calendar_columns_follow_the_future_stamps():
    """The weekday a daily model reads ahead of its history is the forecast day's."""
    from tsrnn._forecast.covariates import Covariates

    names = ["calendar:weekday_sin", "calendar:weekday_cos"]
    covariates = Covariates(names, np.zeros(2), np.ones(2))
    last = [pd.Timestamp("2024-01-07")]  # a Sunday: the forecast starts on Monday
    block = covariates.future(None, 2, [None], last, "D", multi=False)[0]
    np.testing.assert_allclose(block[0], [0.0, 1.0], atol=1e-12)  # Monday: position 0
    np.testing.assert_allclose(block[1], [np.sin(2 * np.pi / 7), np.cos(2 * np.pi / 7)])


def test_holidays_of_a_country_are_an_input_from_the_stamps(tmp_path):
    """holidays="US": 1 on US public holidays, in the history and in the steps ahead; a saved
    model makes them again; a coarse frequency or an unknown country is one clear error."""
    from tsrnn._data.calendar import calendar_columns
    from tsrnn.errors import ParameterError

    stamps = pd.date_range("2023-12-23", periods=12, freq="D")
    names, values = calendar_columns(stamps, ["holidays.US"])
    assert names == ["calendar:holidays.US_day"]
    assert stamps[values[:, 0] == 1].strftime("%m-%d").tolist() == ["12-25", "01-01"]
    # Sales triple on holidays (3 % of days); the model reads them ahead without any future
    # file. Rare, they are learned slowly: the forecast rises on the day, not to 30.
    days = pd.date_range("2021-01-01", periods=1095, freq="D")
    holiday = calendar_columns(days, ["holidays.US"])[1][:, 0]
    y = pd.Series(10.0 * (1 + 2 * holiday), index=days)
    model = RNNForecaster(horizon=14, steps=400, holidays="US", **FAST).fit(y[:-14])
    forecast = model.predict()["forecast"]
    assert list(model.feature_names_in_) == ["calendar:holidays.US_day"]
    assert forecast.loc["2023-12-25"] > 1.06 * forecast.drop(pd.Timestamp("2023-12-25")).median()
    save(model, tmp_path / "m.tsrnn")
    pd.testing.assert_frame_equal(load(tmp_path / "m.tsrnn").predict(), model.predict())
    with pytest.raises(ParameterError, match="needs daily or finer data"):
        RNNForecaster(holidays="US", **FAST).fit(y.resample("MS").sum())
    with pytest.raises(ParameterError, match="not a country"):
        RNNForecaster(holidays="Atlantis", **FAST).fit(y)
