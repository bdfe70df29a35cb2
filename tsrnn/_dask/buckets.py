"""What the workers compute of a fit on a dataset: training ranks, calibration scores, forecasts.

Runs in the workers, on the shards they hold (:mod:`tsrnn._dask.shards`); the client sends the
plan and the networks' weights, and gets back weights and a few numbers per bucket.

* :class:`RankJob`: one rank of the training. It encodes the series of its buckets (final and
  calibration parts) and trains every network of the ensemble in lockstep, drawing its share
  of each batch from its own series; its loss is weighted by ``ranks * its series / all
  series``, so that the gradient averaged over the ranks is the one of a batch drawn uniformly
  over every series, as one process draws it.
* :func:`score_shard` forecasts a bucket's held-out windows with the calibration networks;
  :func:`score_sums`, :func:`ratio_counts` and :func:`ratios_in` reduce the scores for the
  client without sending them.
* :func:`forecast_shard`: a bucket's forecasts, as a pandas frame (a partition of the lazy Dask
  DataFrame of forecasts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from .._data.calendar import features_in
from .._forecast.calibration import Scores, calibration_scores, held_out, held_out_cuts
from .._forecast.covariates import Covariates
from .._forecast.jobs import encode_series, sampler
from .._forecast.plan import Plan, n_channels
from .._forecast.predict import Fitted, forecast_histories
from ..estimator import RNNRegressor, fit_steps
from .columns import split_inputs
from .future import future_frame
from .shards import Columns, Shard, recode

__all__ = [
    "RankJob",
    "RankSpec",
    "all_ratios",
    "count_kept",
    "forecast_shard",
    "ratio_counts",
    "ratio_edges",
    "score_shard",
    "score_sums",
]


@dataclass
class RankSpec:
    """What every rank of a fit on a dataset needs (the same for all of them).

    Attributes
    ----------
    plan : Plan
    final_seeds, calibration_seeds : list of int
        One seed per network (no calibration networks without intervals).
    size : int
        Held-out windows per series for the calibration networks.
    n_series, n_kept : int
        Series of the whole dataset, and those long enough to hold a window out.
    covariates : Covariates
        The input columns (exogenous, then calendar) and their scaling over every bucket.
    """

    plan: Plan
    final_seeds: list[int]
    calibration_seeds: list[int] = field(default_factory=list)
    size: int = 0
    n_series: int = 1
    n_kept: int = 1
    covariates: Covariates | None = None


@dataclass
class RankJob:
    """One rank of a fit on a dataset: the series of its buckets, and every network.

    A job of :func:`tsrnn._dask.rank.run_rank` (``device``, ``fit``); ``data`` holds its shards.
    """

    spec: RankSpec
    data: list[Shard] | None = None

    @property
    def device(self) -> str:
        return str(self.spec.plan.params["device"])

    @property
    def size(self) -> int:
        return sum(shard.n_series for shard in self.data or [])

    def fit(self, sync=None, rank: int = 0, quiet: bool = True) -> tuple[list, list]:
        """Train every network on this rank's series; the final and calibration networks."""
        spec, plan = self.spec, self.spec.plan
        world = 1 if sync is None else sync.world
        covariates = spec.covariates or Covariates([], np.zeros(0), np.zeros(0))
        values, xs = _series_of(self.data or [], features_in(covariates.names))
        if xs is not None:
            xs = covariates.scaled(xs)
        batch = math.ceil(plan.batch / world)
        n_feat = len(covariates.names)  # a rank without series builds the same networks
        models, samples, steps, channels, weights = [], [], [], [], []

        def add(panel, seeds: list[int], share: float) -> None:
            for network, seed in zip(plan.networks, seeds, strict=True):
                models.append(RNNRegressor(**plan.network_params(network, n_feat, seed)))
                steps.append(plan.n_steps(network, n_feat))
                channels.append(n_channels(n_feat, network.scale_channel, network.patch))
                if panel is None:  # no series here: zero batches, the ranks stay in step
                    samples.append(_idle(batch, steps[-1], channels[-1], plan.out))
                else:
                    samples.append(
                        sampler(panel, network, plan.out, plan.normalize, batch, seed + rank)
                    )
                weights.append(world * share)

        final = encode_series(plan, values, xs).panel if values else None
        add(final, spec.final_seeds, len(values) / spec.n_series)
        if spec.calibration_seeds:
            held = held_out(plan, values, xs, spec.size) if values else None
            kept, panel = (0, None) if held is None else (len(held.keep), held.panel)
            del held  # its encoded series (float64) are not needed to train: free them
            add(panel, spec.calibration_seeds, kept / spec.n_kept)
        fit_steps(models, samples, n_steps=steps, n_channels=channels, n_outputs=plan.out,
                  steps=plan.steps, weights=weights, sync=sync, quiet=True)  # fmt: skip
        k = len(spec.final_seeds)
        return models[:k], models[k:]


