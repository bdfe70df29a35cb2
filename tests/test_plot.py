"""--plot, in this process: the series picked, the frame each drawing receives, the PNG.

The CLI draws in three steps (``tsrnn_cli._plot``: pick, gather the frame, draw it); each is
checked here on a small fit, the series drawn against the calibration errors computed in the
test. The command itself is run in tests/test_cli.py (and on a dataset in
tests/test_dataset.py and tests/test_dataset_processes.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread
from test_cli import _Drift, _stores
from tsrnn_cli._plot import (
    FIRST,
    HARDEST,
    backtest_frame,
    draw_backtest,
    draw_forecasts,
    pick,
    plot_forecast,
    plot_frame,
    window_errors,
)

from tsrnn import RNNForecaster, backtest

H = 4
N_SERIES = 9
TAIL = 48


@pytest.fixture(scope="module")
def y() -> pd.Series:
    """Nine monthly series of 40 points each, noisier as k grows; s5 jumps by 60 every other
    month over its last 11 (the values its calibration windows forecast, not those its
    scale is read from)."""
    rng = np.random.default_rng(3)
    stamps = pd.date_range("2019-01-01", periods=40, freq="MS")
    parts = []
    for k in range(N_SERIES):
        values = 20 + k + 4 * np.sin(np.arange(40) * np.pi / 6) + rng.normal(0, 0.2 + 0.4 * k, 40)
        if k == 5:
            values[-11::2] += 60.0
        index = pd.MultiIndex.from_product([[f"s{k}"], stamps], names=["store", "month"])
        parts.append(pd.Series(values, index=index, name="units"))
    return pd.concat(parts)


@pytest.fixture(scope="module")
def model(y) -> RNNForecaster:
    params = {"steps": 20, "hidden_size": 4, "n_models": 1, "lookback": 6, "random_state": 0}
    return RNNForecaster(horizon=H, device="cpu", **params).fit(y)


def test_the_calibration_errors_per_series_average_to_the_calibration_error(model, y):
    """One error per series, largest first, the series made hard the hardest by far (the
    errors are those of the right series); every series holds as many windows (same
    length), so their mean is the mean over every window that chose the combination
    (``calibration_errors_``, reduced on its own by the calibration)."""
    errors = model.calibration_series_errors_
    assert sorted(errors.index) == sorted(y.index.get_level_values(0).unique())
    assert errors.index.name == "store"
    assert (np.diff(errors.to_numpy()) <= 0).all() and (errors > 0).all()
    assert errors.index[0] == "s5" and errors.iloc[0] > 1.5 * errors.iloc[1]
    chosen = "theta" if model.combine_ == "theta" else "none"
    assert errors.mean() == pytest.approx(model.calibration_errors_[chosen], rel=1e-9)


def test_the_frame_drawn_holds_the_first_and_the_hardest_series(model, y, tmp_path):
    """Without --plot-ids: the first 3 series, then the 3 of largest calibration error among
    the others; each block is the history's last values then ``horizon`` forecast rows."""
    forecast = model.predict(level=[80])
    ids = list(forecast.index.get_level_values(0).unique())
    errors = model.calibration_series_errors_
    others = {key: errors[key] for key in ids[FIRST:]}  # the errors, read in the test
    hardest = sorted(others, key=others.get, reverse=True)[:HARDEST]
    picked = pick(ids[: FIRST + HARDEST], errors, n_series=N_SERIES)
    assert picked.ids == ids[:FIRST] + hardest and picked.hardest == hardest
    assert hardest[0] == "s5"
    assert picked.notes[hardest[0]] == (
        f"hardest: scaled error on the calibration windows {others[hardest[0]]:.2f}"
    )
    assert picked.caption == f"first 3 and hardest 3 of {N_SERIES} series"
    frame = plot_frame(y, forecast, picked.ids, tail=TAIL)
    assert frame.index.get_level_values(0).unique().tolist() == picked.ids
    assert frame.columns.tolist() == ["y", "forecast", "lower", "upper", "lo-80", "hi-80"]
    future = frame[frame["forecast"].notna()]
    assert future.groupby(level=0).size().to_dict() == dict.fromkeys(picked.ids, H)
    assert future["y"].isna().all()
    for key in picked.ids:
        past = frame.xs(key, level=0)["y"].dropna()
        np.testing.assert_array_equal(past.to_numpy(), y.xs(key).to_numpy()[-TAIL:])
        pd.testing.assert_frame_equal(
            frame.xs(key, level=0).loc[forecast.xs(key).index, forecast.columns],
            forecast.xs(key),
            check_names=False,
        )
    fig = draw_forecasts(frame, tmp_path / "fc.png", target="units", interval=0.9,
                         notes=picked.notes, caption=picked.caption)  # fmt: skip
    assert imread(tmp_path / "fc.png").shape == (1620, 900, 4)  # 6 panels of 100 dpi
    axes = fig.get_axes()
    assert axes[0].get_title() == f"s0 — units ({picked.notes['s0']})"
    labels = axes[0].get_legend_handles_labels()[1]
    assert labels == ["history", "forecast", "90 % interval", "80 % interval"]


