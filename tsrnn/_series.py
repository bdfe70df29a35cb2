"""Validation of dated series shared by :class:`tsrnn.RNNForecaster` and the CSV reader.

:func:`check_series` turns what a user hands in (a Series, a one-column DataFrame, or a long
Series of many series indexed by ``(id, timestamp)``) into one normal form, or raises a
:class:`~tsrnn.errors.DataError` whose single sentence says what is wrong and how to fix it.
"""

from __future__ import annotations

import warnings
from collections import Counter

import numpy as np
import pandas as pd

from .errors import DataError

__all__ = ["check_series", "future_index", "infer_frequency"]

# A timestamp index needs at least this many points for pandas to infer its frequency.
_MIN_POINTS_FOR_FREQ = 3


def check_series(
    y: pd.Series | pd.DataFrame,
    X: pd.DataFrame | pd.Series | None = None,
    *,
    name: str = "y",
) -> tuple[pd.Series, pd.DataFrame | None]:
    """Validate a target series (and its exogenous columns) and return them in normal form.

    Parameters
    ----------
    y : Series or DataFrame of shape (n_timesteps,) or (n_timesteps, 1)
        The target, oldest first, indexed by a ``DatetimeIndex`` with a regular frequency that
        pandas can infer, or by a ``RangeIndex`` (or evenly spaced integers). For many series,
        a Series (or one-column DataFrame) with a 2-level ``MultiIndex``: level 0 the series
        id, level 1 the timestamp; every series must have the same frequency.
    X : DataFrame or Series of shape (n_timesteps, n_features) or None, default=None
        Exogenous variables on exactly the same index as ``y``.
    name : str, default="y"
        How messages call the target (e.g. the CSV file name).

    Returns
    -------
    y : Series of shape (n_timesteps,)
        float64 values. A single ``DatetimeIndex`` carries its frequency in ``index.freq``;
        for every kind of index the frequency string (or integer step for a ``RangeIndex``) is
        also in ``y.attrs["freq"]``.
    X : DataFrame of shape (n_timesteps, n_features) or None
        float64 columns, on the index of ``y``.

    Raises
    ------
    DataError
        If the index is not sorted, has duplicated timestamps, gaps or no inferable
        frequency, if a value is NaN or not numeric, or if ``X`` is not aligned with ``y``.
    """
    y = _as_series(y, name)
    given_index, positions = y.index, None
    if isinstance(y.index, pd.MultiIndex):
        y, freq, positions = _check_many(y, name)
    else:
        y.index, freq = _check_index(y.index, name)
    y = _numeric_values(y, name)
    y.attrs["freq"] = freq
    if X is not None:
        X = _check_exog(X, y, name, given_index, positions)
    return y, X


def infer_frequency(index: pd.Index, name: str = "y") -> str | int:
    """Frequency of a regular time index: a pandas offset alias, or the step of integers.

    Parameters
    ----------
    index : DatetimeIndex or integer Index of shape (n_timesteps,)
    name : str, default="y"
        How messages call the series.

    Returns
    -------
    str or int
        E.g. ``"MS"``, ``"30min"``, ``"W-SUN"``; an ``int`` step for integer indexes.

    Raises
    ------
    DataError
        As :func:`check_series` does for a bad index.
    """
    return _check_index(index, name)[1]


def future_index(last: pd.Timestamp | int, freq: str | int, horizon: int, name: str | None):
    """The ``horizon`` timestamps (or integers) that follow ``last`` at frequency ``freq``.

    Parameters
    ----------
    last : Timestamp or int
        Last observed timestamp.
    freq : str or int
        Offset alias or integer step, as returned by :func:`infer_frequency`.
    horizon : int
        Steps ahead.
    name : str or None
        Name of the returned index.

    Returns
    -------
    DatetimeIndex or RangeIndex of shape (horizon,)
    """
    if isinstance(freq, (int, np.integer)):
        start = int(last) + int(freq)
        return pd.RangeIndex(start, start + horizon * int(freq), int(freq), name=name)
    index = pd.date_range(pd.Timestamp(last), periods=horizon + 1, freq=freq, name=name)[1:]
    return index


# ---------------------------------------------------------------------- internals


def _as_series(y, name: str) -> pd.Series:
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise DataError(
                f"{name} has {y.shape[1]} columns {list(y.columns)!r}; pass a Series or a "
                "one-column DataFrame as the target and the other columns as X."
            )
        y = y.iloc[:, 0]
    if not isinstance(y, pd.Series):
        raise DataError(
            f"{name} must be a pandas Series or one-column DataFrame indexed by time; got "
            f"{type(y).__name__}: wrap it, e.g. pd.Series(values, index=pd.date_range(...))."
        )
    if len(y) == 0:
        raise DataError(f"{name} is empty: pass a series with at least a few time steps.")
    return y.copy()


