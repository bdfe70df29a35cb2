"""Tests of tsrnn.backtest (rolling origin, expanding window)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator

from tsrnn import RNNForecaster, backtest, cross_validation, metrics
from tsrnn.errors import DataError, ParameterError
from tsrnn.evaluation import summarize


class LastValue(BaseEstimator):
    """Naive forecaster that records what it was fitted on (for checking the origins)."""

    fitted_on: list = []  # noqa: RUF012 - shared log across clones, on purpose

    def __init__(self, horizon=None):
        self.horizon = horizon

    def fit(self, y, X=None):
        LastValue.fitted_on.append(y)
        self.y_ = y
        return self

    def predict(self, horizon=None, X_future=None):
        index = pd.date_range(self.y_.index[-1], periods=horizon + 1, freq="MS")[1:]
        value = self.y_.iloc[-1]
        return pd.DataFrame(
            {"forecast": value, "lower": value - 5.0, "upper": value + 5.0}, index=index
        )


def series(n=40):
    values = np.arange(n, dtype=float) ** 1.5
    return pd.Series(values, index=pd.date_range("2000-01-01", periods=n, freq="MS"))


def test_origins_expand_and_metrics_match_hand_computation():
    """Each origin trains on everything before it; scores equal the metric functions."""
    LastValue.fitted_on = []
    y = series()
    table = backtest(LastValue(), y, horizon=4, n_origins=3, step=2, season_length=1)
    assert list(table.index) == [1, 2, 3, "mean"]
    assert [len(t) for t in LastValue.fitted_on] == [32, 34, 36]
    assert list(table["train_size"].iloc[:3]) == [32, 34, 36]
    assert table.loc[3, "cutoff"] == pd.Timestamp("2002-12-01")
    train, test = y.iloc[:34], y.iloc[34:38]
    forecast = np.full(4, train.iloc[-1])
    assert table.loc[2, "mae"] == pytest.approx(metrics.mae(test, forecast))
    assert table.loc[2, "rmse"] == pytest.approx(metrics.rmse(test, forecast))
    assert table.loc[2, "smape"] == pytest.approx(metrics.smape(test, forecast))
    assert table.loc[2, "mase"] == pytest.approx(metrics.mase(test, forecast, train, m=1))
    inside = np.mean(np.abs(test.to_numpy() - forecast) <= 5.0)
    assert table.loc[2, "coverage"] == pytest.approx(inside)
    assert table.loc["mean", "mase"] == pytest.approx(table["mase"].iloc[:3].mean())


def test_each_origin_gets_a_fresh_clone_with_the_horizon():
    """A forecaster whose horizon is None gets the backtest horizon; the original is untouched."""
    original = LastValue()
    backtest(original, series(), horizon=4, n_origins=2)
    assert original.horizon is None and not hasattr(original, "y_")


def test_default_step_is_horizon():
    """Without step, the test windows do not overlap."""
    LastValue.fitted_on = []
    backtest(LastValue(), series(), horizon=5, n_origins=3)
    assert [len(t) for t in LastValue.fitted_on] == [25, 30, 35]


def test_backtest_rnn_forecaster_runs():
    """RNNForecaster plugs in; the metrics are finite and coverage is between 0 and 1."""
    y = series(60) + 10 * np.sin(np.arange(60))
    model = RNNForecaster(lookback=12, hidden_size=4, epochs=2, device="cpu", random_state=0)
    table = backtest(model, y, horizon=6, n_origins=2)
    assert np.isfinite(table[["mae", "rmse", "smape", "mase"]].to_numpy(dtype=float)).all()
    assert ((table["coverage"] >= 0) & (table["coverage"] <= 1)).all()


def test_too_many_origins_is_data_error():
    """Origins that leave too little training data are refused with the numbers."""
    with pytest.raises(DataError, match="origins"):
        backtest(LastValue(), series(20), horizon=6, n_origins=3)


def test_bad_horizon_is_parameter_error():
    """horizon must be a positive integer."""
    with pytest.raises(ParameterError, match="horizon"):
        backtest(LastValue(), series(), horizon=0)


class LastValuePerSeries(BaseEstimator):
    """Naive forecaster for many series: each series' last value, series in reverse order."""

    def __init__(self, horizon=None):
        self.horizon = horizon

    def fit(self, y, X=None):
        self.y_ = y
        return self

    def predict(self, horizon=None, X_future=None):
        parts = []
        for key in reversed(pd.unique(self.y_.index.get_level_values(0))):
            past = self.y_.xs(key, level=0)
            index = pd.date_range(past.index[-1], periods=horizon + 1, freq="MS")[1:]
            parts.append(pd.DataFrame({"forecast": past.iloc[-1]}, index=index).assign(id=key))
        return pd.concat(parts).set_index("id", append=True).swaplevel()


def test_many_series_scores_average_the_series():
    """Interleaved long input: each series is cut at its own end; metrics average over series,
    whatever order the forecaster returns the series in."""
    a, b = series(30), series(40) * 2 + 1
    y = pd.concat({"a": a, "b": b}).sort_index(level=1)  # rows interleaved by time
    table = backtest(LastValuePerSeries(), y, horizon=3, n_origins=2, season_length=1)
    maes, mases = [], []
    for s in (a, b):
        train, test = s.iloc[: len(s) - 3], s.iloc[len(s) - 3 :]
        forecast = np.full(3, train.iloc[-1])
        maes.append(metrics.mae(test, forecast))
        mases.append(metrics.mase(test, forecast, train, m=1))
    assert table.loc[2, "mae"] == pytest.approx(np.mean(maes))
    assert table.loc[2, "mase"] == pytest.approx(np.mean(mases))
    assert table.loc[2, "train_size"] == 27 + 37
    assert np.isnan(table.loc[2, "coverage"])