def count_kept(shard: Shard, horizon: int, size: int) -> int:
    """Series of ``shard`` long enough to hold a calibration window out."""
    return len(held_out_cuts(shard.lengths, horizon, size)[0])


def score_shard(shard: Shard, fitted: Fitted, size: int, combine: str) -> Scores | None:
    """The calibration scores of a bucket's held-out windows (None when it holds none).

    ``fitted`` carries the calibration networks; ``combine`` is the forecaster's parameter.
    """
    if not shard.n_series:
        return None
    values, xs = split_inputs(shard, features_in(fitted.covariates.names))
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


def forecast_shard(
    shard: Shard,
    fitted: Fitted,
    horizon: int,
    columns: Columns,
    meta: pd.DataFrame,
    wanted: list[tuple[str, float]],
    rows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The forecasts of a bucket's series: ``horizon`` rows per series.

    Parameters
    ----------
    shard : Shard
    fitted : Fitted
    horizon : int
    columns : Columns
    meta : DataFrame
        The forecasts' empty frame (columns and dtypes).
    wanted : list of (str, float)
        The bound columns (:func:`tsrnn._forecast.predict.probabilities`).
    rows : DataFrame or None, default=None
        The future values of the bucket's series (:func:`tsrnn._dask.future.future_parts`):
        ``horizon`` rows per series of columns id, time and the known exogenous ones.

    Returns
    -------
    DataFrame
        Columns ``columns.id``, ``columns.time``, ``forecast``, ``lower``, ``upper`` and those
        of ``wanted`` (:func:`tsrnn._forecast.predict.probabilities`), with the dtypes of
        ``meta``.
    """
    if not shard.n_series:
        return meta.iloc[:0].copy()
    covariates = fitted.covariates
    shard = recode(shard, columns, covariates.categories)  # the model's codes (0: unknown)
    values, xs = split_inputs(shard, features_in(covariates.names))
    ids = list(shard.ids)
    X_future = future_frame(rows, columns, covariates.future_names)
    future = covariates.future(X_future, horizon, ids, shard.last, fitted.freq, True,
                               shard.static)  # fmt: skip
    result = forecast_histories(fitted, values, xs, shard.last, future, horizon, wanted, ids)
    frame = pd.DataFrame(
        {
            columns.id: np.repeat(shard.ids, horizon),
            columns.time: result.stamps.ravel(),
            **{name: values.ravel() for name, values in result.columns.items()},
        }
    )
    return frame.astype(meta.dtypes.to_dict())


def _series_of(shards: list[Shard], features: list[str]) -> tuple[list, list | None]:
    values, xs = [], []
    for shard in shards:
        v, x = split_inputs(shard, features)
        values += v
        xs += x or []
    return values, (xs or None)


def _idle(batch: int, n_steps: int, n_channels: int, out: int):
    """A sampler of zero batches with zero weights: a rank with no series in a group."""
    inputs, targets = torch.zeros(batch, n_steps, n_channels), torch.zeros(batch, out)

    def sample(step: int):
        return inputs, targets, torch.zeros(batch, out)

    return sample
