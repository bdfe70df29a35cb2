"""The one Dask layer under the search (:mod:`tsrnn.search`) and training (:mod:`tsrnn.parallel`).

What both need from a cluster lives here: connecting (a client, a scheduler address, or a local
cluster started for the job) and gathering the workers' facts, the malloc-trap warning for
clusters tsrnn did not start, the test that some worker can take a task's resources and the
watchdog that fails a job when none can any more, and whether a fit wants a GPU there. What
runs inside the workers is in :mod:`tsrnn._dask.worker`. This module imports distributed;
``import tsrnn`` does not.
"""

from __future__ import annotations

import contextlib
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dask
import distributed
from distributed import Client, Future

from ..cluster import gpu_worker_commands, local_cluster
from ..errors import ClusterError, ParameterError
from .worker import worker_facts

__all__ = [
    "RECEIVED",
    "Connection",
    "Received",
    "Watchdog",
    "connect",
    "fetch",
    "hold",
    "reduce_where",
    "unsatisfiable",
    "user_stacklevel",
    "wants_cuda",
    "warn_malloc_trap",
]

WORKER_WAIT_S = 30.0  # how long a scheduler may stay without (suitable) workers


@dataclass
class Connection:
    """A client ready for work.

    Attributes
    ----------
    client : distributed.Client
    own : bool
        Whether the cluster was started for this job (closed with the ``stack`` given to
        :func:`connect`).
    facts : dict
        Worker address -> :func:`worker_facts` of that worker.
    """

    client: Client
    own: bool
    facts: dict[str, dict[str, Any]]


def connect(
    spec: Client | str | None,
    *,
    n_workers: int | None,
    stack: contextlib.ExitStack,
    error: type[Exception] = ClusterError,
) -> Connection:
    """A client of the cluster ``spec`` names, with at least one worker.

    Parameters
    ----------
    spec : distributed.Client, str or None
        A client (used as is), a scheduler address such as ``"tcp://host:8786"``, or None:
        the scheduler of ``DASK_SCHEDULER_ADDRESS`` (dask config ``scheduler-address``) if set,
        else a new :func:`tsrnn.cluster.local_cluster` of ``n_workers`` processes.
    n_workers : int or None
        Workers of a local cluster (None: one per core).
    stack : contextlib.ExitStack
        Owns what was opened here (the local cluster, or the client of an address).
    error : exception class, default=ClusterError
        What to raise when the scheduler cannot be reached or has no worker.

    Returns
    -------
    Connection

    Raises
    ------
    ParameterError
        If ``spec`` is of another type.
    error
        If the scheduler cannot be reached, or has no worker within 30 s.
    """
    if spec is None:
        spec = dask.config.get("scheduler-address", None)
    own = spec is None
    if own:
        client = stack.enter_context(local_cluster(n_workers))
    elif isinstance(spec, str):
        try:
            client = stack.enter_context(Client(spec, timeout="10s"))
        except OSError as exc:
            raise error(
                f"Cannot reach the Dask scheduler at {spec!r} ({exc}): start one with "
                "`dask scheduler` and workers with `dask worker ADDRESS`, or let tsrnn start "
                "a local cluster (client=None, or no --scheduler)."
            ) from None
    elif isinstance(spec, Client):
        client = spec
    else:
        raise ParameterError(
            "client must be None, a scheduler address such as 'tcp://host:8786' or a "
            f"distributed.Client; got {type(spec).__name__}."
        )
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_S)
    except TimeoutError:
        raise error(
            f"The Dask scheduler at {client.scheduler.address} has no workers after "
            f"{WORKER_WAIT_S:.0f} s: start some with `dask worker "
            f"{client.scheduler.address}`."
        ) from None
    facts = client.run(worker_facts)
    if not own:
        warn_malloc_trap(facts)
    return Connection(client, own, facts)


