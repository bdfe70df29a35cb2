"""Tests of the forecaster's window encoding: scaling, seasonal phases, padded windows."""

import numpy as np
import torch

from tsrnn._encoding import Panel, fit_scaling, is_seasonal


def seasonal_series(n, seed=0, level=100.0):
    rng = np.random.default_rng(seed)
    return level + 10 * np.sin(2 * np.pi * np.arange(n) / 12) + rng.normal(size=n)


def test_longer_history_keeps_the_seasonal_phase():
    """Encoding a series extended by k steps (shift k) matches the fitted encoding where they
    overlap: the season's phase follows the calendar, not the position in the array."""
    full = seasonal_series(72)
    scaling = fit_scaling([full[:60]], "auto", 12, True)
    assert np.abs(scaling.season).sum() > 0
    fitted = scaling.encode([full[:60]], np.array([0]))[0]
    later = scaling.encode([full[5:67]], np.array([0]), np.array([7]))[0]
    np.testing.assert_allclose(later[: 60 - 5], fitted[5:])


def test_log_for_positive_series_standard_otherwise():
    scaling = fit_scaling([seasonal_series(40), seasonal_series(40) - 100], "auto", 12, False)
    assert scaling.log.tolist() == [True, False]
    z = scaling.encode([seasonal_series(40) - 100], np.array([1]))[0]
    assert abs(z.mean()) < 1e-9 and abs(z.std() - 1) < 1e-9


def test_seasonality_test():
    assert is_seasonal(np.log(seasonal_series(48)), 12)
    assert not is_seasonal(np.random.default_rng(0).normal(size=48), 12)
    assert not is_seasonal(np.log(seasonal_series(30)), 12)  # under three seasons


def test_short_series_windows_are_left_padded_with_a_mask():
    """A window longer than its series' history is padded: observed 0, values 0."""
    panel = Panel([np.arange(1.0, 4.0), np.arange(10.0, 20.0)])
    inputs, targets, weights = panel.windows(
        torch.tensor([0, 1]), torch.tensor([2, 8]), lookback=5, out=3, normalize="last"
    )
    assert inputs.shape == (2, 5, 2)
    assert inputs[0, :, 1].tolist() == [0, 0, 0, 1, 1]  # two values seen of series 0
    assert inputs[0, -2:, 0].tolist() == [-1.0, 0.0]  # relative to the last value seen
    assert weights[0].tolist() == [1, 0, 0] and targets[0, 0] == 1.0  # one target left
    assert weights[1].tolist() == [1, 1, 0]  # series 1 ends two steps after its origin
