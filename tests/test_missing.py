"""Missing values inside a series (#24): masked out of the inputs and the loss, not refused."""

import numpy as np
import pandas as pd
import pytest
import torch

from tsrnn import RNNForecaster
from tsrnn._forecast.encoding import Panel
from tsrnn.errors import DataError
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