def hold(
    client: Client, data: Any, *, everywhere: bool = False, timeout: float = WORKER_WAIT_S
) -> Future:
    """``data`` on the cluster, as a future that Dask can rebuild: the result of a task that
    carries it, not a scattered value, so that the work depending on it survives the death of
    the worker that held it (a scattered value dies with its last copy and cancels every task
    that needed it). ``everywhere``: a copy on every worker (many tasks read it).

    Raises
    ------
    ClusterError
        With ``everywhere``, if the cluster has had no worker for ``timeout`` seconds while
        the copy was waited for (every worker left).
    """
    future = client.submit(_same, data, pure=False)
    if everywhere:
        alone_since = None
        while not future.done():
            with contextlib.suppress(distributed.TimeoutError):
                distributed.wait(future, timeout=2.0)
            if future.done() or client.scheduler_info(n_workers=-1)["workers"]:
                alone_since = None
                continue
            alone_since = alone_since or time.monotonic()
            if time.monotonic() - alone_since > timeout:
                client.cancel([future])
                raise ClusterError(
                    f"Every worker of the cluster at {client.scheduler.address} left, and "
                    f"none came back within {timeout:.0f} s: the work was stopped. Start "
                    "workers and run it again."
                )
        # Copies are a speed-up only (tasks start where their data is): a worker lost while
        # they are made leaves the future, which Dask rebuilds where it is needed.
        with contextlib.suppress(Exception):
            client.replicate([future])
    return future


def _same(data: Any) -> Any:
    return data


@dataclass
class Received:
    """What reached this process from the workers through :func:`fetch`: results, and the
    bytes of their pickles (exact, unlike Dask's ``sizeof``, which samples the items of a
    collection of more than ten)."""

    objects: int = 0
    bytes: int = 0


#: The tally of :func:`fetch` in this process (a test reads it to check that the client's
#: share of a job does not grow with the data).
RECEIVED = Received()


def fetch(client: Client, futures: list[Future]) -> list[Any]:
    """``client.gather(futures)``, counted in :data:`RECEIVED`: every result of a dataset job
    that reaches the client comes through here."""
    import pickle

    results = client.gather(futures)
    RECEIVED.objects += len(results)
    RECEIVED.bytes += sum(len(pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL)) for r in results)
    return results


def reduce_where(
    client: Client, futures: list[Future], combine: Callable[[list], Any], fan_in: int = 16
) -> Any:
    """``combine`` of the futures' results, computed by the workers in a tree of ``fan_in``
    results at a time (``combine(list) -> result``, associative): the client receives one
    result (through :func:`fetch`), not one per future.

    Parameters
    ----------
    client : Client
    futures : list of Future
        At least one.
    combine : callable(list) -> Any
    fan_in : int, default=16

    Returns
    -------
    Any
        ``combine`` of all the results (the one result itself for one future).
    """
    level = list(futures)
    while len(level) > 1:
        level = [
            client.submit(_combined, combine, *level[i : i + fan_in], pure=False)
            for i in range(0, len(level), fan_in)
        ]
    [result] = fetch(client, level)
    return result


def _combined(combine: Callable[[list], Any], *parts: Any) -> Any:
    return combine(list(parts))


def warn_malloc_trap(facts: dict[str, dict[str, Any]]) -> None:
    """Warn when workers run with distributed's ``MALLOC_TRIM_THRESHOLD_`` (slow training) and
    nothing retuned malloc in them (``--preload tsrnn.cluster`` or the worker plugin do)."""
    trapped = [
        address
        for address, f in facts.items()
        if f["malloc_trim"] is not None and not f.get("malloc_tuned", False)
    ]
    if trapped:
        warnings.warn(
            f"{len(trapped)} of {len(facts)} Dask workers run with MALLOC_TRIM_THRESHOLD_="
            f"{facts[trapped[0]]['malloc_trim']} (distributed's default), which makes training "
            "in them up to 2.5x slower: call tsrnn.cluster.tune_worker_malloc(client) once, or "
            "start the workers with `--preload tsrnn.cluster`.",
            RuntimeWarning,
            stacklevel=user_stacklevel(),
        )


