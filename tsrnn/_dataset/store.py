"""Where a worker keeps the rows of its buckets and its training windows: in memory within a
budget, beyond it in its local directory, read as memory maps.

A Dask worker keeps its buckets' rows in memory up to ``tsrnn.memory.buckets`` (Dask config,
default 0.2) of its memory limit, and a rank's training windows (the encoded series,
:mod:`tsrnn._dataset.panels`) up to ``tsrnn.memory.windows`` (default 0.5) of it less the
buckets it holds; beyond, each array is a file of the worker's local directory (``dask worker
--local-directory``), read as a memory map where it is used: the fit completes, slower, and
the worker is never paused for memory. Dask pauses a worker at 80 % of its limit: the rest
is the worker's own (Python, torch, a bucket being made).

:func:`keep` places an array; :class:`Stored` is an array in a file, removed with the last
reference to it, which travels (pickled) as its values; a bucket unpickled in a worker
places its rows again, within that worker's budget.
A disk that fills is one :class:`~tsrnn.errors.ClusterError` line naming the worker and its
directory.
"""

from __future__ import annotations

import contextlib
import os
import uuid
import weakref

import numpy as np

from .._dask.memory import worker_budget
from ..errors import ClusterError

__all__ = [
    "BUCKETS",
    "WINDOWS",
    "Stored",
    "disk_error",
    "fits",
    "held_bytes",
    "keep",
    "read",
    "share",
    "spill_folder",
]

#: Default share of a worker's memory limit its buckets' rows may take.
BUCKETS = 0.2
#: Default share of it its buckets and a rank's training windows may take together.
WINDOWS = 0.5

_HELD: dict[int, int] = {}  # id of an array kept in memory -> its bytes, while it lives


def share(kind: str) -> float:
    """The share of a worker's memory limit ``kind`` ("buckets" or "windows") may take: the
    Dask config ``tsrnn.memory.<kind>`` where it runs (e.g. ``DASK_TSRNN__MEMORY__BUCKETS=0``
    in a worker's environment puts every bucket on disk)."""
    import dask

    default = BUCKETS if kind == "buckets" else WINDOWS
    return float(dask.config.get(f"tsrnn.memory.{kind}", default))


def held_bytes() -> int:
    """Bytes of the bucket rows this process keeps in memory."""
    return sum(_HELD.values())


def _hold(array: np.ndarray) -> np.ndarray:
    key = id(array)
    if key not in _HELD:
        _HELD[key] = int(array.nbytes)
        weakref.finalize(array, _HELD.pop, key, None)
    return array


class Stored:
    """An array in a file of a worker's local directory (``.npy``), read as a memory map.

    The file is removed when the last reference to this object goes. Pickled (a bucket sent
    to another worker, or spilled by Dask), it travels as its values: the bucket places them
    again where they land.

    Parameters
    ----------
    array : ndarray
    folder : str
        Where the file goes (created if missing).
    """

    def __init__(self, array: np.ndarray, folder: str) -> None:
        self.path = os.path.join(folder, f"{uuid.uuid4().hex}.npy")
        self.shape, self.dtype = array.shape, array.dtype
        try:
            os.makedirs(folder, exist_ok=True)
            np.save(self.path, np.ascontiguousarray(array))
        except OSError as exc:
            _remove(self.path)
            raise disk_error(folder, exc) from None
        weakref.finalize(self, _remove, self.path)

    def read(self) -> np.ndarray:
        """The array, as a read-only memory map of the file."""
        if not self.shape or 0 in self.shape:
            return np.empty(self.shape, self.dtype)
        return np.load(self.path, mmap_mode="r")

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize

    def __reduce__(self) -> tuple:
        return np.array, (self.read(),)


def read(array: np.ndarray | Stored | None) -> np.ndarray | None:
    """``array`` itself, or the memory map of a :class:`Stored` one."""
    return array.read() if isinstance(array, Stored) else array


def keep(*arrays: np.ndarray | None, kind: str = "buckets") -> tuple:
    """``arrays`` kept in memory, or :class:`Stored` in the worker's local directory when
    together they do not fit this worker's share ``kind`` of its memory limit.

    Parameters
    ----------
    *arrays : ndarray or None
        The arrays of one bucket (or of one rank's windows): all in memory or all on disk.
    kind : {"buckets", "windows"}

    Returns
    -------
    tuple of ndarray, Stored or None
        In memory outside a worker, or in a worker with no memory limit.
    """
    given = [a for a in arrays if a is not None]
    if fits(sum(int(a.nbytes) for a in given), kind):
        return tuple(_hold(a) if a is not None and kind == "buckets" else a for a in arrays)
    folder = spill_folder()
    return tuple(None if a is None else Stored(a, folder) for a in arrays)


def fits(nbytes: int, kind: str = "buckets") -> bool:
    """Whether ``nbytes`` more fit in memory within this worker's share ``kind``."""
    limit, _ = worker_budget()
    if limit is None:
        return True
    return held_bytes() + nbytes <= share(kind) * limit


def spill_folder() -> str:
    """The folder of this worker's stored arrays (in its local directory)."""
    _, local = worker_budget()
    return os.path.join(local or os.getcwd(), "tsrnn-rows")


def disk_error(folder: str, exc: OSError) -> ClusterError:
    """The one line of a disk that fills (or cannot be written) under a worker."""
    from .._dask.worker import worker_address

    who = worker_address() or "this process"
    return ClusterError(
        f"Worker {who} could not write its data to {folder} ({exc.strerror or exc}): free "
        "space there, or start the workers with a --local-directory on a larger disk, or with "
        "more memory."
    )


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)
