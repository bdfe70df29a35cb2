"""Fit a forecaster on a dataset of a Dask cluster: the networks train where the data live.

The client plans the fit from the buckets' summaries (:func:`tsrnn._forecast.plan.plan_for`,
the same sizes a fit in one process resolves), then:

1. **training**: one rank per worker (:class:`~tsrnn._dask.buckets.RankJob`), pinned to it,
   holding the buckets assigned to it (balanced by windows, each kept on the worker that
   holds it where the balance allows). Every rank trains every network of the ensemble (the
   final ones and their calibration twins) in lockstep, the same number of steps, its loss
   weighted by its share of the series, with one all-reduce of all gradients a step. Rank 0
   sends back the networks. A cluster-wide lock makes two such fits take turns.
2. **calibration**: each bucket scores its own held-out windows with the calibration networks
   and keeps the scores; the client receives per-step sums (to choose the combination with
   Theta and the step scale) and finds the conformal quantile of the pooled ratios exactly,
   by counting ratios below candidate bounds bucket by bucket until a few remain.

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

from .._forecast.calibration import Calibration, choose, no_window_error, windows_per_series
from .._forecast.conformal import conformal_level, order_statistic, step_scale
from .._forecast.covariates import Covariates
from .._forecast.jobs import network_seeds
from .._forecast.plan import plan_for
from .._forecast.predict import Fitted
from .._train.progress import Progress
from ..errors import ClusterError, ParameterError
from ..forecaster import RNNForecaster
from .buckets import RankJob, RankSpec, count_kept, ratio_counts, ratios_in, score_shard, score_sums
from .connect import fetch, hold
from .dataset import SeriesDataset
from .trainer import rank_task, wait_for
from .worker import prepare_worker_thread

__all__ = ["fit_dataset"]

_LOCK = "tsrnn-data-parallel"  # one data-parallel fit at a time per cluster (as the trainer's)
#: Ratios gathered at most to pick the quantile among: bounds are narrowed until fewer remain.
_FEW = 20_000
_BINS = 256


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
        Unfitted; its parameters are used as in ``fit``.
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
        If no series is long enough for a calibration window.
    ClusterError
        If a worker of the training leaves the cluster: the fit stops with one message.
    """
    if dataset.columns.exog:
        raise ParameterError(
            "Exogenous columns are not read from a Dask dataset yet: fit without them, or "
            "read the file in this process (tsrnn.io.read_series and RNNForecaster.fit)."
        )
    model._check_params()
    client = dataset.client
    plan = plan_for(model.get_params(), dataset.freq, dataset.longest, dataset.n_windows)
    covariates = Covariates([], np.zeros(0), np.zeros(0))
    seeds = check_random_state(model.random_state).randint(np.iinfo(np.int32).max, size=2)
    spec = RankSpec(plan, network_seeds(int(seeds[0]), len(plan.networks)),
                    n_series=dataset.n_series, covariates=covariates)  # fmt: skip
    if model.interval is not None:
        spec.size = windows_per_series(model.calibration_size, dataset.n_series, dataset.longest)
        kept = client.map(count_kept, dataset.shards, horizon=plan.horizon, size=spec.size,
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
            fitted = Fitted(plan, calibration, np.zeros(plan.horizon), "none", dataset.freq,
                            covariates)  # fmt: skip
            found = _calibrate(client, dataset, fitted, spec.size, model.combine, model.interval)
        bar.advance()
    model._set_plan(plan)
    model.freq_ = dataset.freq
    model.multi_ = True
    model.index_names_ = [dataset.columns.id, dataset.columns.time]
    model.name_ = dataset.columns.target
    model.feature_names_in_ = np.asarray([], dtype=object)
    model.x_loc_, model.x_scale_ = covariates.loc, covariates.scale
    model.quantiles_, model.coverage_calibration_ = found.quantiles, found.coverage
    model.n_calibration_, model.calibration_errors_ = found.n, found.errors
    model.combine_ = found.combine
    model.models_ = final
    for name in ("series_ids_", "last_index_", "scaling_", "history_y_", "history_observed_",
                 "history_X_", "theta_"):  # fmt: skip
        setattr(model, name, None)
    model.timings_ = {
        "training": trained - start,
        "calibration": time.perf_counter() - trained,
    }
    return model


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
        shards = [dataset.shards[b] for b in assigned[rank]]
        if world == 1:
            future = client.submit(_single, job, shards, key=f"{name}-rank0", workers=[worker],
                                   allow_other_workers=True, pure=False)  # fmt: skip
        else:
            future = client.submit(
                rank_task, job, shards, rank, world, name, timeout, key=f"{name}-rank{rank}",
                workers=[worker], allow_other_workers=False, pure=False,
            )  # fmt: skip
            pinned[future] = (worker, rank, world)
        futures.append(future)
    lock = distributed.Lock(_LOCK, scheduler_rpc=client.scheduler, loop=client.loop)
    with lock, Progress(0, world, "", "") as bar:
        [result] = wait_for(client, futures, futures[:1], pinned, bar)
    return result


def _single(job: RankJob, shards: list) -> tuple[list, list]:
    """The training on one worker (one rank: no process group)."""
    import dataclasses

    prepare_worker_thread()
    return dataclasses.replace(job, data=shards).fit()


def _assign(client: Client, dataset: SeriesDataset, workers: list[str]) -> list[list[int]]:
    """Buckets of each rank, balanced by windows; a bucket stays on the worker that holds it
    unless that worker already has more than its share (longest first, then the least
    loaded rank)."""
    windows = [s["n_windows"] for s in dataset.summaries]
    where = client.who_has(dataset.shards)
    home = {w: r for r, w in enumerate(workers)}
    share = sum(windows) / len(workers)
    loads = [0] * len(workers)
    assigned: list[list[int]] = [[] for _ in workers]
    for b in sorted(range(len(windows)), key=lambda b: -windows[b]):
        holders = [home[w] for w in where.get(dataset.shards[b].key, ()) if w in home]
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
    """Score the held-out windows where they live; reduce to the conformal quantiles."""
    h = fitted.plan.horizon
    models = hold(client, fitted, everywhere=True)
    scores = client.map(score_shard, dataset.shards, fitted=models, size=size, combine=combine,
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
    scale = step_scale((theta if which == "theta" else alone) / n)
    total = n * h
    level = conformal_level(total, interval)
    ratio = _kth(client, scores, which, scale, order_statistic(total, level), total)
    client.cancel(scores)
    return Calibration(ratio * scale, level, n, errors, chosen)


def _kth(
    client: Client, scores: list[Future], which: str, scale: np.ndarray, k: int, total: int
) -> float:
    """The ``k``-th smallest (from 0) of every bucket's ratios (``total`` in all), without
    gathering them: count the ratios at or below a grid of bounds in each bucket, narrow to the
    bin that holds rank ``k``, and once few ratios remain in it, gather those and pick."""
    lo, hi, below = -np.inf, np.inf, 0  # the answer is in (lo, hi]; `below` ratios are <= lo
    edges = np.concatenate([[0.0], np.geomspace(1e-6, 1e6, _BINS - 1)])

    def counted(edges: np.ndarray) -> np.ndarray:
        parts = client.map(ratio_counts, scores, which=which, scale=scale, edges=edges,
                           pure=False)  # fmt: skip
        return np.sum(fetch(client, parts), axis=0)

    while True:
        counts = counted(edges)
        i = int(np.searchsorted(counts, k + 1))  # the first bound with more than k below it
        if i > 0:
            lo, below = float(edges[i - 1]), int(counts[i - 1])
        if i < len(edges):
            hi = float(edges[i])
        inside = (int(counts[i]) if i < len(edges) else total) - below
        if not np.isfinite(lo):  # at or below 0, the smallest a ratio can be
            return 0.0
        if inside <= _FEW or not np.isfinite(hi):
            parts = client.map(ratios_in, scores, which=which, scale=scale, low=lo, high=hi,
                               pure=False)  # fmt: skip
            return float(np.sort(np.concatenate(fetch(client, parts)))[k - below])
        if np.nextafter(lo, hi) >= hi:  # no float left between: they all equal hi
            return hi
        edges = np.linspace(lo, hi, _BINS + 1)[1:]