def unsatisfiable(client: Client, resources: dict[str, float]) -> str | None:
    """A message when no worker declares ``resources`` (Dask would wait forever), else None.

    Parameters
    ----------
    client : distributed.Client
    resources : dict
        What each task asks for, e.g. ``{"GPU": 1}``.

    Returns
    -------
    str or None
    """
    if not resources:
        return None
    workers = client.scheduler_info(n_workers=-1)["workers"]
    if any(
        all(w.get("resources", {}).get(k, 0) >= v for k, v in resources.items())
        for w in workers.values()
    ):
        return None
    declared = sorted({f"{k}={v:g}" for w in workers.values() for k, v in w["resources"].items()})
    address = client.scheduler.address
    wanted = ",".join(f"{k}={v:g}" for k, v in resources.items())
    example = f"dask worker {address} --resources {wanted}"
    if "GPU" in resources:
        example = gpu_worker_commands(address, gpus=[0])[0]
    return (
        f"No worker of the cluster at {address} declares the resources {resources} that each "
        f"fit asks for (workers declare: {', '.join(declared) or 'no resources'}), so the fits "
        f"would wait forever. Start such workers, e.g. `{example}` (one per GPU: see "
        "tsrnn.cluster.gpu_worker_commands or local_cluster(gpus='all')), or pass resources={} "
        "to run the fits on any worker."
    )


def wants_cuda(device: str, gpu_here: bool) -> bool:
    """Whether a network with this ``device`` parameter trains on a GPU where it runs.

    Parameters
    ----------
    device : str
        The parameter: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
    gpu_here : bool
        Whether the place it runs (a worker, a cluster) has a GPU: what ``"auto"`` picks by.

    Returns
    -------
    bool

    Examples
    --------
    >>> wants_cuda("cuda:1", gpu_here=False), wants_cuda("auto", gpu_here=True)
    (True, True)
    >>> wants_cuda("auto", gpu_here=False), wants_cuda("cpu", gpu_here=True)
    (False, False)
    """
    return device.startswith("cuda") or (device == "auto" and gpu_here)


class Watchdog(threading.Thread):
    """Call ``on_fatal(message)`` once no worker has been able to take the job's tasks for
    ``wait_s`` seconds (e.g. the last GPU worker left): they would wait forever.

    Parameters
    ----------
    client : distributed.Client
    resources : callable() -> dict
        What each task asks for now.
    on_fatal : callable(str)
    interval, wait_s : float
        Seconds between checks, and how long the cluster may stay unable.
    """

    def __init__(
        self,
        client: Client,
        resources: Callable[[], dict[str, float]],
        on_fatal: Callable[[str], None],
        interval: float = 2.0,
        wait_s: float = WORKER_WAIT_S,
    ) -> None:
        super().__init__(name="tsrnn-dask-watchdog", daemon=True)
        self.client, self.resources, self.on_fatal = client, resources, on_fatal
        self.interval, self.wait_s = interval, wait_s
        self.stopped = threading.Event()

    def __enter__(self) -> Watchdog:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.join(timeout=5)

    def run(self) -> None:
        since = None
        while not self.stopped.wait(self.interval):
            try:
                problem = unsatisfiable(self.client, self.resources())
            except Exception:  # the client is closing
                return
            if problem is None:
                since = None
                continue
            since = since or time.monotonic()
            if time.monotonic() - since > self.wait_s:
                self.on_fatal(f"For {self.wait_s:.0f} s: " + problem[0].lower() + problem[1:])
                return


def user_stacklevel() -> int:
    """The stack level of the first frame outside tsrnn (for warnings)."""
    import sys

    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] == "tsrnn":
        frame, level = frame.f_back, level + 1
    return level
