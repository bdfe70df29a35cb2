"""Fit a forecaster on a dataset of a Dask cluster: the networks train where the data live.

The client plans the fit from the buckets' summaries (:func:`tsrnn._forecast.plan.plan_for`,
the same sizes a fit in one process resolves) and, with input columns (``calendar="auto"``),
their scaling from per-bucket moments (:mod:`tsrnn._dataset.columns`), then:

1. **training**: one rank per worker (:class:`~tsrnn._dask.buckets.RankJob`), pinned to it,
   holding the buckets assigned to it (balanced by windows, each kept on the worker that
   holds it where the balance allows). Every rank trains every network of the ensemble (the
   final ones and their calibration twins) in lockstep, the same number of steps, its loss
   weighted by its share of the series, with one all-reduce of all gradients a step. Rank 0
   sends back the networks. A cluster-wide lock makes two such fits take turns.
2. **calibration**: each bucket scores its own held-out windows with the calibration networks
   and keeps the (signed) scores; the client receives per-step sums (to choose the combination
   with Theta and the step scale) and the pooled ratios: all of them when they are few, else
   order statistics read off counts of ratios below a fine grid of bounds, bucket by bucket.

The result is an :class:`~tsrnn.RNNForecaster` that keeps no series: networks, quantiles and
sizes, no row and no per-series state (``series_ids_`` is None).
"""

from __future__ import annotations

import time
import uuid

import distributed
import numpy as np
from distributed import Client, Future
from sklearn.utils import check_random_state

from .._dask.connect import fetch, hold
from .._dask.trainer import rank_task, wait_for
from .._dask.worker import prepare_worker_thread
from .._forecast.calibration import Calibration, choose, no_window_error, windows_per_series
from .._forecast.conformal import (
    RANKS_KEPT,
    Ratios,
    centred,
    sorted_ratios,
    step_scale,
    unit_weights,
)
from .._forecast.covariates import Covariates, calendar_inputs
from .._forecast.jobs import network_seeds
from .._forecast.plan import known_columns, plan_for
from .._forecast.predict import Fitted
from .._train.progress import Progress
from ..errors import ClusterError, DataError, ParameterError
from ..forecaster import RNNForecaster
from .calibrate import (
    all_ratios,
    bound_sums,
    count_kept,
    ratio_counts,
    ratio_edges,
    score_bucket,
    score_sums,
)
from .columns import calendar_names, column_moments, pooled_scaling
from .read import SeriesDataset
from .train import RankJob, RankSpec

__all__ = ["fit_dataset"]

_LOCK = "tsrnn-data-parallel"  # one data-parallel fit at a time per cluster (as the trainer's)
#: Ratios gathered at most: beyond, they are counted below a grid of bounds, bucket by bucket.
_FEW = 20_000
_GRID = 8192  # bounds either side of 0


def fit_dataset(
    model: RNNForecaster,
    dataset: SeriesDataset,
    *,
    ranks: int | None = None,
    timeout: float = 60.0,
    verbose: int = 0,
) -> RNNForecaster:
    """Fit ``model`` on ``dataset`` where its buckets live (see the module docstring).

    Parameters
    ----------
    model : RNNForecaster
        Unfitted; its parameters are used as in ``fit``: ``missing="mask"`` masks the NaN
        targets and gaps of the dataset (``"raise"`` refuses them), ``calendar="auto"`` makes
        the workers build the calendar columns of their stamps, scaled over every bucket's
        rows as ``fit`` scales them (``feature_names_in_``, ``x_loc_``, ``x_scale_``); the
        dataset's text columns are read through embeddings of their vocabularies
        (``categories_``), and its static columns as columns constant within each series
        (``static_names_``; ``static_`` holds no row: the model keeps no series), as in
        memory.
    dataset : SeriesDataset
    ranks : int or None, default=None
        Ranks of the training (one per worker); None: every worker.
    timeout : float, default=60.0
        Seconds allowed to form the ranks' group and for each of its collectives.
    verbose : int, default=0
        A progress bar of the stages.

    Returns
    -------
    RNNForecaster
        ``model``, fitted; it keeps no series (``series_ids_`` is None), and its ``timings_``
        hold the seconds of ``"training"`` and ``"calibration"``.

    Raises
    ------
    DataError
        If no series is long enough for a calibration window, or the dataset has missing
        values (NaN targets, gaps) and ``model.missing`` is ``"raise"``.
    ClusterError
        If a worker of the training leaves the cluster: the fit stops with one message.
    """
    model._check_params()
    if model.missing == "raise" and dataset.missing_error:
        raise DataError(dataset.missing_error)
    _check_hist_exog(model, dataset)
    client = dataset.client
    covariates = _covariates(model, dataset)
    plan = plan_for(model.get_params(), dataset.freq, dataset.longest, dataset.n_windows,
                    covariates.names, covariates.categories)  # fmt: skip
    seeds = check_random_state(model.random_state).randint(np.iinfo(np.int32).max, size=2)
    spec = RankSpec(plan, network_seeds(int(seeds[0]), len(plan.networks)),
                    n_series=dataset.n_series, covariates=covariates)  # fmt: skip
    if model.interval is not None:
        spec.size = windows_per_series(model.calibration_size, dataset.n_series, dataset.longest)
        kept = client.map(count_kept, dataset.buckets, horizon=plan.horizon, size=spec.size,
                          pure=False)  # fmt: skip
        spec.n_kept = int(sum(fetch(client, kept)))
        if not spec.n_kept:
            raise no_window_error(plan.horizon, model.interval)
        spec.calibration_seeds = network_seeds(int(seeds[1]), len(plan.networks))
    start = time.perf_counter()
    with Progress(verbose, 2, "fit on the cluster", "stages") as bar:
        final, calibration = _train(client, dataset, spec, ranks, timeout)
        bar.advance()
        trained = time.perf_counter()
        found = Calibration.none(plan.horizon, model.combine)
        if model.interval is not None:
            fitted = Fitted(plan, calibration, None, np.zeros(plan.horizon), model.interval,
                            "none", dataset.freq, covariates)  # fmt: skip
            found = _calibrate(client, dataset, fitted, spec.size, model.combine, model.interval)
        bar.advance()
    model._set_plan(plan)
    model.freq_ = dataset.freq
    model.multi_ = True
    model.index_names_ = [dataset.columns.id, dataset.columns.time]
    model.name_ = dataset.columns.target
    model.feature_names_in_ = np.asarray(covariates.names, dtype=object)
    model.x_loc_, model.x_scale_ = covariates.loc, covariates.scale
    model.categories_ = dict(covariates.categories)
    model.static_names_ = list(dataset.columns.static)  # static_: no row, it keeps no series
    model.static_ = np.zeros((0, len(model.static_names_)))
    model._set_calibration(found)
    model.models_ = final
    for name in ("series_ids_", "last_index_", "scaling_", "history_y_", "history_observed_",
                 "history_X_", "theta_"):  # fmt: skip
        setattr(model, name, None)
    model.timings_ = {
        "training": trained - start,
        "calibration": time.perf_counter() - trained,
    }
    return model


