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

__all__ = ["Groups", "group_rows", "split_series"]


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


def split_series(y: pd.Series, X: pd.DataFrame | None) -> tuple[list, list, list | None, list]:
    """Ids, per-series values, exog arrays (or None) and last stamps, in first-seen id order."""
    x_all = None if X is None else X.to_numpy(dtype=np.float64)
    if not isinstance(y.index, pd.MultiIndex):
        xs = None if x_all is None else [x_all]
        return [None], [y.to_numpy(dtype=np.float64)], xs, [_last_stamp(y.index[-1])]
    groups = group_rows(y.index.get_level_values(0))
    values = groups.split(y.to_numpy(dtype=np.float64))
    xs = None if x_all is None else groups.split(x_all)
    stamps = y.index.get_level_values(1)
    ends = groups.order[groups.starts[1:] - 1]
    last = [_last_stamp(stamps[i]) for i in ends]
    return list(groups.keys), values, xs, last


def _last_stamp(value):
    return int(value) if isinstance(value, (int, np.integer)) else pd.Timestamp(value)
