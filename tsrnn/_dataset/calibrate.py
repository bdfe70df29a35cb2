"""Calibration on a dataset: each bucket scores its own held-out windows where it lives.

Runs in the workers: :func:`score_bucket` forecasts a bucket's held-out windows with the
calibration networks; :func:`score_sums`, :func:`bound_sums`, :func:`ratio_counts` and
:func:`all_ratios` reduce the scores for the client without sending them.
"""

from __future__ import annotations

import numpy as np

from .._data.calendar import features_in
from .._forecast.calibration import Scores, calibration_scores, held_out, held_out_cuts
from .._forecast.predict import Fitted
from .buckets import Bucket
from .columns import split_inputs

__all__ = [
    "all_ratios",
    "bound_sums",
    "count_kept",
    "ratio_counts",
    "ratio_edges",
    "score_bucket",
    "score_sums",
]


def count_kept(bucket: Bucket, horizon: int, size: int) -> int:
    """Series of ``bucket`` long enough to hold a calibration window out."""
    return len(held_out_cuts(bucket.lengths, horizon, size)[0])


def score_bucket(bucket: Bucket, fitted: Fitted, size: int, combine: str) -> Scores | None:
    """The calibration scores of a bucket's held-out windows (None when it holds none).

    ``fitted`` carries the calibration networks; ``combine`` is the forecaster's parameter.
    """
    if not bucket.n_series:
        return None
    values, xs = split_inputs(bucket, features_in(fitted.covariates.names))
    if xs is not None:
        xs = fitted.covariates.scaled(xs)
    held = held_out(fitted.plan, values, xs, size)
    if held is None:
        return None
    return calibration_scores(fitted.plan, values, xs, held, fitted.models, combine=combine)


def score_sums(scores: Scores | None, horizon: int) -> dict[str, np.ndarray | int | None]:
    """Per-step sums of a bucket's absolute scores: ``n`` windows, ``alone`` and ``theta``
    (horizon,) in units of the spread (they choose the combination), and the least-squares
    sums of their units (``unit_alone``, ``unit_theta``: :meth:`Scores.unit_sums`)."""
    if scores is None:
        return {"n": 0, "alone": np.zeros(horizon), "theta": None, "unit_alone": None,
                "unit_theta": None}  # fmt: skip
    sums = {"n": len(scores.alone), "alone": np.abs(scores.alone).sum(axis=0),
            "unit_alone": scores.unit_sums("alone"), "theta": None, "unit_theta": None}  # fmt: skip
    if scores.theta is not None:
        sums["theta"] = np.abs(scores.theta).sum(axis=0)
        sums["unit_theta"] = scores.unit_sums("theta")
    return sums


def bound_sums(scores: Scores | None, which: str, unit: np.ndarray, horizon: int) -> np.ndarray:
    """Per-step sums of a bucket's absolute errors in units of the bounds, (horizon,)."""
    if scores is None:
        return np.zeros(horizon)
    return np.abs(scores.ratios(which, unit)).sum(axis=0)


def _ratios(scores: Scores | None, which: str, unit: np.ndarray, scale: np.ndarray) -> np.ndarray:
    if scores is None:
        return np.empty(0)
    return (scores.ratios(which, unit) / scale).ravel()


def ratio_edges(grid: int) -> np.ndarray:
    """Signed bounds from -1e6 to 1e6, ``grid`` either side of 0, evenly spaced in log."""
    side = np.geomspace(1e-6, 1e6, grid)
    return np.concatenate([-side[::-1], [0.0], side])


def ratio_counts(
    scores: Scores | None, which: str, unit: np.ndarray, scale: np.ndarray, grid: int
) -> np.ndarray:
    """How many of a bucket's signed ratios (scores over the step scale) are at or below each
    of :func:`ratio_edges` ``(grid)``.

    Returns
    -------
    ndarray of shape (2 * grid + 1,), int64
    """
    ratios = np.sort(_ratios(scores, which, unit, scale))
    return np.searchsorted(ratios, ratio_edges(grid), side="right").astype(np.int64)


def all_ratios(
    scores: Scores | None, which: str, unit: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """A bucket's ratios (few: the caller asks when there are few in all)."""
    return _ratios(scores, which, unit, scale)