# ---------------------------------------------------------------------- inputs


def _covariates(model: RNNForecaster, dataset: SeriesDataset) -> Covariates:
    """The input columns (exogenous, static, then the calendar's with ``calendar="auto"``) and their
    scaling over every bucket's rows, as ``fit`` scales them (:mod:`tsrnn._dataset.columns`):
    the codes of text columns are left as they are (loc 0, scale 1)."""
    features = calendar_inputs(dataset.freq, model.calendar == "auto", model.holidays)
    static = list(dataset.columns.static)
    names = [*dataset.columns.exog, *static, *calendar_names(features)]
    if not names:
        return Covariates([], np.zeros(0), np.zeros(0))
    client = dataset.client
    parts = client.map(column_moments, dataset.buckets, features=features, n_feat=len(names),
                       pure=False)  # fmt: skip
    categories = dict(dataset.categories)
    codes = [name in categories for name in names]
    loc, scale = pooled_scaling(model.scaler, fetch(client, parts), codes)
    known = known_columns(names, model.hist_exog)
    return Covariates(names, loc, scale, known, categories, static)


def _check_hist_exog(model: RNNForecaster, dataset: SeriesDataset) -> None:
    """The model's past-only columns are the dataset's: read, and read as past-only."""
    past_only = [str(c) for c in model.hist_exog or ()]
    unread = [c for c in past_only if c not in dataset.columns.exog]
    if unread:
        raise DataError(
            f"hist_exog names {unread!r}, which {dataset.label} was not read with: read them "
            f"with read_dataset(..., hist_exog={past_only!r})."
        )
    unsaid = [c for c in dataset.hist_exog if c not in past_only]
    if unsaid:
        raise ParameterError(
            f"{dataset.label} was read with hist_exog={list(dataset.hist_exog)!r} but the model "
            f"has hist_exog={model.hist_exog!r}: fit RNNForecaster(hist_exog="
            f"{list(dataset.hist_exog)!r}) on it."
        )


# ---------------------------------------------------------------------- training


def _train(
    client: Client, dataset: SeriesDataset, spec: RankSpec, ranks: int | None, timeout: float
) -> tuple[list, list]:
    """Train every network with one rank per worker; the final and calibration networks."""
    workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
    if not workers:
        raise ClusterError("The Dask cluster has no workers: start some with `dask worker`.")
    world = min(ranks or len(workers), len(workers))
    if ranks is not None and ranks > len(workers):
        raise ParameterError(
            f"ranks={ranks} asks for more workers than the cluster has ({len(workers)}): "
            "start more workers or lower ranks."
        )
    workers = workers[:world]
    assigned = _assign(client, dataset, workers)
    token = uuid.uuid4().hex[:8]
    name = f"tsrnn-data-{token}"
    job = RankJob(spec)
    futures, pinned = [], {}
    for rank, worker in enumerate(workers):
        buckets = [dataset.buckets[b] for b in assigned[rank]]
        if world == 1:
            future = client.submit(_single, job, buckets, key=f"{name}-rank0", workers=[worker],
                                   allow_other_workers=True, pure=False)  # fmt: skip
        else:
            future = client.submit(
                rank_task, job, buckets, rank, world, name, timeout, key=f"{name}-rank{rank}",
                workers=[worker], allow_other_workers=False, pure=False,
            )  # fmt: skip
            pinned[future] = (worker, rank, world)
        futures.append(future)
    lock = distributed.Lock(_LOCK, scheduler_rpc=client.scheduler, loop=client.loop)
    with lock, Progress(0, world, "", "") as bar:
        [result] = wait_for(client, futures, futures[:1], pinned, bar)
    return result


