"""A rank's training windows: its buckets' series encoded, one bucket at a time, into Panels
held in memory or on the worker's disk.

A rank encodes its series as a fit in one process does
(:func:`tsrnn._forecast.jobs.encode_series` for the final networks,
:func:`tsrnn._forecast.calibration.held_out` for their calibration twins: each series on its
own), but one bucket at a time, each bucket's encoded float32 arrays written into one array
per Panel: the float64 copies of the encoding live for a part of a bucket only
(:data:`PART_ROWS` rows). The arrays are in
memory when they fit the worker's budget for windows (:mod:`tsrnn._dataset.store`), else
files of its local directory read as memory maps, from which the batches are drawn; Dask
counts a map's pages read as the worker's memory, so :meth:`Panels.paged` gives them back
every few steps (they stay in the page cache, a fault away).
"""

from __future__ import annotations

import itertools
import mmap
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .._data.calendar import features_in
from .._forecast.calibration import held_out, held_out_cuts
from .._forecast.covariates import Covariates
from .._forecast.jobs import encode_series
from .._forecast.plan import Plan
from .._forecast.windows import Panel
from .buckets import Bucket
from .columns import split_inputs
from .store import disk_error, fits, spill_folder

__all__ = ["DROP_EVERY", "PART_ROWS", "Panels", "rank_panels"]

#: Steps between two returns of a memory-mapped Panel's pages.
DROP_EVERY = 4
#: Rows encoded at once (a bucket's series, a part at a time): the encoding's float64 copies
#: take some 150 bytes a row (measured) while a part is encoded.
PART_ROWS = 200_000


@dataclass
class Panels:
    """A rank's encoded series: the final networks' Panel and the calibration networks'.

    Attributes
    ----------
    final : Panel or None
        Every series of the rank (None: it has none).
    held : Panel or None
        The series long enough to hold a calibration window out, without their last
        windows (None: none, or no calibration).
    n_series, n_kept : int
        Series in each.
    on_disk : bool
        Whether their arrays are memory maps of files.
    maps : list of mmap.mmap
        The maps, whose pages :meth:`drop` gives back.
    """

    final: Panel | None
    held: Panel | None
    n_series: int
    n_kept: int
    on_disk: bool = False
    maps: list = field(default_factory=list)

    def drop(self) -> None:
        """Give back the pages of the maps read so far (Dask counts them as memory)."""
        for mapped in self.maps:
            mapped.madvise(mmap.MADV_DONTNEED)

    def paged(self, sample: Callable, every: int = DROP_EVERY) -> Callable:
        """``sample`` that gives the pages back every ``every`` steps (itself in memory)."""
        if not self.maps:
            return sample

        def draw(step: int):
            if step % every == 0:
                self.drop()
            return sample(step)

        return draw


def rank_panels(
    buckets: list[Bucket],
    plan: Plan,
    covariates: Covariates,
    size: int | None,
) -> Panels:
    """Encode the series of ``buckets`` into a rank's Panels, a part of a bucket at a time.

    Parameters
    ----------
    buckets : list of Bucket
    plan : Plan
    covariates : Covariates
        The input columns and their scaling.
    size : int or None
        Held-out windows per series of the calibration Panel; None: no calibration.

    Returns
    -------
    Panels
        The Panels of encoding all the series at once (the same arrays), in memory or in
        memory maps.

    Raises
    ------
    ClusterError
        If the worker's disk fills while the arrays are written (naming the worker and folder).
    """
    buckets = [b for b in buckets if b.n_series]
    n_feat = len(covariates.names)
    lengths = np.concatenate([b.lengths for b in buckets] or [np.zeros(0, np.int64)])
    cuts = np.zeros(0, np.int64)
    if size is not None:
        cuts = np.concatenate(
            [held_out_cuts(b.lengths, plan.horizon, size)[1] for b in buckets]
            or [np.zeros(0, np.int64)]
        )
    missing = any(b.n_missing for b in buckets)
    width = 1 + int(missing) + n_feat  # float32 arrays per row: values, seen, inputs
    rows = int(lengths.sum()) + int(cuts.sum())
    on_disk = not fits(4 * width * rows, "windows")
    folder = spill_folder() if on_disk else None
    final = _Writer(int(lengths.sum()), n_feat, missing, folder)
    held = _Writer(int(cuts.sum()), n_feat, missing, folder)
    features = features_in(covariates.names)
    try:
        for bucket in buckets:
            values, xs = split_inputs(bucket, features)
            for part in _parts(bucket.lengths):
                some = values[part]
                inputs = None if xs is None else covariates.scaled(xs[part])
                final.put(encode_series(plan, some, inputs).panel)
                if size is not None:
                    calibration = held_out(plan, some, inputs, size)
                    if calibration is not None:
                        held.put(calibration.panel)
            del values, xs
    except OSError as exc:
        raise disk_error(folder or "", exc) from None
    maps: list = []
    return Panels(
        final=final.panel(covariates.known, maps) if len(lengths) else None,
        held=held.panel(covariates.known, maps) if len(cuts) else None,
        n_series=len(lengths),
        n_kept=len(cuts),
        on_disk=on_disk,
        maps=maps,
    )


def _parts(lengths: np.ndarray) -> list[slice]:
    """Consecutive series of about :data:`PART_ROWS` rows in all (one series at least)."""
    ends = np.cumsum(lengths)
    cuts = np.searchsorted(ends, np.arange(PART_ROWS, int(ends[-1]), PART_ROWS), side="left")
    bounds = [0, *sorted({int(c) + 1 for c in cuts}), len(lengths)]
    return [slice(a, b) for a, b in itertools.pairwise(bounds) if b > a]


class _Writer:
    """The arrays of one Panel, filled one bucket's Panel after another: in memory, or
    written to files of ``folder`` and mapped once complete."""

    def __init__(self, rows: int, n_feat: int, missing: bool, folder: str | None) -> None:
        self.rows, self.folder, self.at = rows, folder, 0
        self.lengths: list[np.ndarray] = []
        shapes = {"values": (rows,), "seen": (rows,) if missing else None}
        shapes["exog"] = (rows, n_feat) if n_feat else None
        self.shapes = shapes
        self.arrays: dict[str, np.ndarray] = {}
        self.files: dict = {}
        for name, shape in shapes.items():
            if shape is None:
                continue
            if folder is None:
                self.arrays[name] = np.empty(shape, dtype=np.float32)
            else:
                os.makedirs(folder, exist_ok=True)
                self.files[name] = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 (mapped later)

    def put(self, panel: Panel) -> None:
        n = len(panel.values)
        parts = {"values": panel.values.numpy()}
        if self.shapes["seen"] is not None:
            seen = panel.seen
            parts["seen"] = np.ones(n, np.float32) if seen is None else seen.numpy()
        if self.shapes["exog"] is not None:
            parts["exog"] = panel.exog.numpy()
        for name, part in parts.items():
            if self.folder is None:
                self.arrays[name][self.at : self.at + n] = part
            else:
                self.files[name].write(np.ascontiguousarray(part, dtype=np.float32).data)
        self.lengths.append(panel.lengths.numpy())
        self.at += n

    def panel(self, known, maps: list) -> Panel:
        arrays = dict(self.arrays)
        for name, f in self.files.items():
            f.flush()
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
            f.close()  # a temporary file: gone once unmapped
            maps.append(mapped)
            arrays[name] = np.frombuffer(mapped, dtype=np.float32).reshape(self.shapes[name])
        return Panel.of_arrays(
            arrays["values"],
            np.concatenate(self.lengths),
            seen=arrays.get("seen"),
            exog=arrays.get("exog"),
            known=known,
        )
