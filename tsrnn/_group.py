"""One linear-time grouping of rows by series id, shared by every place that splits long data.

Long-format data holds many series in one table, one row per (series id, timestamp). Every
consumer (the CSV/Parquet reader, the validation, the forecaster, the backtest) needs the rows
of each series as one block. :func:`group_rows` factorises the ids once and sorts once (a
stable sort, so rows keep their order inside a series), which costs ``O(n log n)`` for ``n``
rows whatever the number of series; a boolean mask per id would cost ``O(n * n_series)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

__all__ = ["Groups", "group_rows"]


@dataclass(frozen=True)
class Groups:
    """Rows of a long table grouped by series id, ids in first-seen order.

    Attributes
    ----------
    keys : ndarray of shape (n_series,)
        The distinct ids, in the order they first appear (object dtype keeps mixed types).
    codes : ndarray of shape (n_rows,)
        Position of each row's id in ``keys``.
    order : ndarray of shape (n_rows,)
        Row positions sorted by series (stable: rows keep their order within a series).
        ``values[order]`` puts every series in one contiguous block.
    starts : ndarray of shape (n_series + 1,)
        Block boundaries in ``values[order]``: series ``k`` is ``starts[k]:starts[k + 1]``.
    """

    keys: np.ndarray
    codes: np.ndarray
    order: np.ndarray
    starts: np.ndarray

    @property
    def n_series(self) -> int:
        """Number of distinct ids."""
        return len(self.keys)

    @property
    def lengths(self) -> np.ndarray:
        """Rows per series, shape (n_series,)."""
        return np.diff(self.starts)

    @property
    def contiguous(self) -> bool:
        """Whether the rows already are one block per series, in first-seen order."""
        return bool(np.all(self.order == np.arange(len(self.order))))

    def slices(self) -> list[slice]:
        """One ``slice`` per series into ``values[order]``."""
        s = self.starts.tolist()
        return [slice(a, b) for a, b in pairwise(s)]

    def split(self, values: np.ndarray) -> list[np.ndarray]:
        """Cut ``values`` (shape (n_rows, ...)) into one array per series.

        The pieces are views when the rows already are contiguous, copies of one sorted array
        otherwise.

        Parameters
        ----------
        values : ndarray of shape (n_rows, ...)

        Returns
        -------
        list of ndarray, one of shape (length_k, ...) per series
        """
        ordered = values if self.contiguous else values[self.order]
        return [ordered[s] for s in self.slices()]


def group_rows(ids: pd.Index | np.ndarray | list) -> Groups:
    """Group row positions by id in one pass (factorise once, stable sort once).

    Parameters
    ----------
    ids : Index, ndarray or list of shape (n_rows,)
        Series id of each row; any hashable values, mixed types included. Missing ids (NaN,
        None) must be rejected by the caller first.

    Returns
    -------
    Groups

    Examples
    --------
    >>> g = group_rows(["b", "a", "b", "a", "a"])
    >>> g.keys.tolist(), g.lengths.tolist()
    (['b', 'a'], [2, 3])
    >>> [p.tolist() for p in g.split(np.array([10, 20, 11, 21, 22]))]
    [[10, 11], [20, 21, 22]]
    """
    codes, uniques = pd.factorize(pd.Index(ids), sort=False)
    codes = np.asarray(codes, dtype=np.intp)
    keys = np.asarray(uniques, dtype=object)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=len(keys))
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.intp)
    return Groups(keys=keys, codes=codes, order=order, starts=starts)
