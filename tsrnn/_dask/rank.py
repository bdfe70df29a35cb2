"""One rank of a data-parallel fit: a ``torch.distributed`` process group inside a Dask worker.

Runs in the worker (see :mod:`tsrnn.parallel` for the client side). Rank 0 opens a
``TCPStore`` on a port the operating system gives it on its own host (never a fixed port)
and publishes ``host:port`` in a Dask ``Variable`` named for the job; the other ranks read it
and join. Every collective (the rendezvous, each gradient all-reduce, each decision) is bounded
by ``timeout``, so a lost peer ends the rank instead of hanging it.

Gradients go as one flat buffer per step (with the loss appended, so that every rank records
the same loss and stops on the same step): one all-reduce of a few thousand floats.

A lost peer is not an error of the rank: its collective fails, and the rank returns
:class:`~tsrnn._train.checkpoint.Broken` with the checkpoint of the last step every rank
completed (its own weights, which are every rank's), so that the client can form a new group
that resumes from there (:mod:`tsrnn._dask.elastic`). Rank 0 also publishes a checkpoint
every :data:`EVERY` steps in the Dask ``Variable`` ``<name>-checkpoint`` (on the scheduler,
which outlives any worker), for when no rank survives. A group of one rank trains without a
process group.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from .._train.checkpoint import Broken, Checkpoint, PeerLost
from .._train.device import resolve_device
from ..errors import ClusterError

__all__ = ["EVERY", "Collective", "checkpoint_name", "run_rank"]

#: Optimizer steps between two checkpoints rank 0 publishes.
EVERY = 200


class Collective:
    """The :class:`tsrnn._train.loop.Sync` of a process group: means and decisions over the ranks.

    Parameters
    ----------
    world : int
        Number of ranks (one: no process group, every collective is the rank's own value).
    device : torch.device
        Where the flat buffers live (the GPU for NCCL, the CPU for gloo).
    publish : callable(Checkpoint) or None, default=None
        Rank 0's: keeps a checkpoint where the client finds it, called at the first point
        training can resume from after every ``every`` optimizer steps.
    every : int, default=EVERY
    """

    def __init__(
        self,
        world: int,
        device: torch.device,
        publish: Callable[[Checkpoint], None] | None = None,
        every: int = EVERY,
    ) -> None:
        self.world, self.device = world, device
        self.publish, self.every = publish, every
        self.steps = 0  # optimizer steps since the last published checkpoint

    def gradients(self, modules: list[nn.Module], losses: list[torch.Tensor]) -> list[float]:
        """Replace every gradient of ``modules`` by its mean over the ranks (one all-reduce of
        one flat buffer); the mean of each loss."""
        self.steps += 1
        if self.world == 1:
            return [v.item() for v in losses]
        params = [p for module in modules for p in module.parameters() if p.requires_grad]
        grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in params]
        flat = torch.cat([g.reshape(-1) for g in grads] + [v.detach().reshape(1) for v in losses])
        self._all_reduce(flat)
        flat /= self.world
        offset = 0
        for p in params:
            n = p.numel()
            p.grad = flat[offset : offset + n].view_as(p)  # a view: flat is new every step
            offset += n
        return flat[offset:].tolist()

    def mean(self, value: float) -> float:
        """The mean of a float over the ranks."""
        if self.world == 1:
            return value
        buffer = torch.tensor([value], dtype=torch.float64, device=self.device)
        self._all_reduce(buffer)
        return float(buffer[0]) / self.world

    def agree(self, flag: bool) -> bool:
        """Rank 0's decision, broadcast to every rank."""
        if self.world == 1:
            return flag
        buffer = torch.tensor([int(flag)], dtype=torch.int64, device=self.device)
        try:
            dist.broadcast(buffer, src=0)
        except (RuntimeError, OSError) as exc:
            raise PeerLost(_first_line(exc)) from None
        return bool(buffer[0])

    def keep(self, state: Callable[[], Checkpoint]) -> None:
        """Publish ``state()`` (rank 0) once ``every`` steps have passed since the last."""
        if self.publish is not None and self.steps >= self.every:
            self.publish(state())
            self.steps = 0

    def _all_reduce(self, buffer: torch.Tensor) -> None:
        try:
            dist.all_reduce(buffer)
        except (RuntimeError, OSError) as exc:  # gloo: "Connection closed by peer", timeouts
            raise PeerLost(_first_line(exc)) from None


def checkpoint_name(name: str) -> str:
    """The Dask ``Variable`` in which rank 0 of group ``name`` publishes its checkpoints."""
    return f"{name}-checkpoint"


def run_rank(
    job: Any, rank: int, world: int, name: str, timeout: float, resume: Checkpoint | None = None
) -> Any:
    """Join the process group ``name`` as ``rank`` of ``world``, fit ``job``, leave the group.

    Parameters
    ----------
    job : tsrnn._train.executor.Job
        This rank's shard of the fit (``job.fit(sync=..., resume=...)`` trains and returns the
        model).
    rank, world : int
    name : str
        Unique per group: the Dask ``Variable`` through which rank 0 publishes its address
        (and :func:`checkpoint_name` its checkpoints).
    timeout : float
        Seconds allowed for the rendezvous and for every collective.
    resume : Checkpoint or None
        Where an earlier group of the same fit stopped.

    Returns
    -------
    The fitted model, or :class:`~tsrnn._train.checkpoint.Broken` when a peer was lost.
    Every rank holds the same weights; the trainer gathers rank 0's (its tensors move to the
    CPU when it is pickled).

    Raises
    ------
    ClusterError
        When the group cannot form in time (no peer was lost: a busy worker, a firewall).
    """
    from distributed import Variable, get_worker

    from .worker import prepare_worker_thread

    prepare_worker_thread()
    device = resolve_device(job.device)
    publish = _publisher(Variable(checkpoint_name(name))) if rank == 0 else None
    if world == 1:
        return _fit(job, Collective(1, device, publish), rank, resume)
    if dist.is_initialized():
        raise ClusterError(
            "This Dask worker process already runs a rank of another training job: give "
            "each worker one thread (`dask worker ... --nthreads 1`) for distributed training."
        )
    backend = "nccl" if device.type == "cuda" else "gloo"
    wait = datetime.timedelta(seconds=timeout)
    variable = Variable(name)
    worker = get_worker()
    try:
        if rank == 0:
            host = _host_of(worker.address)
            store = dist.TCPStore(host, 0, world, True, timeout=wait, wait_for_workers=False)
            variable.set(f"{host}:{store.port}")
        else:
            where = variable.get(timeout=timeout)
            host, port = where.rsplit(":", 1)
            store = dist.TCPStore(host, int(port), world, False, timeout=wait)
        if backend == "gloo" and (host.startswith("127.") or host == "localhost"):
            os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")  # else gloo resolves the hostname
        dist.init_process_group(backend, store=store, rank=rank, world_size=world, timeout=wait)
    except (TimeoutError, RuntimeError, OSError) as exc:
        _leave()
        raise ClusterError(
            f"Rank {rank} of {world} could not join the training group within {timeout:.0f} s "
            f"({type(exc).__name__}: {_first_line(exc)}): are the workers busy with other "
            "tasks, or is a firewall between them? Raise timeout, or free the workers."
        ) from None
    try:
        return _fit(job, Collective(world, device, publish), rank, resume)
    finally:
        _leave()
        if rank == 0:
            variable.delete()


def _leave() -> None:
    """Leave the default process group, as if this worker process had never joined one.

    ``torch.distributed`` names a new default group by a counter of the groups this process
    made; leaving a group resets it, a join that failed does not. A worker whose join failed
    (its peer was lost) would name its next group otherwise than its new peers do, and wait
    for keys they never write.
    """
    if dist.is_initialized():
        dist.destroy_process_group()
    else:
        dist.distributed_c10d._world.group_count = 0


def _fit(job: Any, sync: Collective, rank: int, resume: Checkpoint | None) -> Any:
    """``job.fit``, or :class:`Broken` when a collective failed (a peer was lost)."""
    try:
        return job.fit(sync=sync, rank=rank, quiet=True, resume=resume)
    except PeerLost as lost:
        return Broken(rank, lost.checkpoint or resume, str(lost))


def _publisher(variable: Any) -> Callable[[Checkpoint], None]:
    def publish(checkpoint: Checkpoint) -> None:
        # Best effort: a checkpoint the scheduler did not take only means resuming from an
        # earlier one; training goes on.
        with contextlib.suppress(OSError, TimeoutError):
            variable.set(checkpoint.to_message(), timeout="10 s")

    return publish


def _host_of(address: str) -> str:
    """The host of a Dask address such as ``tcp://10.0.0.5:40123``."""
    from distributed.comm import get_address_host

    return get_address_host(address)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else ""
