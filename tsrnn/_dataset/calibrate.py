"""Calibration on a dataset: each bucket scores its own held-out windows where it lives.

:func:`score_bucket` runs in the workers: it forecasts a bucket's held-out windows with the
calibration networks and keeps their scores there. :func:`calibrate_buckets` (the client)
reduces them with the reduction a fit in one process uses
(:func:`tsrnn._forecast.calibration.pool`), each of its sums computed where the scores live:
the client receives a few numbers per bucket, and the ratios themselves only while there are
at most :data:`FEW` of them; beyond, their order statistics are read off counts below a fine
grid (:func:`tsrnn._forecast.conformal.counted_ratios`, within 0.34 % of the exact ones),
each bucket's counts summed by the workers (:func:`tsrnn._dask.connect.reduce_where`): the
client receives one grid (131 kB), not one per bucket (2 GB for 16,000 buckets).
Each bucket then finds the ids of its :data:`~tsrnn._forecast.hardest.HARDEST` series of
largest error with their errors (:func:`hardest_in_bucket`), and the workers keep the largest
of those: the client receives the hardest series of the dataset, without a per-series list.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._dask.connect import fetch, hold, reduce_where
from .._data.calendar import features_in
from .._forecast.calibration import (
    Calibration,
    Scores,
    calibration_scores,
    held_out,
    held_out_cuts,
    pool,
)
from .._forecast.covariates import Covariates
from .._forecast.hardest import HARDEST, largest_errors, merge_largest, series_errors
from .._forecast.plan import Plan
from ..estimator import RNNRegressor
from .buckets import Bucket
from .columns import split_inputs
from .read import SeriesDataset

__all__ = ["FEW", "calibrate_buckets", "count_kept", "hardest_in_bucket", "score_bucket"]

#: Ratios (windows times steps) gathered at most: beyond, they are counted bucket by bucket.
FEW = 20_000


def count_kept(bucket: Bucket, horizon: int, size: int) -> int:
    """Series of ``bucket`` long enough to hold a calibration window out."""
    return len(held_out_cuts(bucket.lengths, horizon, size)[0])


def score_bucket(
    bucket: Bucket,
    networks: tuple[Plan, list[RNNRegressor], Covariates],
    size: int,
    combine: str,
) -> Scores | None:
    """The calibration scores of a bucket's held-out windows (None when it holds none).

    ``networks``: the plan, the calibration networks and the input columns; ``combine`` is
    the forecaster's parameter.
    """
    plan, models, covariates = networks
    if not bucket.n_series:
        return None
    values, xs = split_inputs(bucket, features_in(covariates.names))
    if xs is not None:
        xs = covariates.scaled(xs)
    held = held_out(plan, values, xs, size)
    if held is None:
        return None
    return calibration_scores(plan, values, xs, held, models, combine=combine)


def hardest_in_bucket(scores: Scores | None, bucket: Bucket, which: str, k: int) -> Any:
    """The ``k`` series of ``bucket`` of largest calibration error, by id, largest first
    (:func:`tsrnn._forecast.hardest.largest_errors`); ``which`` errors of ``scores``."""
    if scores is None:
        return largest_errors([], [], k)
    errors = series_errors(scores.kept(which), scores.series, bucket.n_series)
    top = np.argsort(-np.nan_to_num(errors, nan=-np.inf), kind="stable")[:k]  # no id list
    return largest_errors(errors[top], list(bucket.ids[top]), k)


def calibrate_buckets(
    dataset: SeriesDataset,
    *,
    plan: Plan,
    models: list[RNNRegressor],
    covariates: Covariates,
    size: int,
    combine: str,
    interval: float,
) -> Calibration:
    """Score every bucket's held-out windows where they live, and reduce the scores.

    Parameters
    ----------
    dataset : SeriesDataset
    plan : Plan
    models : list of RNNRegressor
        The calibration networks.
    covariates : Covariates
    size : int
        Held-out windows per series.
    combine : {"auto", "none", "theta"}
    interval : float

    Returns
    -------
    Calibration
        With the dataset's :data:`~tsrnn._forecast.hardest.HARDEST` series of largest error
        (``series_errors``).
    """
    client = dataset.client
    networks = hold(client, (plan, models, covariates), everywhere=True)
    scores = client.map(
        score_bucket, dataset.buckets, networks=networks, size=size, combine=combine, pure=False
    )

    def apply(function: Any, parts: list, **kwargs: Any) -> list:
        return fetch(client, client.map(function, parts, **kwargs, pure=False))

    def total(function: Any, parts: list, **kwargs: Any) -> Any:  # summed by the workers
        each = client.map(function, parts, **kwargs, pure=False)
        return reduce_where(client, each, _summed)

    try:
        found = pool(
            scores,
            horizon=plan.horizon,
            combine=combine,
            interval=interval,
            apply=apply,
            total=total,
            few=FEW,
        )
        hardest = client.map(
            hardest_in_bucket, scores, dataset.buckets, which=found.scored, k=HARDEST, pure=False
        )
        found.series_errors = reduce_where(client, hardest, _hardest)
        return found
    finally:
        client.cancel(scores)


def _summed(parts: list) -> Any:
    return np.sum(parts, axis=0)


def _hardest(parts: list) -> Any:
    return merge_largest(parts, HARDEST)
