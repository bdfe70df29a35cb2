"""Tests of the forecaster's window encoding: scaling, seasonal phases, padded windows."""

import numpy as np
import pytest
import torch

from tsrnn._forecast.scaling import fit_scaling, is_seasonal, seasonal_indices
from tsrnn._forecast.windows import Panel, encode


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


def test_window_normalised_loss_is_the_loss_on_encoded_values():
    """normalize='window' divides inputs and targets by each window's scale; the weights
    carry that scale back, so the weighted MAE of normalised forecasts is the MAE of the
    encoded ones (over the batch's mean scale): smooth series are not up-weighted."""
    rng = np.random.default_rng(0)
    smooth, rough = np.cumsum(rng.normal(0, 0.01, 40)), np.cumsum(rng.normal(0, 0.5, 40))
    panel = Panel([smooth, rough])
    series, origins = torch.tensor([0, 1, 0, 1]), torch.tensor([20, 20, 39, 10])
    inputs, targets, weights = panel.windows(series, origins, 8, 3, "window")
    past, observed, _, _ = panel.past(series, origins, 8, 3)
    _, level, scale = encode(past, observed, "window")
    assert scale[1] > 10 * scale[0]  # the two series' windows differ in scale
    pred = torch.from_numpy(rng.normal(size=(4, 3)).astype(np.float32))
    weighted = (torch.abs(pred - targets) * weights).sum() / weights.sum()
    actual, mask = panel.ahead(series, origins, 3)
    decoded = pred * scale[:, None] + level[:, None]
    plain = (torch.abs(decoded - actual) * mask).sum() / (mask * scale[:, None]).sum()
    assert torch.isclose(weighted, plain, rtol=1e-5)
    assert inputs.shape == (4, 8, 2)
    assert np.allclose(inputs[:, -1, 0], 0) and (inputs[:, :, 0].abs().amax(1) > 1).all()


def test_scale_channel_holds_the_log_of_the_window_scale():
    panel = Panel([np.cumsum(np.full(30, 0.02)), np.cumsum(np.full(30, 0.5))])
    inputs, _, _ = panel.windows(
        torch.tensor([0, 1]), torch.tensor([20, 20]), 6, 2, "window", scale_channel=True
    )
    assert inputs.shape == (2, 6, 3)
    np.testing.assert_allclose(inputs[:, :, 2], np.log([[0.02] * 6, [0.5] * 6]), rtol=1e-4)
    np.testing.assert_allclose(inputs[0, :, 0], inputs[1, :, 0], atol=1e-4)  # scale-free


def test_scale_channel_continues_over_the_exogenous_future_steps():
    """With exogenous columns the window runs ``out`` steps past the origin; the log-scale
    channel holds its value there too, and the future flag and exog follow it."""
    past = torch.tensor([[1.0, 1.2, 1.4, 1.6]])
    observed = torch.ones(1, 4)
    future_exog, past_exog = torch.full((1, 2, 1), 7.0), torch.full((1, 4, 1), 5.0)
    inputs, _, _ = encode(past, observed, "window", future_exog, past_exog, 1, True)
    assert inputs.shape == (1, 6, 5)  # value, observed, log scale, future flag, one column
    np.testing.assert_allclose(inputs[0, :, 2], np.log(0.2), rtol=1e-4)
    assert inputs[0, :, 3].tolist() == [0, 0, 0, 0, 1, 1]
    assert inputs[0, :, 4].tolist() == [5, 5, 5, 5, 7, 7]
    assert inputs[0, 4:, :2].abs().sum() == 0  # no value, not observed, ahead


@pytest.mark.parametrize("m", [4, 7, 12, 52])
def test_fit_scaling_finds_the_seasons_one_series_at_a_time_would(m):
    """The blocked (FFT, cumulative sums) test and indices equal is_seasonal and
    seasonal_indices applied to each series on its own."""
    rng = np.random.default_rng(m)
    values = []
    for k in range(400):
        n = int(rng.integers(2, 8 * m))
        t = np.arange(n)
        amplitude = rng.choice([0.0, 0.05, 0.3])
        values.append(np.exp(rng.normal(3, 1) + amplitude * np.sin(2 * np.pi * t / m + k)
                             + rng.normal(0, 0.05, n)))  # fmt: skip
    scaling = fit_scaling(values, "auto", m, True)
    spreads = []
    for k, v in enumerate(values):
        z = np.log(v)
        if is_seasonal(z, m):
            index = seasonal_indices(z, m)
            np.testing.assert_allclose(scaling.season[k], index[(len(v) + np.arange(m)) % m],
                                       atol=1e-12)  # fmt: skip
            z = z - index[np.arange(len(v)) % m]
        else:
            assert not scaling.season[k].any()
        spreads.append(np.mean(np.abs(np.diff(z))) if len(z) > 1 else 0.0)
    floor = max(0.1 * np.median(spreads), 1e-6)
    np.testing.assert_allclose(scaling.spread, np.maximum(spreads, floor), atol=1e-12)
