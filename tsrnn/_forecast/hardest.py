"""The series a forecaster errs most on: each series' error on its calibration windows.

The measure is the one that chooses the combination with Theta (``calibration_errors_``): the
absolute error of each held-out window and step, in units of its series' spread (the mean
absolute one-step change of the encoded series, so a MASE of the log for a positive series),
averaged over the series' windows. It costs nothing more than the calibration: its scores are
already in these units. In one process every series' error is kept; on a dataset, each bucket
sends its :data:`HARDEST` largest and the client keeps the largest of those.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["HARDEST", "largest_errors", "merge_largest", "series_errors"]

#: The series of largest calibration error a fit on a dataset keeps (its hardest).
HARDEST = 10


def series_errors(errors: np.ndarray, series: np.ndarray, n_series: int) -> np.ndarray:
    """Each series' mean absolute error over its windows.

    Parameters
    ----------
    errors : ndarray of shape (n_windows, horizon)
        Signed errors, in units of each series' spread.
    series : ndarray of shape (n_windows,)
        The position of each window's series, in ``range(n_series)``.
    n_series : int

    Returns
    -------
    ndarray of shape (n_series,)
        NaN for a series without a window.

    Examples
    --------
    >>> series_errors(np.array([[1.0, -3.0], [2.0, 2.0], [-4.0, 0.0]]), np.array([0, 0, 2]), 3)
    array([ 2., nan,  2.])
    """
    each = np.abs(np.asarray(errors, dtype=np.float64)).mean(axis=1) if len(errors) else []
    sums = np.bincount(series, weights=each, minlength=n_series)
    counts = np.bincount(series, minlength=n_series)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def largest_errors(errors: np.ndarray, ids: list, k: int | None = None) -> pd.Series:
    """``errors`` indexed by ``ids``, largest first, NaN left out; the ``k`` largest unless
    None.

    Parameters
    ----------
    errors : ndarray of shape (n_series,)
    ids : list of length n_series
    k : int or None, default=None

    Returns
    -------
    Series
        Named ``"error"``.

    Examples
    --------
    >>> largest_errors(np.array([0.5, np.nan, 2.0, 1.0]), ["a", "b", "c", "d"], k=2).to_dict()
    {'c': 2.0, 'd': 1.0}
    """
    index = pd.Index(pd.Series(list(ids), dtype=object))
    found = pd.Series(np.asarray(errors, dtype=np.float64), index=index, name="error").dropna()
    found = found.sort_values(ascending=False, kind="stable")
    return found if k is None else found.iloc[:k]


def merge_largest(parts: list[pd.Series], k: int) -> pd.Series:
    """The ``k`` largest of several :func:`largest_errors`, largest first.

    Examples
    --------
    >>> a = largest_errors(np.array([3.0, 1.0]), ["a", "b"])
    >>> b = largest_errors(np.array([2.0, 4.0]), ["c", "d"])
    >>> merge_largest([a, b], k=3).index.tolist()
    ['d', 'a', 'c']
    """
    kept = [part for part in parts if len(part)]
    if not kept:
        return largest_errors(np.zeros(0), [], k)
    merged = pd.concat(kept).sort_values(ascending=False, kind="stable")
    return merged.iloc[:k].rename("error")
