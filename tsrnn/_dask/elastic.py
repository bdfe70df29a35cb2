"""Data-parallel fits that outlive their workers: a group of ranks, formed again after a loss.

A fit's ranks are one task each, pinned to its worker, in a ``torch.distributed`` group
(:mod:`tsrnn._dask.rank`); :func:`launch_ranks` submits them and :func:`train_groups` watches
them until rank 0 returns the model. When a worker of a group leaves the cluster (or a
collective of the group fails):

1. the survivors' collectives fail, and each returns :class:`~tsrnn._train.checkpoint.Broken` with
   the checkpoint of the last step every rank completed (every rank holds the same weights);
   the driver waits for them (at most the collectives' ``timeout``) and keeps the most
   advanced of their checkpoints, the one rank 0 last published (every few hundred steps, in
   a Dask ``Variable`` on the scheduler) and the one the group started from;
2. it waits for the lost workers to come back: as long as ``timeout`` while the nanny of a
   lost worker still answers (it restarts its worker), not at all when none does;
3. it forms a new group on the live workers that no other group of the fit holds (the
   survivors, the restarted workers, at most as many as asked for): the fit's shards or
   buckets laid out again over them by the caller's ``layout`` (Dask rebuilds a lost bucket
   from its lineage, and the dataset's layout waits for that, :func:`wait_for_data`, before
   the new group's rendezvous starts its clock), every rank resuming from the checkpoint with the
   same total number of steps; with fewer workers than before, fewer ranks, the loss weights
   of each rank's share recomputed for the new world.

Each new group is reported by one :class:`~tsrnn.errors.ClusterWarning` ("... training
resumed from step N on K worker(s)"). With no worker left (none back within ``timeout``),
or after :data:`MAX_STALLS` new groups in a row that made no progress, a
:class:`~tsrnn.errors.ClusterError` stops the fit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import time
import warnings
from collections.abc import Callable
from concurrent.futures import CancelledError
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import distributed
from distributed import Client, Future, Variable

from .._train.checkpoint import Broken, Checkpoint
from .._train.progress import Progress
from ..errors import ClusterError, ClusterWarning, TsrnnError
from .connect import user_stacklevel

__all__ = [
    "MAX_STALLS",
    "Group",
    "Rank",
    "launch_ranks",
    "raise_failure",
    "rank_task",
    "train_groups",
    "wait_for_data",
]

POLL_S = 2.0  # seconds between checks that the ranks' workers are alive
#: New groups in a row that may resume from the same step before the fit is stopped.
MAX_STALLS = 3


class Rank(NamedTuple):
    """One rank of a data-parallel fit: its worker, its job (without data) and its data."""

    worker: str
    job: Any
    data: Any


def launch_ranks(
    client: Client,
    ranks: list[Rank],
    *,
    name: str,
    timeout: float,
    resume: Checkpoint | None = None,
) -> list[Future]:
    """Submit one task per rank, pinned to its worker, forming the process group ``name``.

    Returns
    -------
    list of Future
        One per rank, in rank order; rank 0's result is the fitted model(s), or a
        :class:`~tsrnn._train.checkpoint.Broken`.
    """
    world = len(ranks)
    return [
        client.submit(
            rank_task,
            job,
            data,
            rank,
            world,
            name,
            timeout,
            resume,
            key=f"{name}-rank{rank}",
            workers=[worker],
            allow_other_workers=False,
            pure=False,
        )
        for rank, (worker, job, data) in enumerate(ranks)
    ]


def rank_task(
    job: Any,
    data: Any,
    rank: int,
    world: int,
    name: str,
    timeout: float,
    resume: Checkpoint | None = None,
) -> Any:
    """One rank of a data-parallel fit, pinned to its worker."""
    from .rank import run_rank

    return run_rank(dataclasses.replace(job, data=data), rank, world, name, timeout, resume)


@dataclass
class Group:
    """One data-parallel fit (a network, or a dataset's ensemble), over its groups of ranks.

    Attributes
    ----------
    name : str
        Unique per fit; its ``k``-th process group is ``f"{name}-{k}"``.
    layout : callable(list of str) -> list of Rank
        The ranks of the fit over these workers, in rank order: its shards (or buckets) laid
        out over them.
    size : int
        Ranks asked for: a new group takes at most as many workers.
    workers : list of str
        The workers of the group running now (the first group's, before :func:`train_groups`).
    """

    name: str
    layout: Callable[[list[str]], list[Rank]]
    size: int
    workers: list[str]
    futures: list[Future] = field(default_factory=list)
    nannies: dict[str, str | None] = field(default_factory=dict)
    attempt: int = 0
    resume: Checkpoint | None = None
    phase: str = "running"  # then "draining" (the survivors), "rejoining" (new workers), "done"
    deadline: float = 0.0
    wait: float = 0.0  # seconds given to lost workers to come back
    lost: list[str] = field(default_factory=list)
    reason: str = ""
    stalls: int = 0
    result: Any = None

    @property
    def current(self) -> str:
        """The name of the running process group."""
        return f"{self.name}-{self.attempt}"


def train_groups(
    client: Client,
    groups: list[Group],
    *,
    usable: Callable[[], list[str]],
    timeout: float,
    bar: Progress,
) -> list[Any]:
    """Run every group until rank 0 of each returns its model; form a group again after a
    lost worker (see the module docstring).

    Parameters
    ----------
    client : Client
    groups : list of Group
        Each on workers of its own.
    usable : callable() -> list of str
        The workers a group may take now, sorted (those with a GPU when the networks want
        one: :func:`tsrnn._dask.trainer.training_workers`).
    timeout : float
        Seconds allowed to form a group and for each collective; also how long a lost
        worker's nanny is given to bring it back.
    bar : Progress
        Advanced once per group done.

    Returns
    -------
    list
        Rank 0's result of each group, in order.

    Raises
    ------
    ClusterError
        If no worker is left to train on, a group broke :data:`MAX_STALLS` times in a row
        without progress, or a rank failed without a lost worker to explain it (the group
        did not form).
    TsrnnError
        A rank's own (the loss diverged: the same on every rank).
    """
    for group in groups:
        _launch(client, group, group.workers, timeout)
    try:
        while any(group.phase != "done" for group in groups):
            pending = [f for group in groups for f in group.futures if not f.done()]
            if pending:
                with contextlib.suppress(distributed.TimeoutError, CancelledError):
                    distributed.wait(pending, timeout=POLL_S, return_when="FIRST_COMPLETED")
            else:
                time.sleep(POLL_S / 4)
            alive = set(client.scheduler_info(n_workers=-1)["workers"])
            for group in groups:
                if group.phase == "running":
                    _watch(client, group, alive, timeout)
                if group.phase == "draining":
                    _drain(client, group, alive, timeout)
                if group.phase == "rejoining":
                    _rejoin(client, group, groups, usable, timeout)
                if group.phase == "done" and group.futures:
                    bar.advance()
                    _close(client, group)
    except BaseException:
        for group in groups:
            _close(client, group)
        raise
    return [group.result for group in groups]


def raise_failure(future: Future) -> None:
    """Raise what ended a task that did not finish: its own error, or a one-line
    :class:`~tsrnn.errors.ClusterError`."""
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


# ---------------------------------------------------------------------- the phases


def _launch(client: Client, group: Group, workers: list[str], timeout: float) -> None:
    if group.attempt:  # a restarted worker imports torch before its peers wait for it
        _warm(client, workers, timeout)
    info = client.scheduler_info(n_workers=-1)["workers"]
    group.workers = list(workers)
    group.nannies = {w: info.get(w, {}).get("nanny") for w in workers}
    ranks = group.layout(group.workers)
    group.futures = launch_ranks(
        client, ranks, name=group.current, timeout=timeout, resume=group.resume
    )
    group.phase, group.lost, group.reason = "running", [], ""


def _watch(client: Client, group: Group, alive: set[str], timeout: float) -> None:
    """A running group: done when rank 0 returns the model; broken when a worker left or a
    collective failed."""
    first = group.futures[0]
    if first.status == "finished":
        result = first.result()
        if not isinstance(result, Broken):
            group.result, group.phase = result, "done"
            return
        group.reason = f"rank 0 of {len(group.workers)} lost its group ({result.reason})"
    group.lost = [w for w in group.workers if w not in alive]
    for future in group.futures:
        if future.status in ("error", "cancelled"):
            exc = future.exception() if future.status == "error" else None
            own = isinstance(exc, TsrnnError) and not isinstance(exc, ClusterError)
            if own or not group.lost:  # a rank's own error, or a group that could not form
                raise_failure(future)
    if group.lost or group.reason:  # a rank > 0 may wait for rendezvous twice: 2 * timeout
        group.phase, group.deadline = "draining", time.monotonic() + 2 * timeout + POLL_S


def _drain(client: Client, group: Group, alive: set[str], timeout: float) -> None:
    """A broken group: wait for the survivors' checkpoints, keep the most advanced."""
    group.lost += [w for w in group.workers if w not in alive and w not in group.lost]
    survivors = [f for f, w in zip(group.futures, group.workers, strict=True) if w in alive]
    if any(not f.done() for f in survivors) and time.monotonic() < group.deadline:
        return
    found = [group.resume, _published(client, group.current)]
    for future in survivors:
        if future.status != "finished":
            continue
        result = future.result()
        if not isinstance(result, Broken):  # this rank finished: the model
            group.result, group.phase = result, "done"
            return
        found.append(result.checkpoint)
    best = max((c for c in found if c is not None), key=lambda c: c.step, default=None)
    progress = (best.step if best else 0) > (group.resume.step if group.resume else 0)
    group.stalls = 0 if progress else group.stalls + 1
    if group.stalls >= MAX_STALLS:
        raise ClusterError(
            f"Data-parallel training broke {MAX_STALLS} times in a row without progress "
            f"(last: {_what(group)}), and the fit was stopped: check the workers' logs, or "
            "train with fewer ranks."
        )
    group.resume = best
    _close(client, group)
    coming_back = any(_answers(group.nannies.get(w)) for w in group.lost)
    group.phase, group.wait = "rejoining", timeout if coming_back else 0.0
    group.deadline = time.monotonic() + group.wait


def _rejoin(
    client: Client,
    group: Group,
    groups: list[Group],
    usable: Callable[[], list[str]],
    timeout: float,
) -> None:
    """A group whose ranks stopped: a new group on the free workers once enough are there
    (as many as asked for) or the wait for lost ones is over."""
    held = {w for g in groups if g is not group and g.phase != "done" for w in g.workers}
    free = [w for w in _usable_now(client, usable) if w not in held]
    if len(free) < group.size and time.monotonic() < group.deadline:
        return
    if not free:
        within = f" within {group.wait:.0f} s" if group.wait else ""
        where = (
            f"at {group.resume.unit} {group.resume.step}"
            if group.resume
            else "before its first checkpoint"
        )
        raise ClusterError(
            f"Every worker training a network left the cluster ({_what(group)}) and none "
            f"came back{within}: the fit was stopped {where}. Start workers and fit again."
        )
    workers = free[: group.size]
    what = _what(group)
    group.attempt += 1
    _launch(client, group, workers, timeout)
    where = f"{group.resume.unit} {group.resume.step}" if group.resume else "the start"
    warnings.warn(
        f"{what[0].upper()}{what[1:]} during data-parallel training: training resumed from "
        f"{where} on {len(workers)} worker(s).",
        ClusterWarning,
        stacklevel=user_stacklevel(),
    )


# ---------------------------------------------------------------------- helpers


def _what(group: Group) -> str:
    """'worker tcp://... (rank 1 of 2) left the cluster', or why rank 0's group broke."""
    if group.lost:
        world = len(group.workers)
        lost = [f"{w} (rank {group.workers.index(w)} of {world})" for w in group.lost]
        if len(lost) == 1:
            return f"worker {lost[0]} left the cluster"
        return f"workers {', '.join(lost[:-1])} and {lost[-1]} left the cluster"
    return group.reason


def _published(client: Client, name: str) -> Checkpoint | None:
    """The checkpoint rank 0 of group ``name`` last published, if any."""
    from .rank import checkpoint_name

    try:
        message = Variable(checkpoint_name(name), client=client).get(timeout=0.5)
    except (TimeoutError, distributed.TimeoutError, OSError):
        return None
    return Checkpoint.from_message(message)


def _close(client: Client, group: Group) -> None:
    """Cancel the group's tasks (a rank pinned to a lost worker would wait forever) and
    delete its Variables."""
    from .rank import checkpoint_name

    if group.futures:
        with contextlib.suppress(Exception):
            client.cancel(group.futures, force=True)
    group.futures = []
    for name in (group.current, checkpoint_name(group.current)):
        with contextlib.suppress(Exception):
            Variable(name, client=client).delete()


def _warm(client: Client, workers: list[str], timeout: float) -> None:
    """Import what training needs on ``workers`` (seconds on a new worker, nothing on the
    others), so that the rendezvous of a new group does not wait for a cold worker."""
    from .worker import warm_worker

    futures = [
        client.submit(warm_worker, workers=[w], allow_other_workers=False, pure=False)
        for w in workers
    ]
    with contextlib.suppress(distributed.TimeoutError, TimeoutError):
        distributed.wait(futures, timeout=timeout)
    client.cancel(futures)


def wait_for_data(client: Client, futures: list[Future], *, timeout: float) -> None:
    """Wait until the data of ``futures`` are in memory: those a lost worker held are rebuilt
    by Dask from their lineage (for a shuffled dataset, the files read and shuffled again),
    however long that takes while the cluster has a worker, so that the rendezvous of a new
    group (``timeout``) does not count it.

    Parameters
    ----------
    client : Client
    futures : list of Future
    timeout : float
        Seconds the cluster may stay without a worker before the wait gives up.

    Raises
    ------
    ClusterError
        If the cluster had no worker for ``timeout`` seconds.
    Exception
        A future's own error (a file that can no longer be read), as Dask raises it.
    """
    alone_since = None
    while True:
        try:
            distributed.wait(futures, timeout=POLL_S)
            break
        except (distributed.TimeoutError, TimeoutError):
            pass
        if client.scheduler_info(n_workers=-1)["workers"]:
            alone_since = None
        elif alone_since is None:
            alone_since = time.monotonic()
        elif time.monotonic() - alone_since > timeout:
            raise ClusterError(
                f"Every worker left the cluster while the data of the lost ones were rebuilt, "
                f"and none came back within {timeout:.0f} s: start workers and fit again."
            )
    for future in futures:
        if future.status == "error":
            future.result()


def _usable_now(client: Client, usable: Callable[[], list[str]]) -> list[str]:
    if not client.scheduler_info(n_workers=-1)["workers"]:
        return []
    try:
        return usable()
    except ClusterError:  # the last worker left meanwhile
        return []


def _answers(address: str | None, wait: float = 1.0) -> bool:
    """Whether something listens at a Dask address: a lost worker's nanny, which restarts it."""
    from distributed.comm import get_address_host_port

    if not address:
        return False
    try:
        host, port = get_address_host_port(address)
        with socket.create_connection((host, port), timeout=wait):
            return True
    except (OSError, ValueError):
        return False
