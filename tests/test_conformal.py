"""Pooled split-conformal ratios (tsrnn._forecast.conformal)."""

import numpy as np
import pytest

from tsrnn._forecast.calibration import Scores, pool
from tsrnn._forecast.conformal import (
    counted_ratios,
    counts_below,
    extend_quantiles,
    pooled_ratios,
    sorted_ratios,
    unit_sums,
    unit_weights,
)
from tsrnn.errors import DataError


def _covered(scores: np.ndarray, coverage: float) -> np.ndarray:
    """Whether each score lies inside the central ``coverage`` bounds of its own pool."""
    ratios = pooled_ratios(scores)
    low, high = ratios.quantile([(1 - coverage) / 2, (1 + coverage) / 2])
    return (scores >= low * ratios.scale) & (scores <= high * ratios.scale)


def test_outliers_at_one_step_do_not_widen_every_later_step():
    """A few huge errors at step 2 of 6 (a shock in the calibration period) raise that step's
    mean score. The bounds must still cover about the nominal share of the calibration
    scores, at the later steps too: a running maximum of per-step widths would carry the
    spike forward and cover far more."""
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(400, 6)) * np.linspace(1.0, 1.5, 6)
    scores[:8, 2] = 60.0  # 2% of the windows
    assert np.all(np.diff(pooled_ratios(scores).scale) >= 0)
    inside = _covered(scores, 0.9)
    assert 0.85 <= inside[:, 3:].mean() <= 0.95
    assert 0.88 <= inside.mean() <= 0.92


def test_bounds_follow_errors_that_grow_with_the_step():
    scores = np.random.default_rng(1).normal(size=(12, 4)) * [1.0, 2.0, 3.0, 4.0]
    ratios = pooled_ratios(scores)
    assert ratios.n == 48 and np.all(np.diff(ratios.scale) > 0)
    low, high = ratios.quantile([0.1, 0.9])
    assert low < 0 < high


def test_quantiles_are_conformal_order_statistics_that_never_cross():
    """Below the median rank floor((n + 1) q), above it ceil((n + 1) q), of the sorted
    ratios; any grid of quantiles is non-decreasing."""
    scores = np.arange(1.0, 20.0)[:, None]  # one step: the ratios are the scores over their mean
    ratios = pooled_ratios(scores)
    values = np.sort(scores[:, 0] / ratios.scale[0])
    assert ratios.quantile(0.1) == pytest.approx(values[1])  # floor(20 * 0.1) = rank 2
    assert ratios.quantile(0.9) == pytest.approx(values[17])  # ceil(20 * 0.9) = rank 18
    grid = ratios.quantile(np.linspace(0.01, 0.99, 99))
    assert np.all(np.diff(grid) >= 0)


def test_many_ratios_are_thinned_to_ranks_that_keep_the_tails():
    scores = np.random.default_rng(2).normal(size=(20_000, 3))
    ratios = pooled_ratios(scores)
    exact = np.sort((scores / ratios.scale).ravel())
    assert len(ratios.values) == 4001 and ratios.n == 60_000
    for q in (0.01, 0.5, 0.975):
        rank = int(np.floor(60_001 * q) if q < 0.5 else np.ceil(60_001 * q))
        assert ratios.quantile(q) == pytest.approx(exact[rank - 1], abs=0.02)


def test_unit_weights_find_the_power_of_what_sets_the_error():
    """Errors proportional to the noise squared: the noise's weight is 2; features that do
    not vary stay at the prior."""
    rng = np.random.default_rng(3)
    f = np.zeros((2000, 3, 3))
    f[:, :, 1] = rng.normal(0, 0.5, size=(2000, 1))
    errors = np.exp(2 * f[:, :, 1]) * rng.normal(size=(2000, 3))
    weights = unit_weights(*unit_sums(f, errors))
    assert weights[1] == pytest.approx(2.0, abs=0.1)
    assert weights[0] == pytest.approx(1.0) and weights[2] == pytest.approx(1.0)


def test_no_calibration_window_is_a_clear_error():
    with pytest.raises(DataError, match="No calibration window"):
        pooled_ratios(np.zeros((0, 3)))


def test_extended_quantiles_widen_like_a_random_walk():
    q = extend_quantiles(np.array([1.0, 2.0]), 8)
    assert q[:2].tolist() == [1.0, 2.0] and q[-1] == pytest.approx(2.0 * np.sqrt(8 / 2))


@pytest.mark.parametrize(
    "draw",
    [
        lambda rng, n: rng.standard_t(3, size=n),  # heavy tails
        lambda rng, n: rng.lognormal(0, 2, size=n) - 1,  # skewed, sizes over many decades
        lambda rng, n: np.round(rng.normal(size=n), 2),  # ties
    ],
    ids=["t3", "lognormal", "ties"],
)
@pytest.mark.parametrize("n", [500, 50_000])
def test_the_counting_grid_reads_the_exact_order_statistics(draw, n):
    """What a dataset's calibration reads off counts below a grid, without the ratios, is
    within a grid cell (0.34 %) of the exact order statistics, summed over parts as buckets
    are."""
    rng = np.random.default_rng(n)
    values = draw(rng, n)
    parts = np.array_split(rng.permutation(values), 7)  # seven buckets
    counts = np.sum([counts_below(np.sort(p)) for p in parts], axis=0)
    exact = sorted_ratios(np.sort(values), np.ones(1))
    counted = counted_ratios(counts, n, np.ones(1))
    assert np.array_equal(counted.ranks, exact.ranks) and counted.n == exact.n
    inside = np.abs(exact.values) > 1e-6  # the grid's range: 1e-6 to 1e6 in size
    error = np.abs(counted.values - exact.values)[inside] / np.abs(exact.values)[inside]
    assert error.max() < 0.0035
    for q in (0.05, 0.1, 0.5, 0.9, 0.95):
        assert counted.quantile(q) == pytest.approx(exact.quantile(q), rel=0.0035, abs=1e-6)


def test_the_calibration_reduction_of_many_parts_is_that_of_one():
    """pool sums over parts: the buckets of a dataset give the calibration of their scores
    pooled in one process, exactly while gathered and within the grid's cell when counted."""
    rng = np.random.default_rng(0)

    def scores(n: int) -> Scores:
        features = np.stack([rng.normal(size=(n, 4)) * 0.3 for _ in range(3)], axis=2)
        alone = rng.standard_t(4, size=(n, 4)) * np.arange(1, 5)
        return Scores(alone, alone * 0.9, features)

    parts = [scores(n) for n in (40, 0, 25, 60)]
    parts[1] = None  # a bucket without windows
    kept = [p for p in parts if p is not None]
    one = [
        Scores(
            *(np.concatenate([getattr(p, f) for p in kept]) for f in ("alone", "theta", "features"))
        )
    ]
    options = {"horizon": 4, "combine": "auto", "interval": 0.8}
    whole, split = pool(one, **options), pool(parts, **options)
    assert split.combine == whole.combine and split.n == whole.n == 125
    np.testing.assert_allclose(split.ratios.values, whole.ratios.values, rtol=1e-12)
    np.testing.assert_allclose(split.half_widths, whole.half_widths, rtol=1e-12)
    np.testing.assert_allclose(split.scores, whole.scores, rtol=1e-12)
    counted = pool(parts, **options, few=0)
    assert counted.scores is None
    np.testing.assert_allclose(counted.half_widths, whole.half_widths, rtol=0.0035)
