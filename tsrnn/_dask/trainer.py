"""The trainer of :func:`tsrnn.parallel.train_on_dask`: a fit's jobs as tasks of a Dask cluster.

Networks side by side (one task each, on any worker), or each network data-parallel over
``ranks`` workers (one task per rank, pinned, in a ``torch.distributed`` group:
:mod:`tsrnn._dask.rank`). :mod:`tsrnn.parallel` says what a user gets from it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from concurrent.futures import CancelledError
from typing import Any

import distributed
from distributed import Client, Future

from .._train.executor import Job
from .._train.progress import Progress
from ..errors import ClusterError, ParameterError, TsrnnError
from .connect import hold, wants_cuda
from .worker import warm_worker, worker_facts

__all__ = ["DaskTrainer", "rank_task", "wait_for"]

_LOCK = "tsrnn-data-parallel"  # one data-parallel fit at a time per cluster
_POLL_S = 2.0  # seconds between checks that the ranks' workers are alive


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
        workers = self._workers(jobs)
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
            lock = distributed.Lock(
                _LOCK, scheduler_rpc=self.client.scheduler, loop=self.client.loop
            )
            with lock:
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
                shared[id(job.data)] = hold(client, job.data, everywhere=broadcast)
            light = dataclasses.replace(job, data=None)
            futures.append(
                client.submit(
                    _fit_task, light, shared[id(job.data)], key=f"tsrnn-net-{token}-{i}", pure=False
                )
            )
        return wait_for(self.client, futures, futures, {}, bar)

    def _data_parallel(
        self, jobs: list[Job], ranks: int, workers: list[str], token: str, bar: Progress
    ) -> list[Any]:
        client = self.client
        groups = len(workers) // ranks  # disjoint groups of workers, each training one network
        models: list[Any] = []
        for start in range(0, len(jobs), groups):
            wave = jobs[start : start + groups]
            futures, firsts, pinned = [], [], {}
            for g, job in enumerate(wave):
                name = f"tsrnn-ddp-{token}-{start + g}"
                for rank in range(ranks):
                    worker = workers[g * ranks + rank]
                    shard = job.shard(rank, ranks)
                    [data] = client.scatter([shard.data], workers=[worker], hash=False)
                    future = client.submit(
                        rank_task,
                        dataclasses.replace(shard, data=None),
                        data,
                        rank,
                        ranks,
                        name,
                        self.timeout,
                        key=f"{name}-rank{rank}",
                        workers=[worker],
                        allow_other_workers=False,
                        pure=False,
                    )
                    futures.append(future)
                    pinned[future] = (worker, rank, ranks)
                    if rank == 0:
                        firsts.append(future)
            models.extend(wait_for(client, futures, firsts, pinned, bar))
        return models

    def _workers(self, jobs: list[Job]) -> list[str]:
        """The workers a fit may use: those with CUDA when its networks want a GPU and some
        worker has one (ranks of one group must share a backend), else all of them."""
        client = self.client
        info = client.scheduler_info(n_workers=-1)["workers"]
        if not info:  # e.g. a nanny restarting the only workers: wait for one, up to timeout
            with contextlib.suppress(TimeoutError):
                client.wait_for_workers(1, timeout=self.timeout)
            info = client.scheduler_info(n_workers=-1)["workers"]
        if not info:
            raise ClusterError(
                f"The Dask cluster at {client.scheduler.address} has no workers: start some "
                f"with `dask worker {client.scheduler.address}`."
            )
        workers = sorted(info)
        if any(wants_cuda(job.device, gpu_here=True) for job in jobs):
            unknown = [w for w in workers if w not in self.facts]
            if unknown:
                self.facts.update(client.run(worker_facts, workers=unknown))
            with_gpu = [w for w in workers if self.facts[w]["cuda"]]
            if with_gpu:
                return with_gpu
        return workers


def wait_for(
    client: Client,
    futures: list[Future],
    results: list[Future],
    pinned: dict[Future, tuple[str, int, int]],
    bar: Progress,
) -> list[Any]:
    """Wait for every future and gather ``results``; fail fast on an error, or on a worker of a
    pinned task (a rank: worker, rank, world) that left the cluster.

    On any failure every future is cancelled, so no rank waits on a peer that will not come.
    """
    pending = set(futures)
    try:
        while pending:
            with contextlib.suppress(distributed.TimeoutError, CancelledError):
                distributed.wait(list(pending), timeout=_POLL_S, return_when="FIRST_COMPLETED")
            done = [f for f in pending if f.done()]
            if pinned and (len(done) < len(pending) or any(f.status != "finished" for f in done)):
                _check_alive(client, pinned, pending)  # a lost rank explains the others' errors
            for future in done:
                pending.discard(future)
                if future.status != "finished":
                    _raise_failure(future)
                if future in results:
                    bar.advance()
    except BaseException:
        client.cancel(futures, force=True)
        raise
    return client.gather(results)


def _check_alive(client: Client, pinned: dict[Future, tuple[str, int, int]], pending: set) -> None:
    alive = set(client.scheduler_info(n_workers=-1)["workers"])
    for future in pending:
        worker, rank, world = pinned[future]
        if worker not in alive:
            raise ClusterError(
                f"Worker {worker} (rank {rank} of {world}) left the cluster during "
                "data-parallel training, and the fit was stopped: fit again once the "
                "cluster is whole (a nanny restarts a killed worker), or with fewer ranks."
            )


def _fit_task(job: Job, data: Any) -> Any:
    """One network trained in one worker (a task of any worker)."""
    from .worker import prepare_worker_thread

    prepare_worker_thread()
    return dataclasses.replace(job, data=data).fit(quiet=True)


def rank_task(job: Job, data: Any, rank: int, world: int, name: str, timeout: float) -> Any:
    """One rank of a data-parallel fit, pinned to its worker."""
    from .rank import run_rank

    return run_rank(dataclasses.replace(job, data=data), rank, world, name, timeout)


def _raise_failure(future: Future) -> None:
    if future.status == "cancelled":
        raise ClusterError(
            "A network's training task was cancelled (the cluster is closing?): fit again."
        )
    exc = future.exception()
    if isinstance(exc, TsrnnError):
        raise exc
    if isinstance(exc, distributed.scheduler.KilledWorker):
        raise ClusterError(
            "The workers training a network died repeatedly (out of memory, or a crash in "
            "native code?): give the workers more memory, or train in this process."
        ) from None
    future.result()  # any other exception: the worker's own, with its traceback