def test_many_series_missing_forecasts_name_the_series():
    """A forecaster that drops a series is told which one."""

    class DropsB(LastValuePerSeries):
        def predict(self, horizon=None, X_future=None):
            out = super().predict(horizon)
            return out[out.index.get_level_values(0) != "b"]

    y = pd.concat({"a": series(30), "b": series(30)})
    with pytest.raises(DataError, match="returned 0 forecasts for 3 test points of series 'b'"):
        backtest(DropsB(), y, horizon=3, n_origins=1)


class LastValueOfHistory(LastValuePerSeries):
    """Forecasts each series' last value, from the fitted series or from the history given to
    predict (for cross_validation without refit); counts its fits; gives lo-50/hi-50 bounds."""

    fits = 0

    def fit(self, y, X=None):
        LastValueOfHistory.fits += 1
        return super().fit(y)

    def predict(self, horizon=None, X_future=None, y=None, X=None, level=None, quantiles=None):
        fitted = self.y_
        if y is not None:
            self.y_ = y
        out = super().predict(horizon)
        self.y_ = fitted
        for value in level or []:
            out[f"lo-{value:g}"] = out["forecast"] - value / 10
            out[f"hi-{value:g}"] = out["forecast"] + value / 10
        return out


def test_cross_validation_rows_and_cutoffs_against_a_hand_computed_case():
    """Series a (10 steps) and b (12 steps), horizon 2, 2 windows 3 apart: every series is cut
    at its own end, each row carries its cutoff, actual value and forecast, one fit in all."""
    a = pd.Series(np.arange(10.0), index=pd.date_range("2000-01-01", periods=10, freq="MS"))
    b = pd.Series(100 + np.arange(12.0), index=pd.date_range("2001-01-01", periods=12, freq="MS"))
    y = pd.concat({"a": a, "b": b}, names=["shop", "month"])
    LastValueOfHistory.fits = 0
    table = cross_validation(LastValueOfHistory(), y, horizon=2, n_windows=2, step_size=3,
                             level=[50])  # fmt: skip
    assert LastValueOfHistory.fits == 1
    assert list(table.columns) == ["shop", "month", "cutoff", "y", "forecast", "lo-50", "hi-50"]
    # a: windows at positions 5-6 (cutoff 4) and 8-9 (cutoff 7); b: 7-8 (6) and 10-11 (9)
    expected = []
    for key, s, cut in (("a", a, [4, 7]), ("b", b, [6, 9])):
        for c in cut:
            for j in (1, 2):
                expected.append((key, s.index[c + j], s.index[c], s.iloc[c + j], s.iloc[c]))
    got = list(table[["shop", "month", "cutoff", "y", "forecast"]].itertuples(index=False))
    assert [tuple(r) for r in got] == expected
    np.testing.assert_allclose(table["hi-50"] - table["lo-50"], 10.0)
    assert table.attrs["fit_seconds"][1] == 0.0  # the second window was not fitted for


def test_cross_validation_refit_fits_before_each_window():
    LastValueOfHistory.fits = 0
    y = pd.concat({"a": series(30), "b": series(30)})
    table = cross_validation(LastValueOfHistory(), y, horizon=3, n_windows=3, refit=True)
    assert LastValueOfHistory.fits == 3
    assert len(table) == 2 * 3 * 3
    assert all(s > 0 for s in table.attrs["fit_seconds"])


def test_backtest_is_the_summary_of_the_cross_validation_table():
    """summarize(cross_validation(...)) is backtest's table, metric by metric."""
    y = pd.concat({"a": series(30), "b": series(40) * 2 + 1})
    cv = cross_validation(LastValuePerSeries(), y, horizon=3, n_windows=2, refit=True)
    direct = backtest(LastValuePerSeries(), y, horizon=3, n_origins=2, season_length=1)
    summary = summarize(cv, y, season_length=1)
    columns = ["train_size", "mae", "rmse", "smape", "mase"]
    pd.testing.assert_frame_equal(summary[columns], direct[columns])
    # by hand: window 1 of series b (cut 6 before its end)
    b = series(40) * 2 + 1
    train, test = b.iloc[:34], b.iloc[34:37]
    forecast = np.full(3, train.iloc[-1])
    rows = cv[(cv["id"] == "b") & (cv["cutoff"] == b.index[33])]
    np.testing.assert_allclose(rows["forecast"], forecast)
    mae_a = metrics.mae(series(30).iloc[24:27], np.full(3, series(30).iloc[23]))
    assert summary.loc[1, "mae"] == pytest.approx((metrics.mae(test, forecast) + mae_a) / 2)


def test_backtest_reports_msis_and_the_scaled_quantile_loss_of_an_rnn_forecaster():
    y = series(60) + 10 * np.sin(np.arange(60))
    model = RNNForecaster(lookback=12, hidden_size=4, epochs=2, device="cpu", random_state=0)
    table = backtest(model, y, horizon=6, n_origins=2, refit=False)
    assert np.isfinite(table[["msis", "sql"]].to_numpy(dtype=float)).all()
    assert table.loc[2, "fit_seconds"] == 0.0 and table.loc[1, "fit_seconds"] > 0
