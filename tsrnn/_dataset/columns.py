"""The columns a network reads beside the target on a dataset, and their scaling over buckets.

Runs in the workers (:func:`inputs_of`, :func:`column_moments`) and in the client
(:func:`pooled_scaling`). A bucket's inputs are its exogenous columns, then its static ones
(each series' row repeated over its stamps, as :func:`tsrnn._data.static.static_columns`
appends them in memory), then the calendar columns of its stamps
(:func:`tsrnn._data.calendar.calendar_columns`, as
:func:`tsrnn._forecast.covariates.with_calendar` appends them in memory, gaps included). Their
scaling is the one :func:`tsrnn._forecast.covariates.fit_columns` gives over all rows, from
per-bucket counts, means, sums of squared deviations, minima and maxima (Chan's pairwise
update): a few floats per column and bucket reach the client, never a row.
"""

from __future__ import annotations

import numpy as np

from .._data.calendar import calendar_columns
from .._forecast.covariates import column_scaling
from .buckets import Bucket

__all__ = ["calendar_names", "column_moments", "inputs_of", "pooled_scaling"]


def calendar_names(features: list[str]) -> list[str]:
    """The names of the calendar columns of ``features`` (``calendar:week_sin``, ...)."""
    return calendar_columns(np.array([], dtype="datetime64[ns]"), list(features))[0]


def inputs_of(bucket: Bucket, features: list[str]) -> np.ndarray | None:
    """A bucket's input rows: its exogenous columns, its static ones (constant within each
    series), then the calendar ones of ``features``.

    Parameters
    ----------
    bucket : Bucket
    features : list of str
        Calendar features (:func:`tsrnn._data.calendar.calendar_features`); empty: none.

    Returns
    -------
    ndarray of shape (n_rows, n_feat) or None
        Unscaled; None when there is no column at all.
    """
    parts = [] if bucket.exog is None else [bucket.exog]
    if bucket.static is not None and bucket.static.shape[1]:
        parts.append(np.repeat(bucket.static, bucket.lengths, axis=0))
    if features:
        stamps = np.empty(0, dtype="datetime64[ns]") if bucket.stamps is None else bucket.stamps
        parts.append(calendar_columns(stamps, features)[1])
    if not parts:
        return None
    return np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]


def split_inputs(bucket: Bucket, features: list[str]) -> tuple[list, list | None]:
    """Each series' values (n_k,) and input rows (n_k, n_feat) (None without columns)."""
    values, _ = bucket.split()
    rows = inputs_of(bucket, features)
    if rows is None:
        return values, None
    return values, np.split(rows, np.cumsum(bucket.lengths)[:-1])


def column_moments(bucket: Bucket, features: list[str], n_feat: int) -> dict[str, np.ndarray]:
    """Count, mean, sum of squared deviations, minimum and maximum of each input column.

    Parameters
    ----------
    bucket : Bucket
    features : list of str
        Calendar features.
    n_feat : int
        Columns in all (for an empty bucket).

    Returns
    -------
    dict
        ``n`` (int), and ``mean``, ``m2``, ``min``, ``max``: ndarray of shape (n_feat,).
    """
    rows = inputs_of(bucket, features) if bucket.n_series else None
    if rows is None or not len(rows):
        return {
            "n": 0,
            "mean": np.zeros(n_feat),
            "m2": np.zeros(n_feat),
            "min": np.full(n_feat, np.inf),
            "max": np.full(n_feat, -np.inf),
        }
    mean = rows.mean(axis=0)
    return {
        "n": len(rows),
        "mean": mean,
        "m2": ((rows - mean) ** 2).sum(axis=0),
        "min": rows.min(axis=0),
        "max": rows.max(axis=0),
    }


def pooled_scaling(kind: str, parts: list[dict], codes=()) -> tuple[np.ndarray, np.ndarray]:
    """``loc`` and ``scale`` of each column over every bucket's rows, as
    :func:`~tsrnn._forecast.covariates.fit_columns` gives them over the rows stacked.

    Parameters
    ----------
    kind : {"auto", "standard", "log", "minmax", "none"}
        The forecaster's ``scaler``.
    parts : list of dict
        :func:`column_moments` of each bucket.
    codes : sequence of bool, default=()
        Per column, whether it holds category codes (0 and 1).

    Returns
    -------
    loc, scale : ndarray of shape (n_feat,)
    """
    n, mean, m2 = 0, None, None
    low = np.min([p["min"] for p in parts], axis=0)
    high = np.max([p["max"] for p in parts], axis=0)
    for part in parts:
        if not part["n"]:
            continue
        if mean is None:
            n, mean, m2 = part["n"], part["mean"].copy(), part["m2"].copy()
            continue
        total = n + part["n"]
        delta = part["mean"] - mean
        mean = mean + delta * (part["n"] / total)
        m2 = m2 + part["m2"] + delta**2 * (n * part["n"] / total)
        n = total
    if mean is None:  # no rows anywhere
        mean = m2 = np.zeros(len(low))
    return column_scaling(kind, mean, np.sqrt(m2 / max(n, 1)), low, high, codes)
