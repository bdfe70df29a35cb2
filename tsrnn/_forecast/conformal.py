"""Split-conformal quantiles for multi-step forecasts, pooled across steps and series.

A calibration model forecasts windows it never trained on; each absolute error, divided by its
series' scale, is a *score* of shape (n_windows, horizon). A per-step conformal quantile of a
few windows would be the largest error seen, so the steps are pooled instead: each step's
scores are divided by a step scale, one conformal quantile is taken of all the ratios, and it
is scaled back per step. The intervals then widen with the step as the errors do, and stay
calibrated with as few as a dozen windows.

The step scale is the isotonic (non-decreasing) regression of each step's mean score, so the
intervals never narrow further ahead. Taking the running maximum of the per-step quantiles
instead would carry one step's outliers to every later step: the intervals then cover more
than the nominal share even of the calibration windows.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.isotonic import IsotonicRegression

from ..errors import DataError

__all__ = [
    "conformal_level",
    "extend_quantiles",
    "order_statistic",
    "pooled_quantiles",
    "step_scale",
]


def pooled_quantiles(scores: np.ndarray, coverage: float) -> tuple[np.ndarray, float]:
    """Conformal quantile of the scores per step ahead, pooled across steps.

    Parameters
    ----------
    scores : ndarray of shape (n_windows, horizon)
        Absolute errors of calibration forecasts, each divided by its series' scale.
    coverage : float
        Nominal coverage in (0, 1).

    Returns
    -------
    quantiles : ndarray of shape (horizon,)
        Half-width of the interval of each step, in units of the series' scale; never
        narrower further ahead.
    level : float
        The quantile level used: ``ceil((n + 1) * coverage) / n`` of the ``n`` pooled ratios.

    Raises
    ------
    DataError
        If there is no calibration window.

    Examples
    --------
    >>> scores = np.abs(np.random.default_rng(0).normal(size=(200, 3))) * [1.0, 2.0, 3.0]
    >>> q, level = pooled_quantiles(scores, 0.9)
    >>> bool(np.all(np.diff(q) > 0)), round(level, 3)
    (True, 0.902)
    >>> round(float(np.mean(scores <= q)), 2)  # the nominal share of the calibration scores
    0.9
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or len(scores) == 0:
        raise DataError(
            "No calibration window has every step observed: pass longer series, a smaller "
            "horizon, or interval=None."
        )
    scale = step_scale(scores.mean(axis=0))
    ratios = (scores / scale).ravel()
    level = conformal_level(len(ratios), coverage)
    return np.quantile(ratios, level, method="higher") * scale, level


def step_scale(mean: np.ndarray) -> np.ndarray:
    """The scale of each step ahead: the isotonic (non-decreasing) fit of the mean scores.

    Parameters
    ----------
    mean : ndarray of shape (horizon,)
        Mean score of each step.

    Returns
    -------
    ndarray of shape (horizon,)
    """
    steps = np.arange(len(mean))
    return np.maximum(IsotonicRegression().fit(steps, mean).predict(steps), 1e-12)


def conformal_level(n: int, coverage: float) -> float:
    """The quantile level of ``n`` pooled ratios for a ``coverage`` interval.

    Returns
    -------
    float
        ``ceil((n + 1) * coverage) / n``, at most 1.
    """
    return float(min(math.ceil((n + 1) * coverage) / n, 1.0))


def order_statistic(n: int, level: float) -> int:
    """Position (from 0) in the sorted ratios of ``np.quantile(ratios, level, method="higher")``.

    Examples
    --------
    >>> r = np.random.default_rng(1).random(101)
    >>> k = order_statistic(101, 0.9)
    >>> bool(np.sort(r)[k] == np.quantile(r, 0.9, method="higher"))
    True
    """
    return int(np.ceil(level * (n - 1)))


def extend_quantiles(quantiles: np.ndarray, horizon: int) -> np.ndarray:
    """The calibrated quantiles, widened like a random walk past the calibrated steps.

    Parameters
    ----------
    quantiles : ndarray of shape (H,)
    horizon : int

    Returns
    -------
    ndarray of shape (horizon,)
        ``quantiles[:horizon]``, or past ``H`` steps ``q_H * sqrt(h / H)``.
    """
    q = np.asarray(quantiles, dtype=np.float64)
    if horizon <= len(q):
        return q[:horizon]
    extra = q[-1] * np.sqrt(np.arange(len(q) + 1, horizon + 1) / len(q))
    return np.concatenate([q, extra])
