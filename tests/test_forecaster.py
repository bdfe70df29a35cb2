"""Tests of RNNForecaster and of the series validation it shares with the CSV reader."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import tsrnn._forecast.jobs as forecast_jobs
from tsrnn import RNNForecaster
from tsrnn._data.checks import check_series
from tsrnn.datasets import load
from tsrnn.errors import DataError, NotFittedError, ParameterError, TsrnnError
from tsrnn.persist import load as load_model
from tsrnn.persist import save

FAST = {
    "hidden_size": 4,
    "epochs": 2,
    "batch_size": 16,
    "n_models": 1,
    "device": "cpu",
    "random_state": 0,
}


def monthly(n=60, start="2000-01-01", seed=0, level=100.0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = level + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n)
    return pd.Series(values, index=pd.date_range(start, periods=n, freq="MS", name="ds"))


@pytest.fixture(scope="module")
def air():
    return load("airpassengers")


@pytest.fixture(scope="module")
def fitted(air):
    return RNNForecaster(lookback=24, cell="lstm", **FAST).fit(air)


# ---------------------------------------------------------------- the user story


def test_predict_returns_dated_forecast_with_intervals(fitted, air):
    """The next 12 month-starts, columns forecast/lower/upper, lower <= forecast <= upper."""
    out = fitted.predict(horizon=12)
    expected = pd.date_range("1961-01-01", periods=12, freq="MS", name="ds")
    assert out.index.equals(expected)
    assert out.index.name == air.index.name
    assert list(out.columns) == ["forecast", "lower", "upper"]
    assert np.isfinite(out.to_numpy()).all()
    assert (out["lower"] <= out["forecast"]).all() and (out["forecast"] <= out["upper"]).all()


def test_intervals_never_narrow_further_ahead(fitted):
    """The half-width in scaled units is non-decreasing with the step ahead."""
    assert np.all(np.diff(fitted.half_widths_) >= 0)
    longer = fitted.predict(horizon=30)
    assert len(longer) == 30
    width = (longer["upper"] - longer["lower"]).to_numpy()
    assert width[-1] > width[0]


def test_predict_default_horizon_is_fit_horizon(fitted):
    """horizon=None in predict uses horizon_ (one season for monthly data)."""
    assert fitted.horizon_ == 12
    assert len(fitted.predict()) == 12


def test_get_params_and_clone():
    """Explicit params round-trip through get_params/set_params and sklearn.clone."""
    f = RNNForecaster(lookback=24, strategy="recursive", hidden_size=7, interval=0.8)
    params = f.get_params()
    assert params["lookback"] == 24 and params["hidden_size"] == 7 and params["interval"] == 0.8
    copy = clone(f)
    assert copy.get_params() == params
    copy.set_params(cell="gru")
    assert copy.cell == "gru" and f.cell == "lstm"


def test_same_random_state_same_forecast(air):
    """Two fits with the same seed give identical numbers."""
    a = RNNForecaster(lookback=24, **FAST).fit(air).predict()
    b = RNNForecaster(lookback=24, **FAST).fit(air).predict()
    pd.testing.assert_frame_equal(a, b)


def test_recursive_strategy(air):
    """A one-step network fed its own output forecasts any horizon."""
    f = RNNForecaster(lookback=24, strategy="recursive", horizon=6, **FAST).fit(air)
    assert f.models_[0].n_outputs_ == 1
    out = f.predict(horizon=9)
    assert len(out) == 9 and np.isfinite(out.to_numpy()).all()


def test_direct_strategy_emits_all_horizon_values(fitted):
    """The direct network has one output per step of the fit horizon."""
    assert fitted.models_[0].n_outputs_ == fitted.horizon_


def test_trend_is_continued():
    """On a clean linear trend, the level-relative default extrapolates the slope.

    With standard scaling: the log of a linear trend is concave (``scaler="auto"`` takes the
    log of positive series), so this checks ``normalize="last"`` on its own.
    """
    t = np.arange(80.0)
    y = pd.Series(50 + 3 * t, index=pd.date_range("2001-01-01", periods=80, freq="D"))
    f = RNNForecaster(lookback=14, horizon=7, hidden_size=8, epochs=300, n_models=1, device="cpu",
                      random_state=0, interval=None, scaler="standard")  # fmt: skip
    out = f.fit(y).predict()["forecast"].to_numpy()
    truth = 50 + 3 * np.arange(80, 87)
    # A level model would stay near the last value (287) or the training range; the trend is
    # continued when the forecast climbs by about 3 per day.
    assert np.all(np.diff(out) > 1.0)
    assert np.max(np.abs(out - truth)) < 10


def test_interval_none_gives_nan_bounds(air):
    """interval=None skips calibration; the bounds are NaN, the networks' forecast is unchanged
    (with combine="auto" there are then no calibration windows to choose on: networks alone)."""
    with_int = RNNForecaster(lookback=24, combine="none", **FAST).fit(air).predict()
    model = RNNForecaster(lookback=24, interval=None, **FAST).fit(air)
    without = model.predict()
    assert model.combine_ == "none" and model.calibration_errors_ == {}
    assert without[["lower", "upper"]].isna().all().all()
    np.testing.assert_array_equal(with_int["forecast"], without["forecast"])


def test_auto_combination_is_chosen_on_the_calibration_windows(air):
    """combine='auto' compares both on the held-out windows and keeps the smaller error."""
    f = RNNForecaster(lookback=24, **FAST).fit(air)
    errors = f.calibration_errors_
    assert set(errors) == {"none", "theta"}
    assert f.combine_ == min(errors, key=errors.get)
    assert (f.theta_ is not None) == (f.combine_ == "theta")


def test_every_other_network_reads_the_window_scale(air):
    """With window normalisation the ensemble holds both kinds of network: value and observed
    channels only, and the same plus the log of the window's scale; predict feeds each the
    inputs it was trained on (an ensemble of one kind alone forecasts differently)."""
    f = RNNForecaster(lookback=24, interval=None, **{**FAST, "n_models": 2}).fit(air)
    assert [m.n_channels_in_ // f.patch_size_ for m in f.models_] == [2, 3]
    both = f.predict()["forecast"].to_numpy()
    models, inputs = f.models_, f.network_inputs_
    f.models_, f.network_inputs_ = models[:1], inputs[:1]
    first = f.predict()["forecast"].to_numpy()
    f.models_, f.network_inputs_ = models[1:], inputs[1:]
    second = f.predict()["forecast"].to_numpy()
    np.testing.assert_allclose(both, np.sqrt(first * second), rtol=1e-5)  # log scale: geometric
    last = RNNForecaster(lookback=24, normalize="last", interval=None, **{**FAST, "n_models": 2})
    last.fit(air)
    assert [m.n_channels_in_ // last.patch_size_ for m in last.models_] == [2, 2]


def test_the_third_and_fourth_networks_read_the_long_lookback(air, tmp_path):
    """long_lookback: networks 2 and 3 of four train on (and predict from) longer windows,
    with their own patch; the ensemble is the mean of each kind's forecast, and a saved
    file keeps what each network reads."""
    f = RNNForecaster(lookback=12, long_lookback=36, interval=None, **{**FAST, "n_models": 4})
    f.fit(air)
    assert f.long_lookback_ == 36 and f.history_y_.shape == (1, 36)
    assert f.network_inputs_ == [(12, 1, False), (12, 1, True), (36, 3, False), (36, 3, True)]
    assert [m.n_channels_in_ for m in f.models_] == [2, 3, 6, 9]
    both = f.predict()["forecast"].to_numpy()
    fitted = f.fitted_  # each kind alone: a fit of its two networks
    parts = []
    for k in (slice(0, 2), slice(2, 4)):
        plan = dataclasses.replace(fitted.plan, networks=fitted.plan.networks[k])
        f._adopt(dataclasses.replace(fitted, models=fitted.models[k], plan=plan))
        parts.append(f.predict()["forecast"].to_numpy())
    f._adopt(fitted)
    np.testing.assert_allclose(both, np.sqrt(parts[0] * parts[1]), rtol=1e-5)
    assert not np.allclose(parts[0], parts[1])
    save(f, tmp_path / "m.tsrnn")
    loaded = load_model(tmp_path / "m.tsrnn")
    assert loaded.network_inputs_ == f.network_inputs_
    np.testing.assert_array_equal(loaded.predict()["forecast"], both)
    # A series shorter than the long lookback caps it; never below the lookback.
    short = RNNForecaster(lookback=12, long_lookback=500, interval=None, **FAST).fit(air)
    assert short.long_lookback_ == len(air) - 1
    assert RNNForecaster(lookback=12, long_lookback=4, **FAST).fit(air).long_lookback_ == 12
    # By default it is twice the lookback; a single network reads only the lookback.
    one = RNNForecaster(lookback=12, interval=None, **FAST).fit(air)
    assert one.long_lookback_ == 24 and one.history_y_.shape == (1, 12)
    assert RNNForecaster(lookback=100, interval=None, **FAST).fit(air).long_lookback_ == 143


def test_a_held_out_value_without_a_log_leaves_the_intervals_finite():
    """A series positive up to the calibration cut but with a value <= 0 after it is scaled
    by the calibration fit as the final fit scales it (no log), so every held-out window is
    encodable instead of one NaN score making every interval NaN."""
    y = monthly(n=60)
    y.iloc[-3] = -5.0
    f = RNNForecaster(lookback=12, horizon=6, calibration_size=4, **FAST).fit(y)
    assert np.isfinite(f.half_widths_).all() and f.n_calibration_ == 4
    assert not f.scaling_.log[0]
    assert np.isfinite(f.predict()[["lower", "upper"]].to_numpy()).all()


def test_range_index_input():
    """A RangeIndex series is forecast on the integers that follow."""
    y = pd.Series(np.sin(np.arange(50) / 3))
    out = RNNForecaster(lookback=10, horizon=4, **FAST).fit(y).predict()
    assert list(out.index) == [50, 51, 52, 53]


def test_not_fitted():
    """predict before fit raises NotFittedError."""
    with pytest.raises(NotFittedError, match="fit"):
        RNNForecaster().predict(3)


def test_bad_param_is_parameter_error(air):
    """An unknown strategy is reported by name."""
    with pytest.raises(ParameterError, match="strategy"):
        RNNForecaster(strategy="sideways").fit(air)


# ---------------------------------------------------------------- newer history, exogenous


def test_predict_from_newer_history(air):
    """Passing y to predict forecasts after its end without refitting."""
    f = RNNForecaster(lookback=24, **FAST).fit(air.iloc[:-12])
    base = f.predict()
    assert base.index[0] == pd.Timestamp("1960-01-01")
    newer = f.predict(y=air)
    assert newer.index[0] == pd.Timestamp("1961-01-01")
    same = f.predict(y=air.iloc[:-12])
    pd.testing.assert_frame_equal(base, same)


def test_exogenous_columns(air):
    """X in fit makes X_future required, of the right length and columns."""
    X = pd.DataFrame({"month": air.index.month.astype(float)}, index=air.index)
    f = RNNForecaster(lookback=24, **FAST).fit(air, X)
    future = pd.date_range("1961-01-01", periods=12, freq="MS")
    X_future = pd.DataFrame({"month": future.month.astype(float)}, index=future)
    out = f.predict(X_future=X_future)
    assert len(out) == 12 and np.isfinite(out.to_numpy()).all()
    with pytest.raises(DataError, match="X_future"):
        f.predict()
    with pytest.raises(DataError, match="11 rows"):
        f.predict(X_future=X_future.iloc[:11])
    with pytest.raises(DataError, match="columns"):
        f.predict(X_future=X_future.rename(columns={"month": "m"}))


def test_exogenous_future_changes_the_forecast(air):
    """The network reads X_future: different future covariates give different forecasts."""
    X = pd.DataFrame({"x": np.random.default_rng(0).normal(size=len(air))}, index=air.index)
    f = RNNForecaster(lookback=24, **FAST).fit(air, X)
    future = pd.date_range("1961-01-01", periods=12, freq="MS")
    a = f.predict(X_future=pd.DataFrame({"x": np.zeros(12)}, index=future))
    b = f.predict(X_future=pd.DataFrame({"x": np.full(12, 3.0)}, index=future))
    assert not np.allclose(a["forecast"], b["forecast"])


# ---------------------------------------------------------------- many series


def long_format():
    a = monthly(60, start="2000-01-01", seed=1, level=10.0)
    b = monthly(48, start="2001-01-01", seed=2, level=1000.0)
    return pd.concat({"a": a, "b": b}, names=["id", "ds"])


def test_many_series_forecast_each(monkeypatch):
    """A long Series fits one model and returns horizon rows per series after its own end."""
    y = long_format()
    f = RNNForecaster(lookback=12, horizon=6, **FAST).fit(y)
    out = f.predict()
    assert out.index.names == ["id", "ds"]
    assert out.loc["a"].index[0] == pd.Timestamp("2005-01-01")
    assert out.loc["b"].index[0] == pd.Timestamp("2005-01-01")
    assert len(out) == 12
    # Each series keeps its own scale.
    assert out.loc["a", "forecast"].abs().max() < 200
    assert out.loc["b", "forecast"].min() > 500


def test_many_series_windows_never_cross_series(monkeypatch):
    """Training windows come from one series each: no window mixes the two levels."""
    seen = []
    original = forecast_jobs.fit_steps

    def spy(models, samples, **kwargs):
        def recorder(sample):
            def recorded(step):
                batch = sample(step)
                seen.append([t.numpy().copy() for t in batch])
                return batch

            return recorded

        return original(models, [recorder(s) for s in samples], **kwargs)

    monkeypatch.setattr(forecast_jobs, "fit_steps", spy)
    y = long_format()
    params = {**FAST, "normalize": "none", "scaler": "none", "interval": None}
    RNNForecaster(lookback=12, horizon=6, **params).fit(y)
    assert seen
    for inputs, targets, weights in seen:
        observed = inputs[:, :, 1] > 0
        for row in range(len(inputs)):
            values = np.concatenate([inputs[row, observed[row], 0], targets[row, weights[row] > 0]])
            assert (values < 500).all() or (values > 500).all()
    levels = np.concatenate([inputs[:, -1, 0] for inputs, _, _ in seen])
    assert (levels < 500).any() and (levels > 500).any()  # both series are drawn


def test_short_series_are_padded_not_refused():
    """A series shorter than lookback + horizon still trains (left-padded) and is forecast."""
    f = RNNForecaster(lookback=24, horizon=12, **FAST).fit(monthly(30))
    assert f.lookback_ == 24 and np.isfinite(f.predict()["forecast"]).all()
    y = long_format()
    tiny = y.loc[["b"]].iloc[:5]
    many = pd.concat([y.loc[["a"]], tiny])
    out = RNNForecaster(lookback=12, horizon=6, **FAST).fit(many).predict()
    assert len(out.loc["b"]) == 6 and np.isfinite(out.to_numpy()).all()


def test_a_series_of_one_observation_is_refused_by_id():
    """Only a series too short to say anything is an error, and the message names it."""
    y = long_format()
    one = pd.concat([y.loc[["a"]], y.loc[["b"]].iloc[:1]])
    with pytest.raises(DataError, match=r"Series 'b' has 1 observation"):
        RNNForecaster(horizon=6, **FAST).fit(one)


def test_network_parameters_are_checked_when_fit_starts(air):
    """A misspelt cell fails at once, naming the forecaster and the parameter."""
    with pytest.raises(ParameterError, match=r"'cell' parameter of RNNForecaster"):
        RNNForecaster(cell="lsmt", **FAST).fit(air)


def test_many_series_with_newer_history_of_one_series():
    """predict(y=...) may forecast a subset of the known series."""
    y = long_format()
    f = RNNForecaster(lookback=12, horizon=6, **FAST).fit(y)
    only_b = y.loc[["b"]]
    out = f.predict(y=only_b)
    assert list(out.index.get_level_values(0).unique()) == ["b"]


# ---------------------------------------------------------------- persistence hooks


@pytest.mark.parametrize("kind", ["single", "exog", "many"])
def test_state_round_trip_gives_identical_predictions(kind, air):
    """_to_state -> JSON -> _from_state rebuilds a forecaster with bit-identical output."""
    X_future = None
    if kind == "many":
        y, X = long_format(), None
    else:
        y, X = air, None
    if kind == "exog":
        X = pd.DataFrame({"month": air.index.month.astype(float)}, index=air.index)
        future = pd.date_range("1961-01-01", periods=12, freq="MS")
        X_future = pd.DataFrame({"month": future.month.astype(float)}, index=future)
    f = RNNForecaster(lookback=12, **{**FAST, "n_models": 2}).fit(y, X)
    meta, arrays, regressors = f._to_state()
    meta = json.loads(json.dumps(meta))
    arrays = {k: np.array(v) for k, v in arrays.items()}
    g = RNNForecaster._from_state(f.get_params(), meta, arrays, regressors)
    pd.testing.assert_frame_equal(f.predict(X_future=X_future), g.predict(X_future=X_future))
    assert all(name.endswith("_") for name in vars(g) if name not in g.get_params())


# ---------------------------------------------------------------- validation


def test_errors_are_tsrnn_and_value_errors():
    """DataError is catchable both ways."""
    with pytest.raises(TsrnnError):
        check_series(monthly().iloc[::-1])
    with pytest.raises(ValueError):
        check_series(monthly().iloc[::-1])


def test_unsorted_index():
    """An unsorted index says so and how to fix it."""
    with pytest.raises(DataError, match=r"not sorted.*sort_index"):
        RNNForecaster(**FAST).fit(monthly().sample(frac=1, random_state=0))


def test_duplicated_timestamps():
    """Duplicates name the first duplicated timestamp."""
    y = monthly()
    y = pd.concat([y.iloc[:10], y.iloc[9:]])
    with pytest.raises(DataError, match="duplicated timestamps, first 2000-10-01"):
        check_series(y)


def test_gap_names_first_missing_timestamp():
    """A missing month is named."""
    y = monthly().drop(pd.Timestamp("2001-03-01"))
    with pytest.raises(DataError, match=r"gap: timestamp 2001-03-01 is missing"):
        check_series(y)


def test_frequency_cannot_be_inferred():
    """Irregular timestamps are reported as such."""
    index = pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-05", "2020-01-11", "2020-02-19"])
    with pytest.raises(DataError, match=r"frequency .* cannot be inferred"):
        check_series(pd.Series(np.arange(5.0), index=index))


def test_nan_in_y_names_timestamp_with_missing_raise():
    """With missing="raise", a NaN is an error located by timestamp."""
    y = monthly()
    y.iloc[7] = np.nan
    with pytest.raises(DataError, match=r"NaN at 2000-08-01.*missing='mask'"):
        RNNForecaster(missing="raise", **FAST).fit(y)


def test_nan_in_X_names_column_and_timestamp():
    """NaN in X names the column and the timestamp."""
    y = monthly()
    X = pd.DataFrame({"temp": np.ones(len(y))}, index=y.index)
    X.iloc[3, 0] = np.nan
    with pytest.raises(DataError, match=r"'temp' at 2000-04-01"):
        check_series(y, X)


def test_non_numeric_values():
    """Text in the values is named."""
    y = monthly().astype(object)
    y.iloc[2] = "n/a"
    with pytest.raises(DataError, match="non-numeric value 'n/a'"):
        check_series(y)


def test_X_not_aligned():
    """X on other timestamps is refused."""
    y = monthly()
    X = pd.DataFrame({"x": np.ones(len(y))}, index=y.index + pd.DateOffset(months=1))
    with pytest.raises(DataError, match="not aligned"):
        check_series(y, X)


def test_multiindex_series_checked_one_by_one():
    """A gap inside one series of a long frame names that series."""
    y = long_format().drop(("b", pd.Timestamp("2002-02-01")))
    with pytest.raises(DataError, match=r"series 'b'.*2002-02-01"):
        check_series(y)


def test_check_series_normal_form():
    """A one-column DataFrame becomes a float Series with its frequency recorded."""
    y = monthly().astype(int).to_frame("value")
    out, X = check_series(y)
    assert isinstance(out, pd.Series) and out.dtype == np.float64
    assert out.index.freqstr == "MS" and out.attrs["freq"] == "MS"
    assert X is None


def test_interleaved_long_format_keeps_X_rows_with_their_series():
    """Rows sorted by time then id are regrouped per series, and X follows its rows."""
    y = long_format()
    interleaved = y.swaplevel().sort_index().swaplevel()
    X = pd.DataFrame({"x": interleaved.to_numpy() * 2}, index=interleaved.index)
    y_out, X_out = check_series(interleaved, X)
    assert list(pd.unique(y_out.index.get_level_values(0))) == ["a", "b"]
    np.testing.assert_array_equal(X_out["x"].to_numpy(), y_out.to_numpy() * 2)


def test_short_series_still_gets_intervals():
    """With the default calibration size, a 40-point monthly series fits and forecasts."""
    f = RNNForecaster(**FAST).fit(monthly(40))
    out = f.predict()
    assert len(out) == 12 and np.isfinite(out.to_numpy()).all()


def test_many_short_series_get_pooled_intervals():
    """M3-like: 40 yearly series of 8 to 20 points, the default interval calibrates on all."""
    rng = np.random.default_rng(0)
    parts = []
    for k in range(40):
        n = int(rng.integers(8, 21))
        values = 100 * np.exp(np.cumsum(rng.normal(0.03, 0.05, n)))
        index = pd.MultiIndex.from_arrays(
            [[f"s{k}"] * n, pd.date_range("1990-01-01", periods=n, freq="YS")], names=["id", "ds"]
        )
        parts.append(pd.Series(values, index=index))
    y = pd.concat(parts)
    f = RNNForecaster(horizon=6, **FAST).fit(y)
    lengths = y.groupby(level=0).size()
    # About 200 windows in all wants 5 per series, capped at a fifth of the longest (20): 4.
    assert f.n_calibration_ == int(np.minimum(lengths - 6 - 1, 4).clip(lower=0).sum())
    out = f.predict()
    assert len(out) == 40 * 6
    assert (out["lower"] < out["forecast"]).all() and (out["forecast"] < out["upper"]).all()
