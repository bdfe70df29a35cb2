"""The executor: network fits as jobs, run in this process or by the trainer of the context.

A job holds everything one network's fit needs (its parameters, its data, its budget) and
can cut itself into shards, one per rank of a data-parallel fit. Each model builds its own
jobs (:class:`tsrnn.estimator.WindowsJob` for the regressor's epochs,
:class:`tsrnn._forecast.jobs.PanelJob` for the forecaster's networks) and hands them to
:func:`fit_jobs`, which runs them one after another here, or, inside
:func:`tsrnn.parallel.train_on_dask`, on the Dask cluster it names. This module imports no
model and no Dask: the estimators stay free of it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any, Protocol

from .checkpoint import Checkpoint
from .loop import Sync

__all__ = ["Job", "Trainer", "current_trainer", "fit_jobs", "using"]


class Job(Protocol):
    """One network's fit. ``data`` is what travels to the workers (scattered once)."""

    data: Any

    @property
    def size(self) -> int:
        """Units a shard can take (series, or rows)."""

    @property
    def device(self) -> str:
        """The network's ``device`` parameter ("auto", "cpu", "cuda"...), resolved by the
        process that trains it."""

    def shard(self, rank: int, world: int) -> Job:
        """This rank's part: its data, its share of the batch, its own sampling seed."""

    def fit(
        self,
        sync: Sync | None = None,
        rank: int = 0,
        quiet: bool = False,
        resume: Checkpoint | None = None,
    ) -> Any:
        """Train and return the fitted model (no progress bar on ranks > 0 or if quiet);
        ``resume``: go on from the checkpoint of a data-parallel fit that lost a rank."""


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
