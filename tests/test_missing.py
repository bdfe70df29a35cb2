"""Missing values inside a series (#24): masked out of the inputs and the loss, not refused;
missing timestamps (gaps) are filled with such values."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from tsrnn import RNNForecaster
from tsrnn._data.checks import check_series
from tsrnn._forecast.windows import Panel
from tsrnn.errors import DataError
from tsrnn.io import read_series
from tsrnn.persist import load, save

FAST = {"hidden_size": 8, "epochs": 3, "n_models": 1, "device": "cpu", "random_state": 0}


def panel(values: np.ndarray) -> pd.Series:
    n, steps = values.shape
    index = pd.MultiIndex.from_product(
        [[f"s{k}" for k in range(n)], pd.date_range("2000-01-01", periods=steps, freq="MS")],
        names=["id", "ds"],
    )
    return pd.Series(values.ravel(), index=index, name="y")


@pytest.fixture(scope="module")
def holed():
    """60 seasonal series with 10 % of their values missing at random (none at the ends)."""
    rng = np.random.default_rng(0)
    t = np.arange(60)
    values = 100 + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, size=(60, 60))
    holes = rng.random(values.shape) < 0.1
    holes[:, -2:] = False
    values[holes] = np.nan
    return panel(values), holes


def test_a_missing_value_is_not_observed_and_weighs_nothing_in_the_loss():
    """The Panel reads a NaN as unobserved (inputs' observed channel 0) and gives its target
    weight 0; its place holds the interpolation, so the window's level stays defined."""
    z = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
    data = Panel([z])
    past, observed, _, _ = data.past(torch.tensor([0]), torch.tensor([4]), 4, 1)
    assert observed.tolist() == [[1.0, 1.0, 0.0, 1.0]]
    assert past[0, 2].item() == pytest.approx(3.0)
    actual, weights = data.ahead(torch.tensor([0]), torch.tensor([1]), 3)
    assert weights.tolist() == [[1.0, 0.0, 1.0]]
    assert torch.isfinite(actual).all()
    assert Panel([z]).take(torch.tensor([0])).seen.tolist() == [1.0, 1.0, 0.0, 1.0, 1.0]


def test_series_with_missing_values_fit_and_forecast_with_calibrated_bounds(holed):
    y, _ = holed
    model = RNNForecaster(horizon=6, lookback=24, **FAST).fit(y)
    out = model.predict(level=[80, 95])
    assert np.isfinite(out.to_numpy()).all() and model.n_calibration_ > 0
    assert (out["lo-95"] <= out["lo-80"]).all() and (out["hi-80"] <= out["hi-95"]).all()
    assert np.isfinite(model.history_y_).all()
    assert (model.history_observed_ == 0).any()  # the holes, masked in the history read
    assert all(np.isfinite(m.history_[-1]["train_loss"]) for m in model.models_)


def test_predict_from_a_newer_history_with_missing_values_and_a_saved_model(holed, tmp_path):
    y, _ = holed
    model = RNNForecaster(horizon=6, lookback=24, **FAST).fit(y)
    save(model, tmp_path / "m.tsrnn")
    again = load(tmp_path / "m.tsrnn")
    pd.testing.assert_frame_equal(again.predict(level=[80]), model.predict(level=[80]))
    newer = y.copy()
    newer.iloc[-5] = np.nan
    assert np.isfinite(again.predict(y=newer).to_numpy()).all()


def test_nothing_observed_in_the_lookback_says_so():
    rng = np.random.default_rng(1)
    values = 50 + rng.normal(size=(5, 48))
    model = RNNForecaster(horizon=3, lookback=8, **FAST).fit(panel(values))
    newer = panel(values)
    newer.loc["s2"] = np.r_[newer.loc["s2"].to_numpy()[:20], np.full(28, np.nan)]
    with pytest.raises(DataError, match=r"series 's2'.*all missing"):
        model.predict(y=newer)


def test_missing_raise_keeps_the_strictness():
    y = panel(np.ones((2, 30)) + np.arange(30))
    y.iloc[5] = np.nan
    with pytest.raises(DataError, match="NaN at"):
        RNNForecaster(missing="raise", **FAST).fit(y)


def test_a_series_with_fewer_than_two_observed_values_is_named():
    values = np.ones((3, 20)) + np.arange(20)
    values[1, 1:] = np.nan
    with pytest.raises(DataError, match="Series 's1' has 1 observation"):
        RNNForecaster(**FAST).fit(panel(values))


# ------------------------------------------------ gaps: missing timestamps (#24, item 4)

SMALL = {"steps": 5, "hidden_size": 4, "n_models": 1, "device": "cpu", "random_state": 0}
MONTHS = pd.date_range("2018-01-01", periods=36, freq="MS")
HOLES = [MONTHS[10], MONTHS[21]]


def monthly_with_gaps() -> pd.Series:
    """36 months of a seasonal series, two months of which have no row at all."""
    y = pd.Series(20 + 5 * np.sin(np.arange(36) / 2), index=MONTHS, name="units")
    return y.drop(HOLES)


def test_a_gap_is_filled_with_missing_values_at_exactly_its_timestamps():
    y = monthly_with_gaps()
    out, _ = check_series(y, missing=True)
    assert out.index.equals(MONTHS) and out.index.freqstr == "MS" and out.attrs["freq"] == "MS"
    assert out.index[out.isna()].tolist() == HOLES
    pd.testing.assert_series_equal(out.dropna(), y, check_freq=False, check_index_type=False)


def test_a_series_with_gaps_fits_and_forecasts():
    model = RNNForecaster(horizon=3, **SMALL).fit(monthly_with_gaps())
    out = model.predict()
    assert len(out) == 3 and out.index[0] == pd.Timestamp("2021-01-01")
    assert np.isfinite(out.to_numpy()).all()
    # The history read for the forecast (the last lookback steps) masks the holes in it.
    seen = model.history_observed_[0]
    holes = [k - (36 - len(seen)) for k in (10, 21) if k >= 36 - len(seen)]
    assert holes and np.flatnonzero(seen == 0).tolist() == holes
    assert np.isfinite(model.predict(y=monthly_with_gaps()).to_numpy()).all()  # newer history


def test_a_gap_in_one_of_many_series_is_filled_in_that_series_only():
    long = pd.concat(
        {key: pd.Series(np.arange(36.0) + 100 * k, index=MONTHS) for k, key in enumerate("abc")}
    )
    y = long.drop([("b", MONTHS[3]), ("b", MONTHS[4])])
    out, _ = check_series(y, missing=True)
    assert out.index.equals(long.index)
    assert out.index[out.isna()].tolist() == [("b", MONTHS[3]), ("b", MONTHS[4])]
    np.testing.assert_array_equal(out.dropna().to_numpy(), y.to_numpy())  # values kept
    forecast = RNNForecaster(horizon=2, **SMALL).fit(y).predict()
    assert len(forecast) == 6 and np.isfinite(forecast.to_numpy()).all()


def test_business_days_with_a_gap_among_daily_series_are_another_frequency():
    """Their weekends are not gaps of a daily series: as without the gap, they are refused."""
    daily = pd.Series(np.arange(30.0), index=pd.date_range("2020-01-01", periods=30, freq="D"))
    weekdays = pd.Series(np.arange(30.0), index=pd.date_range("2020-01-01", periods=30, freq="B"))
    for business in (weekdays, weekdays.drop(pd.Timestamp("2020-01-15"))):
        with pytest.raises(DataError, match=r"different frequencies \('a': D, 'b': B\)"):
            check_series(pd.concat({"a": daily, "b": business}), missing=True)


def test_missing_raise_still_refuses_a_gap_naming_the_missing_timestamp():
    with pytest.raises(DataError, match=r"has a gap: timestamp 2018-11-01 is missing") as info:
        RNNForecaster(horizon=3, missing="raise", **SMALL).fit(monthly_with_gaps())
    assert "missing='mask'" in str(info.value)
    with pytest.raises(DataError, match=r"gap: timestamp 2018-11-01 is missing"):
        check_series(monthly_with_gaps())


def test_X_cannot_be_invented_at_a_gap():
    y = monthly_with_gaps()
    X = pd.DataFrame({"price": np.ones(len(y))}, index=y.index)
    with pytest.raises(DataError, match=r"no row at 2018-11-01.*column 'price'") as info:
        check_series(y, X, missing=True)
    assert "\n" not in str(info.value)


def test_a_csv_with_a_gap_and_exogenous_columns_names_the_missing_row(tmp_path):
    y = monthly_with_gaps()
    frame = pd.DataFrame({"date": y.index.strftime("%Y-%m-%d"), "units": y, "price": 1.0})
    frame.to_csv(tmp_path / "data.csv", index=False)
    with pytest.raises(DataError) as info:
        read_series(tmp_path / "data.csv", target="units", exog=["price"], missing=True)
    message = str(info.value)
    assert message.startswith(f"column 'units' of {tmp_path / 'data.csv'} has no row at 2018-11-01")
    assert "exogenous column 'price' of X" in message and "add a row at 2018-11-01" in message


@pytest.mark.parametrize(
    ("stamps", "match"),
    [
        (  # a mid-month stamp among month starts, next to a gap
            [*MONTHS[:10], pd.Timestamp("2018-11-15"), *MONTHS[11:]],
            r"irregular near 2018-11-15",
        ),
        (  # no run of regular steps to infer a frequency from
            pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-05", "2020-01-11", "2020-02-19"]),
            r"cannot be inferred",
        ),
        (  # monthly at first, then mostly skipping months: too many gaps to fill
            MONTHS[[0, 1, 2, 3, 4, 5, 7, 10, 12, 15, 17, 20, 22, 25, 27, 30, 32, 35]],
            r"only 5 of its 17 steps are one step of 'MS'.*first 2018-07-01",
        ),
        (  # a wrong year would fill the series with a year of missing days
            [*pd.date_range("2020-01-01", periods=10, freq="D"), pd.Timestamp("2021-01-11")],
            r"misses more timestamps at frequency 'D' than it has \(366 missing, first "
            r"2020-01-11, for 11 given\)",
        ),
        ([*MONTHS[:5], MONTHS[4], *MONTHS[7:]], r"duplicated timestamps, first 2018-05-01"),
    ],
    ids=["off-grid", "irregular", "mostly-gaps", "wrong-year", "duplicated"],
)
def test_what_is_not_a_gap_stays_an_error(stamps, match):
    y = pd.Series(np.arange(float(len(stamps))), index=pd.DatetimeIndex(stamps))
    with pytest.raises(DataError, match=match):
        check_series(y, missing=True)


def test_integer_steps_with_a_gap_are_filled_off_step_ones_refused():
    y = pd.Series(np.arange(10.0), index=[0, 2, 4, 6, 10, 12, 14, 16, 18, 20])
    out, _ = check_series(y, missing=True)
    assert out.index.equals(pd.RangeIndex(0, 22, 2)) and out.index[out.isna()].tolist() == [8]
    y.index = [0, 2, 4, 6, 9, 12, 14, 16, 18, 20]
    with pytest.raises(DataError, match=r"9 comes 3 after 6"):
        check_series(y, missing=True)


def _gapped_csv(folder: Path) -> Path:
    y = monthly_with_gaps()
    frame = pd.DataFrame({"date": y.index.strftime("%Y-%m-%d"), "units": y.to_numpy()})
    frame.to_csv(folder / "data.csv", index=False)
    return folder / "data.csv"


def test_a_csv_with_a_missing_month_reads_as_nan_there(tmp_path):
    path = _gapped_csv(tmp_path)
    y, _ = read_series(path, missing=True)
    assert y.index.equals(MONTHS) and y.index[y.isna()].tolist() == HOLES
    with pytest.raises(DataError, match=r"data.csv has a gap: timestamp 2018-11-01 is missing"):
        read_series(path)


def test_a_csv_of_many_series_with_a_gap_reads_as_nan_there(tmp_path):
    frame = pd.DataFrame(
        {"store": np.repeat(["a", "b", "c"], 36), "date": np.tile(MONTHS, 3), "units": 1.0}
    ).drop(index=[36 + 7])
    frame.to_csv(tmp_path / "long.csv", index=False)
    y, _ = read_series(tmp_path / "long.csv", id_col="store", missing=True)
    assert len(y) == 108 and y.index[y.isna()].tolist() == [("b", MONTHS[7])]


TSRNN = shutil.which("tsrnn", path=str(Path(sys.executable).parent)) or shutil.which("tsrnn")
CLI_FAST = ["--horizon", "3", "--steps", "5", "--hidden-size", "4", "--n-models", "1",
            "--random-state", "0", "--n-threads", "1"]  # fmt: skip


@pytest.mark.skipif(TSRNN is None, reason="the tsrnn command is not installed")
def test_the_command_forecasts_a_csv_with_a_gap_unless_told_to_raise(tmp_path):
    _gapped_csv(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "TSRNN_DEBUG"}

    def run(*args):
        command = [TSRNN, "forecast", "data.csv", *CLI_FAST, *args]
        return subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env
        )

    done = run("-o", "fc.csv")
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "fc.csv")
    assert table["date"].tolist() == ["2021-01-01", "2021-02-01", "2021-03-01"]
    assert np.isfinite(table[["forecast", "lower", "upper"]].to_numpy()).all()
    refused = run("-o", "refused.csv", "--missing", "raise")
    lines = refused.stderr.strip().splitlines()
    assert refused.returncode != 0 and len(lines) == 1, refused.stderr
    assert "gap: timestamp 2018-11-01 is missing" in lines[0] and "Traceback" not in lines[0]
    assert not (tmp_path / "refused.csv").exists()


