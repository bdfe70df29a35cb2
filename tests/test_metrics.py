"""Tests of tsrnn.metrics against values computed by hand."""

import numpy as np
import pytest

from tsrnn import metrics
from tsrnn.errors import DataError, ParameterError


def test_mae_hand_computed():
    """|1-2| + |2-2| + |3-5| = 3 over 3 values."""
    assert metrics.mae([1, 2, 3], [2, 2, 5]) == pytest.approx(1.0)


def test_rmse_hand_computed():
    """sqrt((1 + 0 + 4) / 3)."""
    assert metrics.rmse([1, 2, 3], [2, 2, 5]) == pytest.approx(np.sqrt(5 / 3))


def test_smape_hand_computed():
    """200/2 * (|100-110|/210 + |50-40|/90)."""
    expected = 100 * (10 / 210 + 10 / 90)
    assert metrics.smape([100, 50], [110, 40]) == pytest.approx(expected)


def test_smape_both_zero_counts_as_perfect():
    """A 0 forecast of a 0 value adds no error instead of NaN."""
    assert metrics.smape([0.0, 10.0], [0.0, 10.0]) == 0.0


def test_smape_is_symmetric_and_bounded():
    """Swapping truth and forecast gives the same value; a sign flip scores 200."""
    assert metrics.smape([1, 2], [3, 5]) == pytest.approx(metrics.smape([3, 5], [1, 2]))
    assert metrics.smape([1.0], [-1.0]) == pytest.approx(200.0)


def test_mase_hand_computed_non_seasonal():
    """Naive in-sample MAE of [1, 2, 4, 7] is (1 + 2 + 3) / 3 = 2; forecast MAE is 1."""
    assert metrics.mase([8, 9], [9, 8], y_train=[1, 2, 4, 7], m=1) == pytest.approx(0.5)


def test_mase_hand_computed_seasonal():
    """With m=2 the scale is mean(|4-1|, |6-2|, |5-4|) = 8/3."""
    y_train = [1, 2, 4, 6, 5]
    assert metrics.mase([7, 7], [5, 9], y_train=y_train, m=2) == pytest.approx(2 / (8 / 3))


def test_mase_seasonal_naive_forecast_of_repeating_series_is_zero():
    """A series that repeats itself has zero seasonal error, so its scale is zero: refused."""
    with pytest.raises(DataError, match="undefined"):
        metrics.mase([1, 2], [1, 2], y_train=[1, 2, 1, 2], m=2)


def test_metrics_accept_2d_arrays():
    """Several series x horizon at once average over every entry."""
    y_true = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert metrics.mae(y_true, y_true + 1) == pytest.approx(1.0)


def test_metrics_reject_shape_mismatch_and_nan():
    """Mismatched shapes and NaN raise DataError (a ValueError)."""
    with pytest.raises(DataError, match="shape"):
        metrics.mae([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="NaN"):
        metrics.rmse([1, np.nan], [1, 2])


def test_mase_rejects_bad_period_and_short_train():
    """m must be a positive int and y_train longer than m."""
    with pytest.raises(ParameterError, match="m must be"):
        metrics.mase([1], [1], y_train=[1, 2, 3], m=0)
    with pytest.raises(DataError, match="at least 13"):
        metrics.mase([1], [1], y_train=np.arange(12.0), m=12)
