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


def test_coverage_counts_the_bounds_as_inside():
    """A value equal to a bound is inside; hand count 3 of 5."""
    y = [1.0, 2.0, 3.0, 4.0, 5.0]
    lower = [1.0, 2.5, 0.0, 0.0, 6.0]
    upper = [2.0, 3.0, 3.0, 3.0, 7.0]
    assert metrics.coverage(y, lower, upper) == pytest.approx(2 / 5)
    assert metrics.coverage([1.0, 2.0], [1.0, 2.0], [1.0, 2.0]) == 1.0


def test_interval_score_hand_computed():
    """Width plus 2 / alpha times each miss (alpha = 0.2 at 80 %)."""
    y = np.array([5.0, 0.0, 12.0])
    lower = np.array([4.0, 1.0, 8.0])
    upper = np.array([6.0, 3.0, 10.0])
    # widths 2, 2, 2; misses 0, 1 below, 2 above; 2 / 0.2 = 10
    expected = (2 + (2 + 10 * 1) + (2 + 10 * 2)) / 3
    assert metrics.interval_score(y, lower, upper, level=80) == pytest.approx(expected)
    assert metrics.interval_score(y, y, y, level=80) == 0.0


def test_interval_score_is_lowest_at_the_true_quantiles():
    """A proper score: on normal noise the true 95 % bounds beat narrower and wider ones."""
    y = np.random.default_rng(0).normal(size=200_000)
    ones = np.ones_like(y)

    def score(z):
        return metrics.interval_score(y, -z * ones, z * ones, level=95)

    assert score(1.96) < score(1.6) and score(1.96) < score(2.4)


def test_msis_is_the_interval_score_over_the_seasonal_naive_scale():
    """M4's MSIS: scale = mean |x_t - x_{t-m}| of the training series."""
    train = np.array([1.0, 3.0, 2.0, 4.0, 3.0, 7.0])  # lag 2: |1|, |1|, |1|, |3| -> 1.5
    y, lower, upper = [5.0, 9.0], [4.0, 4.0], [6.0, 6.0]
    # widths 2 and 2; the second point misses by 3 above; at 95 %, 2 / 0.05 = 40
    expected = (2 + (2 + 40 * 3)) / 2 / 1.5
    assert metrics.msis(y, lower, upper, train, m=2) == pytest.approx(expected)


def test_quantile_loss_hand_computed_and_median_is_half_the_mae():
    y, f = np.array([1.0, 4.0, 2.0]), np.array([2.0, 2.0, 2.0])
    # errors -1, 2, 0: q=0.25 -> 0.75 * 1, 0.25 * 2, 0
    assert metrics.quantile_loss(y, f, 0.25) == pytest.approx((0.75 + 0.5) / 3)
    assert 2 * metrics.quantile_loss(y, f, 0.5) == pytest.approx(metrics.mae(y, f))


def test_scaled_quantile_loss_of_the_median_alone_is_the_mase():
    train = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0])
    y, f = np.array([2.0, 6.0]), np.array([3.0, 5.0])
    sql = metrics.scaled_quantile_loss(y, f[:, None], [0.5], train, m=1)
    assert sql == pytest.approx(metrics.mase(y, f, train, m=1))


def test_scaled_quantile_loss_hand_computed():
    train = np.array([0.0, 2.0])  # scale 2
    y = np.array([10.0, 0.0])
    yq = np.array([[8.0, 12.0], [1.0, 3.0]])  # q=0.1 and q=0.9 forecasts
    # q=0.1: errors 2, -1 -> 0.2, 0.9 -> mean 0.55; q=0.9: errors -2, -3 -> 0.2, 0.3 -> 0.25
    expected = 2 * (0.55 + 0.25) / 2 / 2
    assert metrics.scaled_quantile_loss(y, yq, [0.1, 0.9], train) == pytest.approx(expected)


def test_probabilistic_metrics_reject_bad_input():
    with pytest.raises(ParameterError, match="level"):
        metrics.interval_score([1.0], [0.0], [2.0], level=100)
    with pytest.raises(ParameterError, match="probability"):
        metrics.quantile_loss([1.0], [1.0], q=1.5)
    with pytest.raises(DataError, match="shape"):
        metrics.scaled_quantile_loss([1.0, 2.0], [[1.0], [2.0]], [0.1, 0.9], [0.0, 1.0])
    with pytest.raises(DataError, match="shape"):
        metrics.coverage([1.0, 2.0], [0.0], [3.0, 3.0])
    with pytest.raises(DataError, match="MSIS"):
        metrics.msis([1.0], [0.0], [2.0], y_train=[1.0, 1.0, 1.0])
