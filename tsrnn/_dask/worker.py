"""What runs inside a Dask worker for tsrnn: its facts, and a training task's set-up.

Sent by the client (``client.run``, ``client.submit``) or called by the tasks themselves; each
function imports torch where it runs, never in the client.
"""

from __future__ import annotations

import os
from typing import Any

from ..cluster import fix_malloc_trim, malloc_tuned

__all__ = ["prepare_worker_thread", "warm_worker", "worker_address", "worker_facts"]


def worker_facts() -> dict[str, Any]:
    """What tsrnn needs to know about a worker process (run there by ``client.run``).

    Returns
    -------
    dict
        ``pid``, ``cuda`` (whether torch sees a GPU), ``malloc_trim`` (the value of
        ``MALLOC_TRIM_THRESHOLD_``, or None) and ``malloc_tuned`` (whether malloc was retuned
        in the worker, e.g. by ``--preload tsrnn.cluster``, which undoes the variable).
    """
    import torch

    return {
        "pid": os.getpid(),
        "cuda": bool(torch.cuda.is_available()),
        "malloc_trim": os.environ.get("MALLOC_TRIM_THRESHOLD_"),
        "malloc_tuned": malloc_tuned(),
    }


def prepare_worker_thread() -> int:
    """In a Dask worker, set a training task up: one torch thread, malloc fixed; the count.

    Each worker thread runs one task at a time, so one torch thread each keeps a worker of
    ``n`` threads on ``n`` cores. The setting is the worker process' own; outside a worker
    (an in-process run) torch's setting is left alone. In a worker it also fixes glibc's
    malloc thresholds (:func:`tsrnn.cluster.fix_malloc_trim` with ``force=True``): without it
    the arena of a worker thread was measured shrinking and growing at every training step
    (120,000 page faults a second, 1.7x slower training than in-process).

    Returns
    -------
    int
        torch's thread count now.
    """
    import torch

    if worker_address() is not None:
        fix_malloc_trim(force=True)  # see its docstring: arenas of worker threads
        if torch.get_num_threads() != 1:
            torch.set_num_threads(1)
    return torch.get_num_threads()


def warm_worker() -> int:
    """Import what training needs (torch, its optimisers, tsrnn's networks) in this worker.

    Sent to every worker when a trainer starts, so that the imports (about 3 s, most of them
    what ``torch.optim`` loads when its first optimizer is made) overlap the client's own
    work instead of delaying the first networks. Returns the worker's torch thread count.
    """
    import torch

    from .. import estimator  # noqa: F401

    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # its lazy imports, done now
    return prepare_worker_thread()


def worker_address() -> str | None:
    """The address of the Dask worker running this code, or None outside a worker."""
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return None
