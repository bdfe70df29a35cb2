"""Training on a Dask cluster: a fit's jobs as tasks, and the ranks of a data-parallel fit.

:class:`DaskTrainer` is the trainer of :func:`tsrnn.parallel.train_on_dask`: networks side by
side (one task each, on any worker), or each network data-parallel over ``ranks`` workers.
The ranks of a data-parallel fit, here and on a dataset (:mod:`tsrnn._dataset.train`), are
launched one way: :func:`training_workers` chooses the workers (those with a GPU when the
networks want one), :func:`launch_ranks` pins one task per rank to its worker, in a
``torch.distributed`` group (:mod:`tsrnn._dask.rank`), :func:`ranks_lock` makes two such fits
on one cluster take turns, and :func:`wait_for` fails fast when a rank's worker is lost.
:mod:`tsrnn.parallel` says what a user gets from it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Iterator
from concurrent.futures import CancelledError
from typing import Any, NamedTuple

import distributed
from distributed import Client, Future

from .._train.executor import Job
from .._train.progress import Progress
from ..errors import ClusterError, ParameterError, TsrnnError
from .connect import hold, wants_cuda
from .worker import warm_worker, worker_facts

__all__ = [
    "DaskTrainer",
    "Rank",
    "launch_ranks",
    "rank_task",
    "ranks_lock",
    "training_workers",
    "wait_for",
]

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
                members = []
                for rank in range(ranks):
                    worker = workers[g * ranks + rank]
                    shard = job.shard(rank, ranks)
                    [data] = client.scatter([shard.data], workers=[worker], hash=False)
                    members.append(Rank(worker, dataclasses.replace(shard, data=None), data))
                launched, where = launch_ranks(
                    client, members, name=f"tsrnn-ddp-{token}-{start + g}", timeout=self.timeout
                )
                futures += launched
                firsts.append(launched[0])
                pinned.update(where)
            models.extend(wait_for(client, futures, firsts, pinned, bar))
        return models


class Rank(NamedTuple):
    """One rank of a data-parallel fit: its worker, its job (without data) and its data."""

    worker: str
    job: Any
    data: Any


def launch_ranks(
    client: Client, ranks: list[Rank], *, name: str, timeout: float
) -> tuple[list[Future], dict[Future, tuple[str, int, int]]]:
    """Submit one task per rank, pinned to its worker, forming the process group ``name``.

    One rank trains without a group, on its worker or, if it is lost, on another.

    Returns
    -------
    futures : list of Future
        One per rank, in rank order; rank 0's result is the fitted model(s).
    pinned : dict
        Future -> (worker, rank, world), for :func:`wait_for` to tell a lost rank.
    """
    world = len(ranks)
    if world == 1:
        [(worker, job, data)] = ranks
        future = client.submit(
            _fit_task,
            job,
            data,
            key=f"{name}-rank0",
            workers=[worker],
            allow_other_workers=True,
            pure=False,
        )
        return [future], {}
    futures, pinned = [], {}
    for rank, (worker, job, data) in enumerate(ranks):
        future = client.submit(
            rank_task,
            job,
            data,
            rank,
            world,
            name,
            timeout,
            key=f"{name}-rank{rank}",
            workers=[worker],
            allow_other_workers=False,
            pure=False,
        )
        futures.append(future)
        pinned[future] = (worker, rank, world)
    return futures, pinned


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
