"""Tests of the Theta method the forecaster can combine with its networks."""

import numpy as np
import pandas as pd
import pytest

import tsrnn
from tsrnn import RNNForecaster
from tsrnn._forecast.theta import fit_theta, theta_at

FAST = {"hidden_size": 4, "steps": 20, "n_models": 1, "device": "cpu", "random_state": 0}


def test_theta_continues_half_the_slope_from_the_level():
    """On a straight line the level follows the data (weight 1) and the drift is b / 2 per step."""
    theta = fit_theta([2.0 * np.arange(12.0)])
    assert theta.alpha[0] == pytest.approx(1.0)
    np.testing.assert_allclose(theta.forecast(3)[0], 22 + np.array([1.0, 2.0, 3.0]))


def test_theta_smooths_noise_with_a_small_weight():
    """White noise around a constant gets a small weight and a near-flat forecast."""
    rng = np.random.default_rng(0)
    theta = fit_theta([10 + rng.normal(size=200)])
    assert theta.alpha[0] <= 0.2
    assert np.ptp(theta.forecast(5)) < 0.1


def test_theta_at_the_end_is_the_fitted_state():
    """Smoothing on to later origins gives, at the fitted length, the fitted level."""
    rng = np.random.default_rng(1)
    series = [rng.normal(size=n).cumsum() for n in (15, 40)]
    theta = fit_theta([s[:10] for s in series])
    again = theta_at(series, theta, [np.array([10, 15]), np.array([10])])
    np.testing.assert_allclose(again.level[[0, 2]], theta.level)
    assert again.length.tolist() == [10, 15, 10]


def test_forecaster_combined_with_theta_round_trips(tmp_path):
    """combine='theta' predicts finite values, from newer history too, and saves and loads."""
    y = tsrnn.datasets.load("airpassengers")
    f = RNNForecaster(horizon=6, combine="theta", **FAST).fit(y)
    out = f.predict()
    assert np.isfinite(out.to_numpy()).all()
    pd.testing.assert_frame_equal(f.predict(y=y), out)
    path = tsrnn.save(f, tmp_path / "m.tsrnn")
    pd.testing.assert_frame_equal(tsrnn.load(path).predict(), out)
    alone = RNNForecaster(horizon=6, combine="none", **FAST).fit(y).predict()
    assert not np.allclose(alone["forecast"], out["forecast"])
