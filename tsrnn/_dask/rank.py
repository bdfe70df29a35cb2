"""One rank of a data-parallel fit: a ``torch.distributed`` process group inside a Dask worker.

Runs in the worker (see :mod:`tsrnn.parallel` for the client side). Rank 0 opens a
``TCPStore`` on a port the operating system gives it on its own host (never a fixed port)
and publishes ``host:port`` in a Dask ``Variable`` named for the job; the other ranks read it
and join. Every collective (the rendezvous, each gradient all-reduce, each decision) is bounded
by ``timeout``, so a lost peer ends the rank with an error instead of a hang.

Gradients go as one flat buffer per step (with the loss appended, so that every rank records
the same loss and stops on the same step): one all-reduce of a few thousand floats.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from .._train.device import resolve_device
from ..errors import ClusterError, TsrnnError

__all__ = ["Collective", "run_rank"]


class Collective:
    """The :class:`tsrnn._train.loop.Sync` of a process group: means and decisions over the ranks.

    Parameters
    ----------
    world : int
        Number of ranks.
    device : torch.device
        Where the flat buffers live (the GPU for NCCL, the CPU for gloo).
    """

    def __init__(self, world: int, device: torch.device) -> None:
        self.world, self.device = world, device

    def gradients(self, modules: list[nn.Module], losses: list[torch.Tensor]) -> list[float]:
        """Replace every gradient of ``modules`` by its mean over the ranks (one all-reduce of
        one flat buffer); the mean of each loss."""
        params = [p for module in modules for p in module.parameters() if p.requires_grad]
        grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in params]
        flat = torch.cat([g.reshape(-1) for g in grads] + [v.detach().reshape(1) for v in losses])
        dist.all_reduce(flat)
        flat /= self.world
        offset = 0
        for p in params:
            n = p.numel()
            p.grad = flat[offset : offset + n].view_as(p)  # a view: flat is new every step
            offset += n
        return flat[offset:].tolist()

    def mean(self, value: float) -> float:
        """The mean of a float over the ranks."""
        buffer = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(buffer)
        return float(buffer[0]) / self.world

    def agree(self, flag: bool) -> bool:
        """Rank 0's decision, broadcast to every rank."""
        buffer = torch.tensor([int(flag)], dtype=torch.int64, device=self.device)
        dist.broadcast(buffer, src=0)
        return bool(buffer[0])


def run_rank(job: Any, rank: int, world: int, name: str, timeout: float) -> Any:
    """Join the process group ``name`` as ``rank`` of ``world``, fit ``job``, leave the group.

    Parameters
    ----------
    job : tsrnn._train.executor.Job
        This rank's shard of the fit (``job.fit(sync=...)`` trains and returns the model).
    rank, world : int
    name : str
        Unique per group: the Dask ``Variable`` through which rank 0 publishes its address.
    timeout : float
        Seconds allowed for the rendezvous and for every collective.

    Returns
    -------
    The fitted model. Every rank holds the same weights; the trainer gathers rank 0's (its
    tensors move to the CPU when it is pickled).

    Raises
    ------
    ClusterError
        When the group cannot form in time, or a peer is lost during training.
    """
    from distributed import Variable, get_worker

    from .worker import prepare_worker_thread

    prepare_worker_thread()
    if dist.is_initialized():
        raise ClusterError(
            "This Dask worker process already runs a rank of another training job: give "
            "each worker one thread (`dask worker ... --nthreads 1`) for distributed training."
        )
    device = resolve_device(job.device)
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
        raise ClusterError(
            f"Rank {rank} of {world} could not join the training group within {timeout:.0f} s "
            f"({type(exc).__name__}: {_first_line(exc)}): are the workers busy with other "
            "tasks, or is a firewall between them? Raise timeout, or free the workers."
        ) from None
    try:
        return job.fit(sync=Collective(world, device), rank=rank, quiet=True)
    except (RuntimeError, OSError) as exc:
        if isinstance(exc, TsrnnError):  # e.g. the loss diverged: the same on every rank
            raise
        raise ClusterError(
            f"Distributed training lost a peer at rank {rank} of {world} "
            f"({type(exc).__name__}: {_first_line(exc)}): a worker died or stalled for "
            f"{timeout:.0f} s; the fit was stopped."
        ) from None
    finally:
        dist.destroy_process_group()
        if rank == 0:
            variable.delete()


def _host_of(address: str) -> str:
    """The host of a Dask address such as ``tcp://10.0.0.5:40123``."""
    from distributed.comm import get_address_host

    return get_address_host(address)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else ""