def _check_index(index: pd.Index, name: str) -> tuple[pd.Index, str | int]:
    """Check one series' index; return it (with its freq set) and its frequency."""
    if isinstance(index, pd.RangeIndex):
        return index, int(index.step) if len(index) > 1 else 1
    if pd.api.types.is_integer_dtype(index.dtype):
        return _check_integer_index(index, name)
    if not isinstance(index, pd.DatetimeIndex):
        try:
            index = pd.DatetimeIndex(index)
        except (TypeError, ValueError):
            raise DataError(
                f"The index of {name} is neither timestamps nor integers (got "
                f"{index.dtype} values such as {index[0]!r}): index it by a DatetimeIndex, "
                "e.g. with pd.to_datetime, or by a RangeIndex."
            ) from None
    if index.hasnans:
        raise DataError(
            f"The index of {name} has missing timestamps (NaT) at position "
            f"{int(np.flatnonzero(index.isna())[0])}: drop or fill those rows."
        )
    _check_order(index, name)
    if index.freq is not None:
        return index, index.freqstr
    if len(index) < _MIN_POINTS_FOR_FREQ:
        raise DataError(
            f"{name} has {len(index)} timestamps, too few to infer a frequency (pandas needs "
            f"{_MIN_POINTS_FOR_FREQ}): pass a longer series."
        )
    freq = _infer_freq(index)
    if freq is None:
        freq = _guess_freq(index)
        if freq is None:
            raise DataError(
                f"The frequency of {name} cannot be inferred from its timestamps "
                f"({_show(index[0])}, {_show(index[1])}, {_show(index[2])}, ...): make them "
                "regular (e.g. y.resample('D').mean()) or set it with y.asfreq('D')."
            )
        full = pd.date_range(index[0], index[-1], freq=freq)
        missing = full.difference(index)
        if len(missing) == 0 or len(index.difference(full)):
            raise DataError(
                f"The frequency of {name} cannot be inferred: its timestamps are irregular "
                f"near {_show(_first_irregular(index, freq))}; make them regular, e.g. with "
                f"y.resample('{freq}').mean()."
            )
        raise DataError(
            f"{name} has a gap: timestamp {_show(missing[0])} is missing ({len(missing)} "
            f"missing at frequency '{freq}'); fill it, e.g. y.asfreq('{freq}').interpolate()."
        )
    return pd.DatetimeIndex(index, freq=freq), freq


def _check_integer_index(index: pd.Index, name: str) -> tuple[pd.Index, int]:
    _check_order(index, name)
    if len(index) == 1:
        return pd.RangeIndex(int(index[0]), int(index[0]) + 1, name=index.name), 1
    steps = np.diff(index.to_numpy())
    step = int(Counter(steps.tolist()).most_common(1)[0][0])
    bad = np.flatnonzero(steps != step)
    if len(bad):
        raise DataError(
            f"{name} has a gap: integer step {int(index[bad[0]]) + step} is missing (the "
            f"index mostly steps by {step}); fill it or use a regular RangeIndex."
        )
    start = int(index[0])
    return pd.RangeIndex(start, start + step * len(index), step, name=index.name), step


def _check_order(index: pd.Index, name: str) -> None:
    if index.has_duplicates:
        first = index[index.duplicated()][0]
        raise DataError(
            f"{name} has duplicated timestamps, first {_show(first)}: keep one row per "
            "timestamp, e.g. y.groupby(level=0).mean()."
        )
    if not index.is_monotonic_increasing:
        values = index.to_numpy()
        pos = int(np.flatnonzero(values[1:] < values[:-1])[0])
        raise DataError(
            f"The index of {name} is not sorted ({_show(index[pos + 1])} comes after "
            f"{_show(index[pos])}): sort it first, e.g. y.sort_index()."
        )


def _guess_freq(index: pd.DatetimeIndex) -> str | None:
    """Most common frequency over short runs of the index (to locate gaps), or None."""
    n = len(index)
    starts = np.unique(np.linspace(0, n - 5, num=min(n - 4, 60)).astype(int)) if n >= 5 else []
    votes = Counter()
    for s in starts:
        with_freq = _infer_freq(index[s : s + 5])
        if with_freq is not None:
            votes[with_freq] += 1
    return votes.most_common(1)[0][0] if votes else None


