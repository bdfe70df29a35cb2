"""The memory of the workers: each one's peak during a stage, its limit and its local directory.

:func:`worker_peaks` measures a stage: it resets every worker's peak resident memory when the
stage starts and reads it when the stage ends (Linux keeps the peak, ``VmHWM``, and resets
it on request; elsewhere the memory at the end is read). :func:`release_memory` gives the
memory a stage freed back to the system (the allocators keep it otherwise: 0.4 GiB of a
worker's 1.2 GiB after reading 8 million rows). :func:`worker_budget` tells code running in
a worker its memory limit and local directory (``dask worker --memory-limit ...
--local-directory ...``).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from typing import Any

__all__ = [
    "in_gib",
    "peak_rss",
    "release_memory",
    "reset_peak",
    "worker_budget",
    "worker_peaks",
]

_STATUS = "/proc/self/status"


def reset_peak() -> None:
    """Reset this process' peak resident memory (Linux; elsewhere nothing to reset)."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_rss() -> int:
    """This process' peak resident memory since :func:`reset_peak`, in bytes (off Linux: the
    resident memory now)."""
    with contextlib.suppress(OSError, AttributeError, ValueError), open(_STATUS) as f:
        return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1)) * 1024
    import psutil

    return int(psutil.Process(os.getpid()).memory_info().rss)


def release_memory() -> int:
    """Give the memory this process freed back to the system: Python's cycles collected,
    Arrow's pool released, glibc's heap trimmed (Linux). Returns the resident bytes after."""
    import gc
    import sys

    gc.collect()
    if "pyarrow" in sys.modules:  # its pool keeps what it freed
        sys.modules["pyarrow"].default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    import psutil

    return int(psutil.Process(os.getpid()).memory_info().rss)


@contextlib.contextmanager
def worker_peaks(client: Any) -> Iterator[dict[str, int]]:
    """Measure the peak resident memory of every worker during the block.

    Parameters
    ----------
    client : distributed.Client

    Yields
    ------
    dict of str to int
        Filled when the block ends: worker address -> peak bytes during the block (empty
        when the workers cannot be asked, e.g. the cluster is closing).
    """
    peaks: dict[str, int] = {}
    with contextlib.suppress(Exception):  # a measure, never a reason for a stage to fail
        client.run(reset_peak)
    yield peaks
    with contextlib.suppress(Exception):
        peaks.update(client.run(peak_rss, on_error="ignore"))


def in_gib(peaks: dict[str, int]) -> list[float]:
    """The peaks of :func:`worker_peaks` in GiB (3 decimals), highest first, for a log line.

    Examples
    --------
    >>> in_gib({"tcp://a:1": 2**30, "tcp://b:1": 3 * 2**29})
    [1.5, 1.0]
    """
    return [round(b / 2**30, 3) for b in sorted(peaks.values(), reverse=True)]


def worker_budget() -> tuple[int | None, str | None]:
    """The memory limit (bytes; None: none) and the local directory of the Dask worker
    running this code (a task, or the worker's own threads, e.g. unpickling data it
    receives); ``(None, None)`` outside a worker."""
    try:
        from distributed import Worker, get_worker
    except ImportError:
        return None, None
    try:
        worker = get_worker()
    except ValueError:  # not in a task: the process' one worker, if it is one
        found = list(getattr(Worker, "_instances", ()))
        if len(found) != 1:
            return None, None
        worker = found[0]
    limit = getattr(getattr(worker, "memory_manager", None), "memory_limit", None)
    return (int(limit) if limit else None), worker.local_directory
