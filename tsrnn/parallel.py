"""Train tsrnn's networks on a Dask cluster: side by side, or one network data-parallel.

The estimators know nothing of Dask. Inside :func:`train_on_dask`, each fit hands its networks
to the cluster instead of training them one after another in this process:

* **Networks side by side.** The eight networks of a default :class:`~tsrnn.RNNForecaster` fit
  (four seeds, each with its calibration twin) are independent: each becomes one task, on any
  worker. A worker lost mid-fit costs only its task, which Dask runs again elsewhere. The
  result is the same as in this process (same seeds, same CPU: same weights).
* **One network, data-parallel.** When there are more workers than networks (e.g. one
  :class:`~tsrnn.RNNRegressor`), each network is trained by ``ranks`` workers at once, the
  LightGBM-on-Dask way: one task per rank, pinned to its worker, a ``torch.distributed``
  process group over them (gloo on CPU workers, NCCL on GPU workers) on a port each group's
  rank 0 is given by its own operating system. Every rank reads only its shard of the series
  (or rows), draws its share of each batch, and runs the same number of steps; gradients are
  averaged every step, so each step is the one a single process would take on the union of the
  ranks' batches (up to the order of floating-point sums). Only rank 0's copy comes back, as a
  CPU model.

Faults: every collective has a ``timeout``; a worker that leaves the cluster during a
data-parallel fit ends the fit with a :class:`~tsrnn.errors.ClusterError` within seconds
(the other ranks see their peer close), never a hang. Dask has no gang scheduling, so two
data-parallel fits on one cluster could each hold half the workers and wait for the other half
forever: a cluster-wide ``distributed.Lock`` makes them take turns.

This module imports distributed; ``import tsrnn`` does not.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Iterator
from concurrent.futures import CancelledError
from typing import Any

import distributed
from distributed import Client, Future

from ._dask.connect import connect, wants_cuda, warm_worker, worker_facts
from ._train.jobs import Job, using
from ._train.progress import Progress
from .errors import ClusterError, ParameterError, TsrnnError, check_positive_int

__all__ = ["DaskTrainer", "train_on_dask"]

_LOCK = "tsrnn-data-parallel"  # one data-parallel fit at a time per cluster
_POLL_S = 2.0  # seconds between checks that the ranks' workers are alive


@contextlib.contextmanager
def train_on_dask(
    client: Client | str | None = None,
    *,
    n_workers: int | None = None,
    ranks: int | None = None,
    timeout: float = 60.0,
    verbose: int = 0,
) -> Iterator[Client]:
    """Fit the tsrnn estimators of the block on a Dask cluster.

    Parameters
    ----------
    client : distributed.Client, str or None, default=None
        A client, a scheduler address (``"tcp://host:8786"``), or None: the scheduler of
        ``DASK_SCHEDULER_ADDRESS`` if set, else a local cluster of ``n_workers`` processes
        (one thread each), closed when the block ends.
    n_workers : int or None, default=None
        Workers of the local cluster (None: one per core).
    ranks : int or None, default=None
        Workers training each network together. None: the workers shared out over the
        networks of each fit (a forecaster's eight networks on two workers: one rank each; one
        regressor on two workers: two ranks).
    timeout : float, default=60.0
        Seconds allowed to form a process group and for each of its collectives.
    verbose : int, default=0
        Draw a progress bar of the networks trained.

    Yields
    ------
    distributed.Client

    Examples
    --------
    >>> from tsrnn import RNNForecaster, datasets
    >>> from tsrnn.parallel import train_on_dask
    >>> y = datasets.load("airpassengers")
    >>> with train_on_dask(n_workers=2):  # doctest: +SKIP
    ...     model = RNNForecaster(horizon=12).fit(y)
    """
    check_positive_int(ranks, "ranks", none=True)
    if timeout <= 0:
        raise ParameterError(f"timeout must be positive; got {timeout}.")
    with contextlib.ExitStack() as stack:
        connection = connect(client, n_workers=n_workers, stack=stack)
        trainer = DaskTrainer(
            connection.client,
            ranks=ranks,
            timeout=timeout,
            verbose=verbose,
            facts=connection.facts,
        )
        with using(trainer):
            yield connection.client


class DaskTrainer:
    """Fit jobs (one per network) on the workers of ``client``; see the module docstring.

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
        shared: dict[int, Future] = {}  # one scatter per data set (a forecaster's two panels)
        # With several tasks, every worker gets the data: the scheduler would otherwise queue
        # them on the worker that holds it. One task needs it on one worker only.
        broadcast = len(jobs) > 1
        futures = []
        for i, job in enumerate(jobs):
            if id(job.data) not in shared:
                [shared[id(job.data)]] = client.scatter([job.data], hash=False, broadcast=broadcast)
            light = dataclasses.replace(job, data=None)
            futures.append(
                client.submit(
                    _fit_task, light, shared[id(job.data)], key=f"tsrnn-net-{token}-{i}", pure=False
                )
            )
        return self._wait(futures, futures, {}, bar)

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
                        _rank_task,
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
            models.extend(self._wait(futures, firsts, pinned, bar))
        return models

    def _wait(
        self,
        futures: list[Future],
        results: list[Future],
        pinned: dict[Future, tuple[str, int, int]],
        bar: Progress,
    ) -> list[Any]:
        """Wait for every future; fail fast on an error or on a pinned worker that left."""
        pending = set(futures)
        try:
            while pending:
                with contextlib.suppress(distributed.TimeoutError, CancelledError):
                    distributed.wait(list(pending), timeout=_POLL_S, return_when="FIRST_COMPLETED")
                done = [f for f in pending if f.done()]
                if pinned and (
                    len(done) < len(pending) or any(f.status != "finished" for f in done)
                ):
                    self._check_alive(pinned, pending)  # a lost rank explains the others' errors
                for future in done:
                    pending.discard(future)
                    if future.status != "finished":
                        _raise_failure(future)
                    if future in results:
                        bar.advance()
        except BaseException:
            self.client.cancel(futures, force=True)
            raise
        return self.client.gather(results)

    def _check_alive(self, pinned: dict[Future, tuple[str, int, int]], pending: set) -> None:
        alive = set(self.client.scheduler_info(n_workers=-1)["workers"])
        for future in pending:
            worker, rank, world = pinned[future]
            if worker not in alive:
                raise ClusterError(
                    f"Worker {worker} (rank {rank} of {world}) left the cluster during "
                    "data-parallel training, and the fit was stopped: fit again once the "
                    "cluster is whole (a nanny restarts a killed worker), or with fewer ranks."
                )

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


def _fit_task(job: Job, data: Any) -> Any:
    """One network trained in one worker (a task of any worker)."""
    from ._dask.connect import prepare_worker_thread

    prepare_worker_thread()
    return dataclasses.replace(job, data=data).fit(quiet=True)


def _rank_task(job: Job, data: Any, rank: int, world: int, name: str, timeout: float) -> Any:
    """One rank of a data-parallel fit, pinned to its worker."""
    from ._dask.rank import run_rank

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
