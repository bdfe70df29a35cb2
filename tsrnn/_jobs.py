"""Network fits as jobs, and where they run: in this process, or on a cluster.

A job holds everything one network's fit needs (its parameters, its data, its budget) and
can cut itself into shards, one per rank of a data-parallel fit. The estimators build jobs
and hand them to :func:`fit_jobs`, which runs them one after another here, or, inside
:func:`tsrnn.parallel.train_on_dask`, on the Dask cluster it names. This module imports no
Dask: the estimators stay free of it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any, Protocol

import torch

from ._torch import resolve_device
from ._train import Sync

__all__ = ["Job", "PanelJob", "WindowsJob", "current_trainer", "fit_jobs", "using"]


class Job(Protocol):
    """One network's fit. ``data`` is what travels to the workers (scattered once)."""

    data: Any

    @property
    def size(self) -> int:
        """Units a shard can take (series, or rows)."""

    def device(self) -> torch.device:
        """Where the network trains, resolved in the process that trains it."""

    def shard(self, rank: int, world: int) -> Job:
        """This rank's part: its data, its share of the batch, its own sampling seed."""

    def fit(self, sync: Sync | None = None, rank: int = 0, quiet: bool = False) -> Any:
        """Train and return the fitted model (no progress bar on ranks > 0 or if quiet)."""


class Trainer(Protocol):
    def fit(self, jobs: list[Job]) -> list[Any]: ...


_TRAINER: ContextVar[Trainer | None] = ContextVar("tsrnn_trainer", default=None)


def current_trainer() -> Trainer | None:
    """The trainer set by :func:`using` in this context, or None (train in this process)."""
    return _TRAINER.get()


@contextlib.contextmanager
def using(trainer: Trainer | None) -> Iterator[None]:
    """Run the estimators' fits of the block with ``trainer``."""
    token = _TRAINER.set(trainer)
    try:
        yield
    finally:
        _TRAINER.reset(token)


def fit_jobs(jobs: list[Job]) -> list[Any]:
    """Fit every job, here one after another, or with the trainer of the context.

    Parameters
    ----------
    jobs : list of Job

    Returns
    -------
    list
        The fitted models, in the order of ``jobs``.
    """
    trainer = current_trainer()
    if trainer is None:
        return [job.fit() for job in jobs]
    return trainer.fit(jobs)


@dataclasses.dataclass
class PanelJob:
    """One network of :class:`tsrnn.RNNForecaster`: a step budget over windows of a Panel.

    Each step draws ``batch`` windows, (series, origin) pairs, uniformly over the series and
    then over the origins of each, from ``torch.Generator().manual_seed(seed)``.
    """

    params: dict  # RNNRegressor parameters, random_state included
    data: Any  # tsrnn._encoding.Panel
    lookback: int
    out: int
    normalize: str
    patch: int
    batch: int
    n_steps: int
    n_channels: int
    steps: int
    seed: int
    scale_channel: bool = False

    @property
    def size(self) -> int:
        return self.data.n_series

    def device(self) -> torch.device:
        return resolve_device(self.params["device"])

    def shard(self, rank: int, world: int) -> PanelJob:
        """Every ``world``-th series from ``rank`` on; the batch split between the ranks.

        Every rank keeps ``params`` (the same ``random_state``: the same initial weights).
        """
        rows = torch.arange(rank, self.size, world)
        return dataclasses.replace(
            self,
            data=self.data.take(rows),
            batch=math.ceil(self.batch / world),
            seed=self.seed + rank,
        )

    def fit(self, sync: Sync | None = None, rank: int = 0, quiet: bool = False) -> Any:
        from .estimator import RNNRegressor

        panel, batch = self.data, self.batch
        generator = torch.Generator().manual_seed(self.seed)
        lengths = panel.lengths

        def sample(step: int):
            series = torch.randint(panel.n_series, (batch,), generator=generator)
            high = lengths[series] - 1  # origins 1 .. n_k - 1: at least one target observed
            origins = 1 + (torch.rand(batch, generator=generator) * high).long().clamp(max=high - 1)
            return panel.windows(
                series, origins, self.lookback, self.out, self.normalize, self.patch,
                self.scale_channel,
            )  # fmt: skip

        params = {**self.params, "verbose": 0} if rank or quiet else self.params
        return RNNRegressor(**params)._fit_steps(
            sample,
            n_steps=self.n_steps,
            n_channels=self.n_channels,
            n_outputs=self.out,
            steps=self.steps,
            sync=sync,
        )


@dataclasses.dataclass
class WindowsJob:
    """Epochs of :class:`tsrnn.RNNRegressor` over windows ``X`` and targets ``y``.

    ``model`` is the regressor with its network built (fresh or warm); ``data`` holds
    ``(X, y, valid)`` as CPU tensors, ``valid`` being the time-ordered tail or None.
    """

    model: Any
    data: tuple
    epochs: int
    batch: int

    @property
    def size(self) -> int:
        return len(self.data[0])

    def device(self) -> torch.device:
        return resolve_device(self.model.device)

    def shard(self, rank: int, world: int) -> WindowsJob:
        """Rows ``rank, rank + world, ...``, as many on every rank (a few repeat), so that all
        ranks run the same number of batches per epoch; the batch split between them."""
        X, y, valid = self.data
        per = math.ceil(len(X) / world)
        rows = (rank + world * torch.arange(per)) % len(X)
        return dataclasses.replace(
            self, data=(X[rows], y[rows], valid), batch=math.ceil(self.batch / world)
        )

    def fit(self, sync: Sync | None = None, rank: int = 0, quiet: bool = False) -> Any:
        model = self.model
        model._move_to(self.device())
        verbose = model.verbose
        if rank or quiet:
            model.verbose = 0
        X, y, valid = self.data
        try:
            model._run_epochs(X, y, valid, self.epochs, self.batch, seed_offset=rank, sync=sync)
        finally:
            model.verbose = verbose
        return model