def test_backtest_and_cross_validation_score_the_steps_that_have_an_actual_value():
    """A missing value in the history is masked by the fit; one in a window is left out of
    its metrics (the metrics of the other steps, as if it were not there)."""
    from tsrnn import backtest, cross_validation
    from tsrnn.evaluation import summarize

    t = np.arange(60)
    index = pd.date_range("2019-01-01", periods=60, freq="MS")
    y = pd.Series(50 + 5 * np.sin(2 * np.pi * t / 12) + 0.2 * t, index=index)
    y.iloc[[10, 25, 57]] = np.nan  # in the history of every window, and in the last window
    model = RNNForecaster(horizon=6, steps=20, hidden_size=4, n_models=1, random_state=0)
    table = cross_validation(model, y, horizon=6, n_windows=2, refit=False)
    assert table["y"].isna().sum() == 1 and np.isfinite(table["forecast"]).all()
    scores = summarize(table, y)
    last = table[table["cutoff"] == table["cutoff"].max()].dropna(subset=["y"])
    assert scores.loc[2, "mae"] == pytest.approx(np.mean(np.abs(last["y"] - last["forecast"])))
    assert np.isfinite(scores.loc["mean", ["mae", "smape", "mase", "coverage"]].astype(float)).all()
    assert np.isfinite(backtest(model, y, horizon=6, n_origins=2).loc["mean", "mase"])


def test_a_newer_history_with_a_gap_gets_its_calendar_and_static_columns():
    """predict(y=...) fills the gap before it adds the columns made from the stamps and the
    static rows, as fit does."""
    stamps = pd.date_range("2021-01-04", periods=40, freq="D")
    index = pd.MultiIndex.from_product([["a", "b", "c"], stamps])
    y = pd.Series(np.tile(10 + np.sin(np.arange(40)), 3), index=index)
    static = pd.DataFrame({"kind": ["x", "y", "x"]}, index=["a", "b", "c"])
    model = RNNForecaster(horizon=3, steps=5, hidden_size=4, n_models=1, calendar="auto",
                          random_state=0).fit(y, static=static)  # fmt: skip
    newer = y.drop(index=[("a", stamps[30]), ("new", stamps[0])], errors="ignore")
    newer = pd.concat([newer, y.loc[["c"]].rename(index={"c": "new"}, level=0)
                       .drop(index=[("new", stamps[20])])])  # fmt: skip
    out = model.predict(y=newer, static=pd.DataFrame({"kind": ["y"]}, index=["new"]))
    assert out.index.get_level_values(0).unique().tolist() == ["a", "b", "c", "new"]
    assert np.isfinite(out["forecast"]).all()
