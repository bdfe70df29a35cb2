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
from .buckets import Bucket, moments_of

__all__ = [
    "calendar_names",
    "column_moments",
    "inputs_of",
    "pooled_scaling",
    "split_inputs",
]


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
        Unscaled, float64; None when there is no column at all.
    """
    parts = [] if bucket.exog is None else [bucket.exog]
    return _joined(parts + _made(bucket, features))


def _made(bucket: Bucket, features: list[str]) -> list[np.ndarray]:
    """The static rows repeated over each series' stamps, and the calendar columns."""
    parts = []
    if bucket.static is not None and bucket.static.shape[1]:
        parts.append(np.repeat(bucket.static, bucket.lengths, axis=0))
    if features:
        parts.append(calendar_columns(bucket.stamps, features)[1])
    return parts


def _joined(parts: list[np.ndarray]) -> np.ndarray | None:
    if not parts:
        return None
    return np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]


def split_inputs(bucket: Bucket, features: list[str]) -> tuple[list, list | None]:
    """Each series' values (n_k,) float32 and input rows (n_k, n_feat) (None without
    columns)."""
    values, _ = bucket.split()
    rows = inputs_of(bucket, features)
    if rows is None:
        return values, None
    return values, np.split(rows, np.cumsum(bucket.lengths)[:-1])


def column_moments(bucket: Bucket, features: list[str], n_feat: int) -> dict[str, np.ndarray]:
    """Count, mean, sum of squared deviations, minimum and maximum of each input column.

    The numeric exogenous columns' come from the values read, in float64
    (:attr:`Bucket.moments`: the bucket holds them in float32), the others from the rows.

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
    if not bucket.n_series or not n_feat:
        return {
            "n": 0,
            "mean": np.zeros(n_feat),
            "m2": np.zeros(n_feat),
            "min": np.full(n_feat, np.inf),
            "max": np.full(n_feat, -np.inf),
        }
    parts = []
    if bucket.coded:
        coded = np.array(bucket.coded)
        exog = {key: np.empty(len(coded)) for key in ("mean", "m2", "min", "max")}
        if bucket.moments is not None:
            for key in exog:
                exog[key][~coded] = bucket.moments[key]
        if coded.any():
            found = moments_of(bucket.exog[:, coded])
            for key in exog:
                exog[key][coded] = found[key]
        parts.append(exog)
    made = _joined(_made(bucket, features))
    if made is not None:
        parts.append(moments_of(made))
    return {
        "n": int(bucket.lengths.sum()),
        **{key: np.concatenate([p[key] for p in parts]) for key in ("mean", "m2", "min", "max")},
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
