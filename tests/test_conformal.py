"""Pooled split-conformal quantiles (tsrnn._forecast.conformal)."""

import numpy as np
import pytest

from tsrnn._forecast.conformal import extend_quantiles, pooled_quantiles
from tsrnn.errors import DataError


def test_outliers_at_one_step_do_not_widen_every_later_step():
    """A few huge errors at step 2 of 6 (a shock in the calibration period) raise that step's
    mean score. The intervals must still cover about the nominal share of the calibration
    scores, at the later steps too: a running maximum of per-step widths would carry the
    spike forward and cover far more."""
    rng = np.random.default_rng(0)
    scores = np.abs(rng.normal(size=(400, 6))) * np.linspace(1.0, 1.5, 6)
    scores[:8, 2] = 60.0  # 2% of the windows
    q, _ = pooled_quantiles(scores, 0.9)
    assert np.all(np.diff(q) >= 0)
    later = (scores[:, 3:] <= q[3:]).mean()
    assert 0.85 <= later <= 0.95
    assert 0.88 <= (scores <= q).mean() <= 0.92


def test_quantiles_follow_errors_that_grow_with_the_step():
    scores = np.abs(np.random.default_rng(1).normal(size=(12, 4))) * [1.0, 2.0, 3.0, 4.0]
    q, level = pooled_quantiles(scores, 0.8)
    assert np.all(np.isfinite(q)) and np.all(np.diff(q) > 0)
    assert level == pytest.approx(np.ceil(49 * 0.8) / 48)


def test_no_calibration_window_is_a_clear_error():
    with pytest.raises(DataError, match="No calibration window"):
        pooled_quantiles(np.zeros((0, 3)), 0.9)


def test_extended_quantiles_widen_like_a_random_walk():
    q = extend_quantiles(np.array([1.0, 2.0]), 8)
    assert q[:2].tolist() == [1.0, 2.0] and q[-1] == pytest.approx(2.0 * np.sqrt(8 / 2))
