"""Training on a dataset: one rank per worker, every network of the ensemble in lockstep.

:class:`RankJob` runs in the workers: it encodes the series of its rank's buckets (final and
calibration parts, bucket by bucket, into Panels in memory or on the worker's disk:
:mod:`tsrnn._dataset.panels`) and trains every network of the ensemble in lockstep, drawing
its share of each batch from its own series; its loss is weighted by ``ranks * its series / all
series``, so that the gradient averaged over the ranks is the one of a batch drawn uniformly
over every series, as one process draws it. :func:`train_ranks` (the client) assigns the
buckets to the ranks (balanced by windows, each kept on the worker that holds it where the
balance allows) and launches them as the trainer of :mod:`tsrnn._dask.trainer` launches any
data-parallel fit (the same workers' choice and lock, the same group formed again after a
lost worker: :mod:`tsrnn._dask.elastic`). Rank 0 sends back the networks.

After a lost worker the buckets are assigned again over the live workers (those the lost one
held are rebuilt by Dask from their lineage, where a rank needs them), every rank's loss
weight is that of its new share in the new world, and each sampler draws the remaining steps
from a seed of its network, its rank and the step resumed from.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field

import numpy as np
import torch
from distributed import Client

from .._dask.elastic import Group, Rank, train_groups, wait_for_data
from .._dask.trainer import ranks_lock, training_workers
from .._forecast.covariates import Covariates
from .._forecast.jobs import sampler
from .._forecast.plan import Plan, n_channels
from .._forecast.steps import fit_steps
from .._train.checkpoint import Checkpoint, sampling_seed
from .._train.progress import Progress
from ..errors import ParameterError
from ..estimator import RNNRegressor
from .buckets import Bucket
from .panels import rank_panels
from .read import SeriesDataset

__all__ = ["RankJob", "RankSpec", "train_ranks"]


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

    A job of :func:`tsrnn._dask.rank.run_rank` (``device``, ``fit``); ``data`` holds its buckets.
    """

    spec: RankSpec
    data: list[Bucket] | None = None

    @property
    def device(self) -> str:
        return str(self.spec.plan.params["device"])

    @property
    def size(self) -> int:
        return sum(bucket.n_series for bucket in self.data or [])

    def fit(
        self, sync=None, rank: int = 0, quiet: bool = True, resume: Checkpoint | None = None
    ) -> tuple[list, list]:
        """Train every network on this rank's series; the final and calibration networks
        (``resume``: from the checkpoint of a fit that lost a rank, its remaining steps)."""
        spec, plan = self.spec, self.spec.plan
        start = resume.step if resume is not None else 0
        world = 1 if sync is None else sync.world
        covariates = spec.covariates or Covariates([], np.zeros(0), np.zeros(0))
        size = spec.size if spec.calibration_seeds else None
        panels = rank_panels(self.data or [], plan, covariates, size)
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
                    seeded = sampling_seed(seed + rank, start)
                    sample = sampler(panel, network, plan.out, plan.normalize, batch, seeded)
                    samples.append(panels.paged(sample))
                weights.append(world * share)

        add(panels.final, spec.final_seeds, panels.n_series / spec.n_series)
        if spec.calibration_seeds:
            add(panels.held, spec.calibration_seeds, panels.n_kept / spec.n_kept)
        fit_steps(
            models,
            samples,
            n_steps=steps,
            n_channels=channels,
            n_outputs=plan.out,
            steps=plan.steps,
            weights=weights,
            sync=sync,
            quiet=True,
            resume=resume,
        )
        k = len(spec.final_seeds)
        return models[:k], models[k:]


def _idle(batch: int, n_steps: int, n_channels: int, out: int):
    """A sampler of zero batches with zero weights: a rank with no series in a group."""
    inputs, targets = torch.zeros(batch, n_steps, n_channels), torch.zeros(batch, out)

    def sample(step: int):
        return inputs, targets, torch.zeros(batch, out)

    return sample


def train_ranks(
    client: Client,
    dataset: SeriesDataset,
    spec: RankSpec,
    *,
    ranks: int | None = None,
    timeout: float = 60.0,
) -> tuple[list[RNNRegressor], list[RNNRegressor]]:
    """Train every network of ``spec`` with one rank per worker, on the buckets of ``dataset``.

    Parameters
    ----------
    client : Client
    dataset : SeriesDataset
    spec : RankSpec
    ranks : int or None, default=None
        Ranks (one per worker); None: every worker (those with a GPU when the networks want
        one and some worker has one).
    timeout : float, default=60.0
        Seconds allowed to form the ranks' group and for each of its collectives, and for a
        lost worker's nanny to bring it back.

    Returns
    -------
    final, calibration : list of RNNRegressor
        The final networks and their calibration twins (empty without intervals).

    Warns
    -----
    ClusterWarning
        When a worker was lost and training resumed from a checkpoint.

    Raises
    ------
    ParameterError
        If ``ranks`` asks for more workers than the cluster has.
    ClusterError
        If the cluster has no worker, or every worker left during training.
    """
    devices = [spec.plan.params["device"]]
    workers = training_workers(client, devices, timeout=timeout)
    if ranks is not None and ranks > len(workers):
        raise ParameterError(
            f"ranks={ranks} asks for more workers than the cluster has ({len(workers)}): "
            "start more workers or lower ranks."
        )
    job = RankJob(spec)

    def layout(on: list[str]) -> list[Rank]:
        # after a lost worker, its buckets are rebuilt first (a million series: a minute and
        # more of reading and shuffling), not within the new group's rendezvous timeout
        wait_for_data(client, dataset.buckets, timeout=timeout)
        assigned = _assign(client, dataset, on)
        return [
            Rank(worker, job, [dataset.buckets[b] for b in assigned[rank]])
            for rank, worker in enumerate(on)
        ]

    def usable() -> list[str]:
        return training_workers(client, devices, timeout=timeout)

    size = ranks or len(workers)
    group = Group(f"tsrnn-data-{uuid.uuid4().hex[:8]}", layout, size, workers[:size])
    with ranks_lock(client), Progress(0, 1, "", "") as bar:
        [result] = train_groups(client, [group], usable=usable, timeout=timeout, bar=bar)
    return result


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