def _single(job: RankJob, buckets: list) -> tuple[list, list]:
    """The training on one worker (one rank: no process group)."""
    import dataclasses

    prepare_worker_thread()
    return dataclasses.replace(job, data=buckets).fit()


def _assign(client: Client, dataset: SeriesDataset, workers: list[str]) -> list[list[int]]:
    """Buckets of each rank, balanced by windows; a bucket stays on the worker that holds it
    unless that worker already has more than its share (longest first, then the least
    loaded rank)."""
    windows = [s["n_windows"] for s in dataset.summaries]
    where = client.who_has(dataset.buckets)
    home = {w: r for r, w in enumerate(workers)}
    share = sum(windows) / len(workers)
    loads = [0] * len(workers)
    assigned: list[list[int]] = [[] for _ in workers]
    for b in sorted(range(len(windows)), key=lambda b: -windows[b]):
        holders = [home[w] for w in where.get(dataset.buckets[b].key, ()) if w in home]
        rank = holders[0] if holders and loads[holders[0]] + windows[b] <= share * 1.05 else None
        if rank is None:
            rank = int(np.argmin(loads))
        assigned[rank].append(b)
        loads[rank] += windows[b]
    return [sorted(a) for a in assigned]


# ---------------------------------------------------------------------- calibration


def _calibrate(
    client: Client,
    dataset: SeriesDataset,
    fitted: Fitted,
    size: int,
    combine: str,
    interval: float,
) -> Calibration:
    """Score the held-out windows where they live; reduce to the pooled ratios."""
    h = fitted.plan.horizon
    models = hold(client, fitted, everywhere=True)
    scores = client.map(score_bucket, dataset.buckets, fitted=models, size=size, combine=combine,
                        pure=False)  # fmt: skip
    sums = fetch(client, client.map(score_sums, scores, horizon=h, pure=False))
    n = int(sum(s["n"] for s in sums))
    if not n:
        raise no_window_error(h, interval)
    alone = np.sum([s["alone"] for s in sums], axis=0)
    errors = {"none": float(alone.sum() / (n * h))}
    theta = None
    if all(s["theta"] is not None for s in sums if s["n"]) and combine in ("auto", "theta"):
        theta = np.sum([s["theta"] for s in sums if s["n"]], axis=0)
        errors["theta"] = float(theta.sum() / (n * h))
    chosen = choose(errors, combine)
    which = "theta" if chosen == "theta" and theta is not None else "alone"
    parts = [s[f"unit_{which}"] for s in sums if s["n"]]
    unit = unit_weights(sum(p[0] for p in parts), sum(p[1] for p in parts))
    bounds = client.map(bound_sums, scores, which=which, unit=unit, horizon=h, pure=False)
    scale = step_scale(np.sum(fetch(client, bounds), axis=0) / n)
    ratios = centred(_pooled(client, scores, which, unit, scale, n * h))
    client.cancel(scores)
    return Calibration.of(ratios, interval, n, errors, chosen)


def _pooled(
    client: Client,
    scores: list[Future],
    which: str,
    unit: np.ndarray,
    scale: np.ndarray,
    total: int,
) -> Ratios:
    """The pooled ratios of every bucket, without gathering them when there are many.

    Up to :data:`_FEW` ratios in all are gathered and sorted (exact). Beyond, each bucket
    counts its ratios at or below a fine grid of signed bounds (steps of 0.3%, from 1e-6 to
    1e6 either side of 0), and the order statistics kept (:data:`RANKS_KEPT` of them) are
    read off the summed counts by linear interpolation inside their cell: within 0.3% of
    the exact ratio.
    """
    if total <= _FEW:
        parts = client.map(all_ratios, scores, which=which, unit=unit, scale=scale, pure=False)
        return sorted_ratios(np.sort(np.concatenate(fetch(client, parts))), scale, unit=unit)
    edges = ratio_edges(_GRID)
    parts = client.map(ratio_counts, scores, which=which, unit=unit, scale=scale, grid=_GRID,
                       pure=False)  # fmt: skip
    counts = np.sum(fetch(client, parts), axis=0).astype(np.float64)
    ranks = np.unique(np.round(np.linspace(1, total, min(total, RANKS_KEPT))).astype(np.int64))
    i = np.clip(np.searchsorted(counts, ranks, side="left"), 1, len(edges) - 1)
    below, inside = counts[i - 1], np.maximum(counts[i] - counts[i - 1], 1.0)
    values = edges[i - 1] + (edges[i] - edges[i - 1]) * np.clip((ranks - below) / inside, 0, 1)
    return Ratios(values, ranks, total, scale, unit=unit)