def test_plot_ids_are_drawn_alone_in_their_order(model, y, tmp_path):
    forecast = model.predict()
    picked = plot_forecast(y, forecast, tmp_path / "two.png", errors=None, chosen=["s7", "s2"],
                           target="units", interval=0.9, horizon=H)  # fmt: skip
    assert picked.ids == ["s7", "s2"] and picked.hardest == []
    assert picked.describe() == "plot of s7, s2"
    assert imread(tmp_path / "two.png").shape == (580, 900, 4)


def test_few_series_are_all_drawn_and_one_series_is_titled_by_its_name(tmp_path):
    picked = pick(["a", "b", "c"], pd.Series({"c": 2.0, "a": 1.0}), n_series=3)
    assert picked.ids == ["a", "b", "c"] and picked.caption == ""
    assert picked.notes == {"a": "scaled error on the calibration windows 1.00", "b": "",
                            "c": "scaled error on the calibration windows 2.00"}  # fmt: skip
    stamps = pd.date_range("2020-01-01", periods=30, freq="D", name="day")
    history = pd.Series(np.arange(30.0), index=stamps, name="visits")
    future = pd.date_range("2020-01-31", periods=3, freq="D", name="day")
    forecast = pd.DataFrame({"forecast": [30.0, 31, 32], "lower": np.nan, "upper": np.nan},
                            index=future)  # fmt: skip
    picked = plot_forecast(history, forecast, tmp_path / "one.png", target="visits",
                           interval=None, horizon=3)  # fmt: skip
    assert picked.ids == ["visits"]
    frame = plot_frame(history, forecast, ["visits"], tail=10)
    assert len(frame) == 13 and frame["forecast"].notna().sum() == 3
    assert imread(tmp_path / "one.png").shape == (320, 900, 4)


def test_the_backtest_frame_holds_each_window_and_the_actual_values(tmp_path):
    """The hardest by sMAPE over the windows, computed here from the table; per series drawn
    every origin's ``horizon`` rows, and the actual values before and under them."""
    frame = _stores(8)
    frame["units"] += [(i * 7) % 5 * 0.3 + (i % 36 > 30) * (i // 36) for i in range(len(frame))]
    y = frame.set_index(["store", "month"])["units"]
    windows = {"horizon": 3, "n_origins": 2, "step": 2}
    metrics, table = backtest(_Drift(), y, **windows, return_table=True)
    rows = {key: part for key, part in table.groupby("store")}
    smape = {
        key: float(np.mean(200 * (part["y"] - part["forecast"]).abs()
                           / (part["y"].abs() + part["forecast"].abs())))
        for key, part in rows.items()
    }  # fmt: skip
    ids = [f"s{k}" for k in range(8)]
    expected = sorted(ids[FIRST:], key=smape.get, reverse=True)[:HARDEST]
    errors = window_errors(table)
    assert errors.to_dict() == pytest.approx(smape)
    picked = pick(ids[:6], errors, n_series=8, measure="sMAPE on the backtest windows")
    assert picked.hardest == expected
    drawn = backtest_frame(table, y, picked.ids, tail=6)
    assert drawn.index.get_level_values(0).unique().tolist() == picked.ids
    forecasts = drawn[drawn["cutoff"].notna()]
    assert forecasts.groupby(level=0).size().to_dict() == dict.fromkeys(picked.ids, 2 * 3)
    actual = drawn[drawn["cutoff"].isna()]
    for key in picked.ids:
        shown = actual.xs(key, level=0)["y"]
        series = y.xs(key)
        start = series.index.get_loc(rows[key]["month"].min()) - 6  # tail=6 before the first
        np.testing.assert_array_equal(shown.to_numpy(), series.to_numpy()[start:])
    fig = draw_backtest(drawn, metrics, tmp_path / "bt.png", target="units",
                        notes=picked.notes, caption=picked.caption)  # fmt: skip
    assert imread(tmp_path / "bt.png").shape == (1820, 900, 4)  # 6 panels and the metric's
    bars = fig.get_axes()[-1].patches
    np.testing.assert_allclose([b.get_height() for b in bars], metrics["smape"].iloc[:2])
