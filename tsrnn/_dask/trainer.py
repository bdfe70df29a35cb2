"""Training on a Dask cluster: a fit's jobs as tasks, and the ranks of a data-parallel fit.

:class:`DaskTrainer` is the trainer of :func:`tsrnn.parallel.train_on_dask`: networks side by
side (one task each, on any worker), or each network data-parallel over ``ranks`` workers.
The ranks of a data-parallel fit, here and on a dataset (:mod:`tsrnn._dataset.train`), are
launched one way: :func:`training_workers` chooses the workers (those with a GPU when the
networks want one), :func:`ranks_lock` makes two such fits on one cluster take turns, and
:func:`tsrnn._dask.elastic.train_groups` runs each network's ranks as a group that is formed
again, from a checkpoint, when a worker is lost. Side by side, :func:`wait_for` waits for the
networks' tasks (Dask runs a task lost with its worker again) and fails when no worker is
left. :mod:`tsrnn.parallel` says what a user gets from it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import CancelledError
from functools import partial
from typing import Any

import distributed
from distributed import Client, Future

from .._train.executor import Job
from .._train.progress import Progress
from ..errors import ClusterError, ParameterError
from .connect import hold, wants_cuda
from .elastic import POLL_S, Group, Rank, raise_failure, train_groups
from .worker import warm_worker, worker_facts

__all__ = ["DaskTrainer", "ranks_lock", "training_workers", "wait_for"]

_LOCK = "tsrnn-data-parallel"  # one data-parallel fit at a time per cluster


class DaskTrainer:
    """Fit jobs (one per network) on the workers of ``client``; see :mod:`tsrnn.parallel`.

    Parameters
    ----------
    client : distributed.Client
    ranks : int or None
    timeout : float
    verbose : int
    facts : dict or None
        Worker address -> :func:`tsrnn._dask.connect.worker_facts`, as
        :func:`tsrnn._dask.connect.connect` gathered them; workers that join later are asked
        when a fit needs them.
    """

    def __init__(
        self,
        client: Client,
        *,
        ranks: int | None = None,
        timeout: float = 60.0,
        verbose: int = 0,
        facts: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.client, self.ranks, self.timeout, self.verbose = client, ranks, timeout, verbose
        self.facts = dict(facts or {})
        # Imports on every worker now, while the client reads and prepares its data.
        distributed.fire_and_forget(
            [
                client.submit(warm_worker, workers=[w], key=f"tsrnn-warm-{uuid.uuid4().hex[:8]}")
                for w in client.scheduler_info(n_workers=-1)["workers"]
            ]
        )

    def fit(self, jobs: list[Job]) -> list[Any]:
        """The fitted models of ``jobs``, in order."""
        if not jobs:
            return []
        workers = training_workers(
            self.client, [job.device for job in jobs], facts=self.facts, timeout=self.timeout
        )
        ranks = self.ranks or max(1, len(workers) // len(jobs))
        if ranks > len(workers):
            raise ParameterError(
                f"ranks={ranks} asks for more workers than the cluster has ({len(workers)}): "
                "start more workers or lower ranks."
            )
        ranks = min(ranks, min(job.size for job in jobs))  # every rank needs a shard
        token = uuid.uuid4().hex[:8]
        with Progress(self.verbose, len(jobs), "training on Dask", "networks") as bar:
            if ranks == 1:
                return self._side_by_side(jobs, token, bar)
            with ranks_lock(self.client):
                return self._data_parallel(jobs, ranks, workers, token, bar)

    # ------------------------------------------------------------------ internals

    def _side_by_side(self, jobs: list[Job], token: str, bar: Progress) -> list[Any]:
        client = self.client
        shared: dict[int, Future] = {}  # one copy per data set (a forecaster's two panels)
        # With several tasks, every worker gets the data: the scheduler would otherwise queue
        # them on the worker that holds it. One task needs it on one worker only.
        broadcast = len(jobs) > 1
        futures = []
        for i, job in enumerate(jobs):
            if id(job.data) not in shared:
                shared[id(job.data)] = hold(
                    client, job.data, everywhere=broadcast, timeout=self.timeout
                )
            light = dataclasses.replace(job, data=None)
            futures.append(
                client.submit(
                    _fit_task, light, shared[id(job.data)], key=f"tsrnn-net-{token}-{i}", pure=False
                )
            )
        return wait_for(self.client, futures, bar, timeout=self.timeout)

    def _data_parallel(
        self, jobs: list[Job], ranks: int, workers: list[str], token: str, bar: Progress
    ) -> list[Any]:
        client = self.client
        devices = [job.device for job in jobs]

        def usable() -> list[str]:
            return training_workers(client, devices, facts=self.facts, timeout=self.timeout)

        models: list[Any] = []
        while len(models) < len(jobs):
            live = usable() if models else workers  # a worker may have left in a wave
            size = min(ranks, len(live))
            start = len(models)
            # Disjoint groups of workers, each training one network.
            wave = [
                Group(
                    name=f"tsrnn-ddp-{token}-{start + g}",
                    layout=partial(_shards, client, job),
                    size=size,
                    workers=live[g * size : (g + 1) * size],
                )
                for g, job in enumerate(jobs[start : start + len(live) // size])
            ]
            models.extend(train_groups(client, wave, usable=usable, timeout=self.timeout, bar=bar))
        return models


def _shards(client: Client, job: Job, workers: list[str]) -> list[Rank]:
    """The ranks of ``job`` over ``workers``: a shard each, sent to its worker."""
    ranks = []
    for rank, worker in enumerate(workers):
        shard = job.shard(rank, len(workers))
        [data] = client.scatter([shard.data], workers=[worker], hash=False)
        ranks.append(Rank(worker, dataclasses.replace(shard, data=None), data))
    return ranks


@contextlib.contextmanager
def ranks_lock(client: Client) -> Iterator[None]:
    """One data-parallel fit at a time per cluster: two would each hold half the workers and
    wait for the other half."""
    with distributed.Lock(_LOCK, scheduler_rpc=client.scheduler, loop=client.loop):
        yield


def training_workers(
    client: Client,
    devices: list[str],
    *,
    facts: dict[str, dict[str, Any]] | None = None,
    timeout: float = 60.0,
) -> list[str]:
    """The workers a fit may use, sorted: those with CUDA when its networks want a GPU and some
    worker has one (ranks of one group must share a backend), else all of them.

    Parameters
    ----------
    client : Client
    devices : list of str
        The ``device`` parameter of each network.
    facts : dict or None
        Worker address -> :func:`tsrnn._dask.worker.worker_facts`, updated with those of
        workers not in it when a network wants a GPU.
    timeout : float
        Seconds to wait for a first worker when there is none (a nanny restarting them).

    Raises
    ------
    ClusterError
        If the cluster has no worker.
    """
    info = client.scheduler_info(n_workers=-1)["workers"]
    if not info:
        with contextlib.suppress(TimeoutError):
            client.wait_for_workers(1, timeout=timeout)
        info = client.scheduler_info(n_workers=-1)["workers"]
    if not info:
        raise ClusterError(
            f"The Dask cluster at {client.scheduler.address} has no workers: start some "
            f"with `dask worker {client.scheduler.address}`."
        )
    workers = sorted(info)
    if any(wants_cuda(device, gpu_here=True) for device in devices):
        facts = {} if facts is None else facts
        unknown = [w for w in workers if w not in facts]
        if unknown:
            facts.update(client.run(worker_facts, workers=unknown))
        with_gpu = [w for w in workers if facts[w]["cuda"]]
        if with_gpu:
            return with_gpu
    return workers


def wait_for(
    client: Client, futures: list[Future], bar: Progress, *, timeout: float = 60.0
) -> list[Any]:
    """The results of the networks' tasks, in order; fail fast on an error, or when the
    cluster has had no worker for ``timeout`` seconds (Dask runs again a task lost with its
    worker, on any other; with none left, the tasks would wait forever).

    On any failure every future is cancelled.
    """
    pending = set(futures)
    alone_since = None
    try:
        while pending:
            with contextlib.suppress(distributed.TimeoutError, CancelledError):
                distributed.wait(list(pending), timeout=POLL_S, return_when="FIRST_COMPLETED")
            for future in [f for f in pending if f.done()]:
                pending.discard(future)
                if future.status != "finished":
                    raise_failure(future)
                bar.advance()
            if pending and not client.scheduler_info(n_workers=-1)["workers"]:
                alone_since = alone_since or time.monotonic()
                if time.monotonic() - alone_since > timeout:
                    raise ClusterError(
                        f"Every worker of the cluster at {client.scheduler.address} left "
                        f"while networks were training, and none came back within "
                        f"{timeout:.0f} s: the fit was stopped. Start workers and fit again."
                    )
            else:
                alone_since = None
    except BaseException:
        client.cancel(futures, force=True)
        raise
    return client.gather(futures)


def _fit_task(job: Job, data: Any) -> Any:
    """One network trained in one worker (a task of any worker)."""
    from .worker import prepare_worker_thread

    prepare_worker_thread()
    return dataclasses.replace(job, data=data).fit(quiet=True)
