"""Dask clusters for search and training: a local cluster started safely, GPU workers, malloc.

The malloc trap
---------------
distributed's default ``distributed.nanny.pre-spawn-environ`` sets
``MALLOC_TRIM_THRESHOLD_=65536`` in every worker process it spawns (and, as the nanny of a
``LocalCluster`` runs in the client, in the client's own ``os.environ`` too, where every process
started later inherits it). Setting that variable at all switches off glibc's dynamic mmap
threshold: every tensor above 128 KiB is then ``mmap``-ed and ``munmap``-ed again, and training
an LSTM in such a worker spends time in page faults (``benchmarks/malloc_trap.py``: 1.18x as
long in a worker of a plain ``LocalCluster`` as in one of :func:`local_cluster`, median of 3
runs with other jobs on the 2 cores; the extra is system time).

:func:`local_cluster` (what :class:`tsrnn.SearchCV` starts when given no client) leaves the
variable out of its workers and restores the client's environment afterwards. For workers you
start yourself, do one of:

* start them with ``--preload tsrnn.cluster`` (``dask worker ADDR --preload tsrnn.cluster``),
  which retunes malloc in each worker process at start-up (and stops its statistical profiler,
  which slows training: :func:`stop_profiler`);
* call :func:`tune_worker_malloc` with a client of the cluster (all current and future workers);
* put ``distributed: {nanny: {pre-spawn-environ: {MALLOC_TRIM_THRESHOLD_: null}}}`` in a dask
  YAML config file read by the workers (the ``DASK_...`` environment variable form cannot
  express it: dask lower-cases the key).

This module imports distributed; ``import tsrnn`` does not import it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import importlib.util
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import dask
import distributed
from distributed import Client, Nanny, Scheduler, SpecCluster
from distributed.diagnostics.plugin import WorkerPlugin

from .errors import ClusterError

__all__ = [
    "fix_malloc_trim",
    "gpu_worker_commands",
    "local_cluster",
    "malloc_tuned",
    "stop_profiler",
    "tune_worker_malloc",
    "visible_gpus",
]

_TRIM_VAR = "MALLOC_TRIM_THRESHOLD_"
# glibc's mallopt parameters and the ceiling its dynamic thresholds reach on 64-bit Linux.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD = 32 * 2**20
_TRIM_THRESHOLD = 2 * _MMAP_THRESHOLD
_NO_PROFILER = {"worker": {"profile": {"enabled": False}}}
_TUNED = False  # set once fix_malloc_trim has retuned malloc in this process


@contextlib.contextmanager
def local_cluster(
    n_workers: int | None = None,
    *,
    threads_per_worker: int = 1,
    gpus: str | int | Sequence[int] | None = None,
    dashboard_address: str | None = ":0",
    silence_logs: int = logging.CRITICAL,
) -> Iterator[Client]:
    """Start a local Dask cluster of worker processes, yield a client, then close both.

    Unlike a plain ``LocalCluster``, the workers run without ``MALLOC_TRIM_THRESHOLD_`` (see the
    module docstring), and the environment variables that distributed's nannies write into this
    process (``MALLOC_TRIM_THRESHOLD_``, ``OMP_NUM_THREADS``, ``PYTHONHASHSEED``...) are put back
    as they were, so processes started later are not slowed down. The workers' statistical
    profiler (the dashboard's Profile page) is off: it samples every thread 100 times a
    second, on the cores the training tasks need; a cluster of your own keeps dask's setting.

    Parameters
    ----------
    n_workers : int or None, default=None
        CPU worker processes. ``None`` means one per core, or none when ``gpus`` is given.
    threads_per_worker : int, default=1
        Threads per CPU worker; each thread trains one model at a time with one torch thread.
    gpus : "all", int, sequence of int or None, default=None
        Also start one single-threaded worker per GPU: it sees only that device
        (``CUDA_VISIBLE_DEVICES``) and declares the resource ``{"GPU": 1}``, so that trials asking
        for a GPU run one at a time on each device. ``"all"`` takes every visible GPU, an int the
        first ones, a sequence names device indices (as this process numbers them; they are
        not checked, so workers can declare a GPU for testing placement on a CPU-only machine).
        CPU workers of a mixed cluster see no GPU.
    dashboard_address : str or None, default=":0"
        Where the scheduler serves its dashboard (``":0"``: a free port); needs ``bokeh``,
        and is off without it.
    silence_logs : int, default=logging.CRITICAL
        Log level below which the cluster's log records are dropped (a fit's errors come back
        with its result; the workers' own logs are mostly noise, e.g. a heartbeat refused while
        the cluster closes).

    Yields
    ------
    distributed.Client
        Connected to the new cluster; ``client.dashboard_link`` is its dashboard.

    Examples
    --------
    >>> from tsrnn.cluster import local_cluster
    >>> with local_cluster(2) as client:  # doctest: +SKIP
    ...     print(len(client.scheduler_info()["workers"]))
    2
    """
    devices = _gpu_devices(gpus)
    if n_workers is None:
        n_workers = 0 if devices else max(1, os.cpu_count() or 1)
    if n_workers < 0 or (n_workers == 0 and not devices):
        raise ClusterError(
            f"local_cluster needs at least one worker; got n_workers={n_workers} and no GPUs."
        )
    total = n_workers + len(devices)
    memory_limit = distributed.system.MEMORY_LIMIT // total
    workers: dict[str, dict[str, Any]] = {}
    cpu_env = {"CUDA_VISIBLE_DEVICES": ""} if devices else {}
    for i in range(n_workers):
        workers[f"cpu-{i}"] = _nanny_spec(threads_per_worker, memory_limit, silence_logs, cpu_env)
    for device in devices:
        workers[f"gpu-{device}"] = _nanny_spec(
            1, memory_limit, silence_logs, {"CUDA_VISIBLE_DEVICES": device}, {"GPU": 1}
        )
    has_dashboard = dashboard_address is not None and importlib.util.find_spec("bokeh")
    scheduler = {
        "cls": Scheduler,
        "options": {
            "host": "127.0.0.1",
            "protocol": "tcp://",
            "dashboard": bool(has_dashboard),
            # The scheduler serves HTTP (metrics, health) even without the dashboard.
            "dashboard_address": dashboard_address if has_dashboard else ":0",
        },
    }
    with _restored_environ() as restore:
        with dask.config.set({f"distributed.nanny.pre-spawn-environ.{_TRIM_VAR}": None}):
            cluster = SpecCluster(
                workers=workers, scheduler=scheduler, silence_logs=silence_logs, name="tsrnn"
            )
        restore()  # e.g. OMP_NUM_THREADS=1 would reach torch's thread pool in this process
        try:
            client = Client(cluster)
            try:
                client.wait_for_workers(total)
                yield client
            finally:
                client.close()
        finally:
            cluster.close()


def visible_gpus() -> list[str]:
    """CUDA device names as the workers' ``CUDA_VISIBLE_DEVICES`` must spell them.

    Returns
    -------
    list of str
        One entry per GPU torch sees in this process, mapped through this process'
        ``CUDA_VISIBLE_DEVICES`` when it is set (device 0 of ``"2,3"`` is ``"2"``).
    """
    import torch

    count = torch.cuda.device_count()
    given = os.environ.get("CUDA_VISIBLE_DEVICES")
    names = [d.strip() for d in given.split(",")] if given else None
    return [names[i] if names and i < len(names) else str(i) for i in range(count)]


def gpu_worker_commands(
    scheduler_address: str, gpus: str | int | Sequence[int] | None = "all"
) -> list[str]:
    """Shell commands that start one Dask worker per GPU for ``scheduler_address``.

    Each worker sees one device, declares ``{"GPU": 1}`` (so :class:`tsrnn.SearchCV` sends it
    one CUDA trial at a time), runs one thread, and retunes malloc at start-up
    (``--preload tsrnn.cluster``). Run them on the GPU machine, e.g. in the background.

    Parameters
    ----------
    scheduler_address : str
        E.g. ``"tcp://10.0.0.5:8786"``, as printed by ``dask scheduler``.
    gpus : "all", int or sequence of int, default="all"
        The GPUs, as in :func:`local_cluster`.

    Returns
    -------
    list of str

    Examples
    --------
    >>> gpu_worker_commands("tcp://10.0.0.5:8786", gpus=[0, 1])[1]
    'CUDA_VISIBLE_DEVICES=1 dask worker tcp://10.0.0.5:8786 --nthreads 1 --resources GPU=1 \
--name gpu-1 --preload tsrnn.cluster'
    """
    return [
        f"CUDA_VISIBLE_DEVICES={device} dask worker {scheduler_address} --nthreads 1 "
        f"--resources GPU=1 --name gpu-{device} --preload tsrnn.cluster"
        for device in _gpu_devices(gpus)
    ]


def fix_malloc_trim(force: bool = False) -> bool:
    """Undo ``MALLOC_TRIM_THRESHOLD_``'s slowdown in this process, if it is set.

    Sets glibc's mmap and trim thresholds to the values its dynamic adjustment reaches
    (32 MiB and 64 MiB), so that tensors are reused from the heap instead of being mapped and
    unmapped at each step. Does nothing where the variable is unset (unless ``force``) or
    libc is not glibc.

    Parameters
    ----------
    force : bool, default=False
        Retune even without the variable. Training tasks do: a worker thread allocates from
        its own arena, which glibc can keep shrinking and growing again at every step (page
        faults, system time) when the dynamic thresholds never rose in that worker.

    Returns
    -------
    bool
        Whether malloc was retuned.
    """
    if (_TRIM_VAR not in os.environ and not force) or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    global _TUNED
    tuned = bool(
        mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    )
    _TUNED = _TUNED or tuned
    return tuned


def malloc_tuned() -> bool:
    """Whether :func:`fix_malloc_trim` retuned malloc in this process (e.g. at the start of a
    worker, by ``--preload tsrnn.cluster``): the variable may still be set, its effect is not."""
    return _TUNED


def tune_worker_malloc(client: Client) -> dict[str, bool]:
    """Apply :func:`fix_malloc_trim` in every worker of ``client``'s cluster, now and later.

    Registers a worker plugin, so workers that join or restart afterwards are retuned too.
    Use it on clusters you started yourself (``tsrnn.cluster.local_cluster`` does not need it).

    Parameters
    ----------
    client : distributed.Client

    Returns
    -------
    dict of str to bool
        Per worker address, whether malloc was retuned there (False where the variable is unset).
    """
    client.register_plugin(_MallocPlugin(), name="tsrnn-malloc")
    return client.run(fix_malloc_trim)


def dask_setup(worker: distributed.Worker) -> None:
    """Entry point of ``dask worker --preload tsrnn.cluster``: retune malloc in the worker, and
    stop its statistical profiler (see :func:`stop_profiler`)."""
    fix_malloc_trim()
    stop_profiler(worker)


def stop_profiler(worker: distributed.Worker) -> bool:
    """Stop a worker's statistical profiler (the dashboard's Profile page).

    It samples the stack of every thread 100 times a second, and each sample takes the GIL
    from the thread that trains: measured here, a fit on a dataset trained about 1.5x slower
    on ``dask worker`` processes with the profiler than on the same workers without it.
    Clusters tsrnn starts (:func:`local_cluster`) run without it; for workers you start,
    ``--preload tsrnn.cluster`` calls this.

    Returns
    -------
    bool
        Whether a profiler was running.
    """
    stopped = False
    for name in ("profile", "profile-cycle"):
        callback = worker.periodic_callbacks.pop(name, None)
        if callback is not None:
            callback.stop()
            stopped = True
    return stopped


class _MallocPlugin(WorkerPlugin):
    """Worker plugin applying :func:`fix_malloc_trim` when a worker starts."""

    def setup(self, worker: distributed.Worker) -> None:
        fix_malloc_trim()


def _nanny_spec(
    nthreads: int,
    memory_limit: int,
    silence_logs: int,
    env: dict[str, str],
    resources: dict[str, float] | None = None,
) -> dict[str, Any]:
    options = {
        "nthreads": nthreads,
        "memory_limit": memory_limit,
        "host": "127.0.0.1",
        "protocol": "tcp://",
        "dashboard": False,
        "silence_logs": silence_logs,
        "env": env,
        "resources": resources,
        # The workers' dask config (a restarted worker's too): a deep copy of this process'
        # with the statistical profiler off. A nanny's own copy is shallow, and would follow
        # later changes to this process' config.
        "config": {"distributed": dask.config.merge(dask.config.get("distributed"), _NO_PROFILER)},
    }
    return {"cls": Nanny, "options": options}


def _gpu_devices(gpus: str | int | Sequence[int] | None) -> list[str]:
    """Device names (for ``CUDA_VISIBLE_DEVICES``) of the GPU workers asked for."""
    if gpus is None:
        return []
    if isinstance(gpus, str):
        if gpus != "all":
            raise ClusterError(f"gpus must be 'all', an int or a list of ints; got {gpus!r}.")
        found = visible_gpus()
        if not found:
            raise ClusterError(
                "gpus='all' was asked for but torch sees no CUDA device here: check "
                "nvidia-smi and that torch was installed with CUDA support."
            )
        return found
    if isinstance(gpus, int):
        found = visible_gpus()
        if not 0 < gpus <= len(found):
            raise ClusterError(f"gpus={gpus} was asked for but {len(found)} GPU(s) are visible.")
        return found[:gpus]
    given = os.environ.get("CUDA_VISIBLE_DEVICES")
    names = [d.strip() for d in given.split(",")] if given else None
    return [names[int(i)] if names and int(i) < len(names) else str(int(i)) for i in gpus]


def _initial_environ() -> dict[str, str] | None:
    """The environment this process was started with (Linux), or None where unknown."""
    try:
        with open("/proc/self/environ", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


@contextlib.contextmanager
def _restored_environ() -> Iterator[Callable[[], None]]:
    """Keep the malloc trap out of spawned workers; leave this process' environment as it was.

    Nannies write ``distributed.nanny.pre-spawn-environ`` into ``os.environ`` before each
    (re)spawn of a worker. A ``MALLOC_TRIM_THRESHOLD_`` found here that this process was not
    started with (a plain ``LocalCluster`` left it) is removed for the life of the block, so
    that workers do not inherit it. The block receives a function that puts back every variable
    the nannies wrote; it runs again on exit.
    """
    keys = {_TRIM_VAR, "PYTHONHASHSEED"}
    keys |= set(dask.config.get("distributed.nanny.pre-spawn-environ"))
    before = {key: os.environ.get(key) for key in keys}
    initial = _initial_environ()
    if _TRIM_VAR in os.environ and initial is not None and _TRIM_VAR not in initial:
        del os.environ[_TRIM_VAR]
    during = {key: os.environ.get(key) for key in keys}

    def put_back(values: dict[str, str | None]) -> None:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    try:
        yield lambda: put_back(during)
    finally:
        put_back(before)