def _infer_freq(index: pd.DatetimeIndex) -> str | None:
    """``pd.infer_freq`` as a string, quiet about pandas' planned change of return type."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        freq = pd.infer_freq(index)
    return getattr(freq, "freqstr", freq)


def _first_irregular(index: pd.DatetimeIndex, freq: str) -> pd.Timestamp:
    expected = pd.date_range(index[0], periods=len(index), freq=freq)
    return index[int(np.flatnonzero(expected != index)[0])]


def _check_many(y: pd.Series, name: str) -> tuple[pd.Series, str | int, np.ndarray]:
    """Check each series of a long Series; return it with each series as one contiguous
    block (in first-seen id order), the common frequency, and the positions of its rows in
    the given Series."""
    if y.index.nlevels != 2:
        raise DataError(
            f"{name} has a {y.index.nlevels}-level MultiIndex; many series need exactly 2 "
            "levels, (series id, timestamp): e.g. df.set_index(['id', 'timestamp'])['value']."
        )
    ids = y.index.get_level_values(0)
    if ids.hasnans:
        raise DataError(f"{name} has a missing series id (level 0 of its index): fill or drop it.")
    # Each series must be one contiguous block: grouping then re-joining keeps first-seen order.
    order = pd.unique(ids)
    pieces, freqs, positions = [], {}, []
    for key in order:
        pos = np.flatnonzero(np.asarray(ids == key))
        part = y.iloc[pos]
        index, freq = _check_index(part.index.get_level_values(1), f"{name} (series {key!r})")
        freqs[key] = freq
        pieces.append(pd.Series(part.to_numpy(), index=index))
        positions.append(pos)
    distinct = set(freqs.values())
    if len(distinct) > 1:
        shown = ", ".join(f"{k!r}: {v}" for k, v in list(freqs.items())[:3])
        raise DataError(
            f"The series of {name} have different frequencies ({shown}); one model needs one "
            "frequency: resample them to a common one first."
        )
    names = list(y.index.names)
    index = pd.MultiIndex.from_arrays(
        [
            np.repeat(np.asarray(order, dtype=object), [len(p) for p in pieces]),
            _concat_index([p.index for p in pieces]),
        ],
        names=names,
    )
    values = np.concatenate([p.to_numpy() for p in pieces])
    out = pd.Series(values, index=index, name=y.name)
    return out, distinct.pop(), np.concatenate(positions)


def _concat_index(indexes: list[pd.Index]) -> pd.Index:
    first = indexes[0]
    for other in indexes[1:]:
        first = first.append(other)
    return first


def _numeric_values(y: pd.Series, name: str) -> pd.Series:
    try:
        values = pd.to_numeric(y, errors="raise")
    except (TypeError, ValueError):
        bad = pd.to_numeric(y, errors="coerce").isna() & y.notna()
        where = y.index[np.flatnonzero(bad.to_numpy())[0]]
        raise DataError(
            f"{name} has a non-numeric value {y[bad].iloc[0]!r} at {_show(where)}: convert "
            "it to a number or drop that row."
        ) from None
    values = values.astype(np.float64)
    arr = values.to_numpy()
    if not np.isfinite(arr).all():
        pos = int(np.flatnonzero(~np.isfinite(arr))[0])
        what = "NaN" if np.isnan(arr[pos]) else "an infinite value"
        raise DataError(
            f"{name} has {what} at {_show(y.index[pos])}: fill it (e.g. y.interpolate()) or "
            "drop the leading/trailing missing rows."
        )
    return values


def _check_exog(
    X, y: pd.Series, name: str, given_index: pd.Index, positions: np.ndarray | None
) -> pd.DataFrame:
    if isinstance(X, pd.Series):
        X = X.to_frame()
    if not isinstance(X, pd.DataFrame):
        raise DataError(
            f"X must be a pandas DataFrame on the same index as {name}; got {type(X).__name__}."
        )
    if X.shape[1] == 0:
        raise DataError("X has no columns: pass X=None when there are no exogenous variables.")
    if len(X) != len(y):
        raise DataError(
            f"X has {len(X)} rows but {name} has {len(y)}: give X one row per timestamp of "
            f"{name}, on the same index."
        )
    try:
        aligned = X.index.equals(given_index) or (
            positions is None
            and (
                X.index.equals(y.index)
                or np.array_equal(pd.Index(X.index).to_numpy(), y.index.to_numpy())
            )
        )
    except (TypeError, ValueError):
        aligned = False
    if not aligned:
        raise DataError(
            f"X is not aligned with {name}: its index must hold the same timestamps in the "
            f"same order (use X.reindex({name}.index))."
        )
    X = X.iloc[positions] if positions is not None else X.copy()
    X.index = y.index
    out = {}
    for col in X.columns:
        try:
            out[col] = pd.to_numeric(X[col], errors="raise").astype(np.float64)
        except (TypeError, ValueError):
            raise DataError(
                f"Column {col!r} of X is not numeric: encode it as numbers (e.g. "
                "pd.get_dummies) or drop it."
            ) from None
    X = pd.DataFrame(out, index=y.index)
    arr = X.to_numpy()
    if not np.isfinite(arr).all():
        row, col = (int(a[0]) for a in np.nonzero(~np.isfinite(arr)))
        raise DataError(
            f"X has NaN or inf in column {X.columns[col]!r} at {_show(X.index[row])}: fill or "
            "drop it."
        )
    return X


def _show(value) -> str:
    if isinstance(value, tuple):
        return ", ".join(_show(v) for v in value)
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    return str(value)
