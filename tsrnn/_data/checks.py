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
from pandas.tseries import offsets

from ..errors import DataError
from .groups import Groups, group_rows
from .text import show

__all__ = ["check_series", "infer_frequency"]

# A timestamp index needs at least this many points for pandas to infer its frequency.
_MIN_POINTS_FOR_FREQ = 3


def check_series(
    y: pd.Series | pd.DataFrame,
    X: pd.DataFrame | pd.Series | None = None,
    *,
    name: str = "y",
    missing: bool = False,
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
    missing : bool, default=False
        Accept NaN target values (missing values, masked by the forecaster); else a NaN is
        an error naming its timestamp. Infinite values and NaN in ``X`` are errors either way.

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
    y = _numeric_values(y, name, missing)
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
                f"({show(index[0])}, {show(index[1])}, {show(index[2])}, ...): make them "
                "regular (e.g. y.resample('D').mean()) or set it with y.asfreq('D')."
            )
        full = pd.date_range(index[0], index[-1], freq=freq)
        missing = full.difference(index)
        if len(missing) == 0 or len(index.difference(full)):
            raise DataError(
                f"The frequency of {name} cannot be inferred: its timestamps are irregular "
                f"near {show(_first_irregular(index, freq))}; make them regular, e.g. with "
                f"y.resample('{freq}').mean()."
            )
        raise DataError(
            f"{name} has a gap: timestamp {show(missing[0])} is missing ({len(missing)} "
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
            f"{name} has duplicated timestamps, first {show(first)}: keep one row per "
            "timestamp, e.g. y.groupby(level=0).mean()."
        )
    if not index.is_monotonic_increasing:
        values = index.to_numpy()
        pos = int(np.flatnonzero(values[1:] < values[:-1])[0])
        raise DataError(
            f"The index of {name} is not sorted ({show(index[pos + 1])} comes after "
            f"{show(index[pos])}): sort it first, e.g. y.sort_index()."
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
    """``pd.infer_freq`` as a string, quiet about pandas' planned change of return type, with
    one name for each quarterly rule (see :func:`_one_quarter_name`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        freq = pd.infer_freq(index)
    freq = getattr(freq, "freqstr", freq)
    return None if freq is None else _one_quarter_name(freq)


def _one_quarter_name(freq: str) -> str:
    """Quarter starts in January, April, July and October are QS-JAN in pandas 3 but QS-OCT in
    pandas 2 (the same dates): name starts by their first-quarter month (QS-JAN) and ends by
    their last-quarter month (QE-DEC), whichever pandas inferred them."""
    offset = pd.tseries.frequencies.to_offset(freq)
    if isinstance(offset, (offsets.QuarterBegin, offsets.BQuarterBegin)):
        month = (offset.startingMonth - 1) % 3 + 1
    elif isinstance(offset, (offsets.QuarterEnd, offsets.BQuarterEnd)):
        month = (offset.startingMonth - 1) % 3 + 10
    else:
        return freq
    return type(offset)(n=offset.n, startingMonth=month).freqstr


def _first_irregular(index: pd.DatetimeIndex, freq: str) -> pd.Timestamp:
    expected = pd.date_range(index[0], periods=len(index), freq=freq)
    return index[int(np.flatnonzero(expected != index)[0])]


def _check_many(y: pd.Series, name: str) -> tuple[pd.Series, str | int, np.ndarray]:
    """Check each series of a long Series; return it with each series as one contiguous
    block (in first-seen id order), the common frequency, and the positions of its rows in
    the given Series.

    The cost is linear in the number of rows: the rows are grouped once (:func:`group_rows`),
    the first series' frequency is inferred, and every other series is checked against it in
    vectorised passes. Only a series that fails those passes is checked on its own (by
    :func:`_check_index`), so a bad series gets the same message as a single series would.
    """
    if y.index.nlevels != 2:
        raise DataError(
            f"{name} has a {y.index.nlevels}-level MultiIndex; many series need exactly 2 "
            "levels, (series id, timestamp): e.g. df.set_index(['id', 'timestamp'])['value']."
        )
    ids = y.index.get_level_values(0)
    if ids.hasnans:
        raise DataError(f"{name} has a missing series id (level 0 of its index): fill or drop it.")
    groups = group_rows(ids)
    times, freq = _check_stamps(y.index.get_level_values(1)[groups.order], groups, name)
    index = _long_index(groups.keys, groups.lengths, times, list(y.index.names))
    out = pd.Series(y.to_numpy()[groups.order], index=index, name=y.name)
    return out, freq, groups.order


def _long_index(keys: np.ndarray, lengths: np.ndarray, times: pd.Index, names: list):
    """The MultiIndex (id, time) of series ``keys`` of ``lengths`` rows each, one block per
    series: what ``pd.MultiIndex.from_arrays`` gives, built from codes instead of hashing the
    id of every row."""
    ids = pd.Categorical(keys)  # its categories are the level from_arrays would make
    time_codes, time_level = pd.factorize(times, sort=True)
    return pd.MultiIndex(
        levels=[ids.categories, time_level],
        codes=[np.repeat(ids.codes, lengths), time_codes],
        names=names,
        verify_integrity=False,
    )


def _check_stamps(times: pd.Index, groups: Groups, name: str) -> tuple[pd.Index, str | int]:
    """Check the timestamps of every series (``times`` holds them one block per series, in the
    order of ``groups.starts``); return them as one index and their common frequency."""
    bounds = groups.starts

    def check_one(k: int) -> tuple[pd.Index, str | int]:
        where = f"{name} (series {groups.keys[k]!r})"
        return _check_index(times[bounds[k] : bounds[k + 1]], where)

    stamps = _as_stamps(times)
    if stamps is None:
        # Not convertible as a whole (e.g. text in one series): check them one by one, which
        # raises on the first bad series; the rare rest are joined as they come.
        checked = [check_one(k) for k in range(groups.n_series)]
        _common_frequency({groups.keys[k]: f for k, (_, f) in enumerate(checked)}, name)
        return checked[0][0].append([index for index, _ in checked[1:]]), checked[0][1]
    # The frequency comes from the first series long enough to infer it; shorter series (one
    # or two stamps) are then checked against it, so a short series is not refused for being
    # short here: the forecaster decides what is too short to forecast.
    long_enough = np.flatnonzero(groups.lengths >= _MIN_POINTS_FOR_FREQ)
    ref = int(long_enough[0]) if len(long_enough) else 0
    freq = check_one(ref)[1]
    regular = _regular_at(stamps, bounds, freq)
    regular[ref] = True
    freqs = {groups.keys[ref]: freq}
    for k in np.flatnonzero(~regular):
        other = check_one(int(k))[1]  # raises if series k is bad
        if other != freq:
            freqs[groups.keys[k]] = other
            _common_frequency(freqs, name)
    return stamps, freq


def _as_stamps(times: pd.Index) -> pd.Index | None:
    """The time level as a DatetimeIndex or int64 Index, or None if it is neither."""
    if pd.api.types.is_integer_dtype(times.dtype):
        return times.astype(np.int64)
    if isinstance(times, pd.DatetimeIndex):
        return times
    try:
        return pd.DatetimeIndex(times)
    except (TypeError, ValueError):
        return None


def _common_frequency(freqs: dict, name: str) -> None:
    """Raise unless every series (id -> frequency) has the same frequency."""
    first = {}
    for key, freq in freqs.items():
        first.setdefault(freq, key)
    if len(first) > 1:
        shown = ", ".join(f"{k!r}: {v}" for v, k in list(first.items())[:3])
        raise DataError(
            f"The series of {name} have different frequencies ({shown}); one model needs one "
            "frequency: resample them to a common one first."
        )


# Offsets whose regular series pandas always infers as that same offset (so that checking the
# steps stands for pd.infer_freq). Days and weeks only below 28 days: a longer step can fall on
# month starts or ends in one series and not in another, and pandas then infers a monthly or
# yearly rule for one and a number of days for the other (365D and YS-JAN). Business days are
# added below with their own condition.
_LONGEST_DAYS = 27
_REGULAR_OFFSETS = (
    offsets.Tick,
    offsets.Day,
    offsets.Week,
    offsets.MonthBegin,
    offsets.MonthEnd,
    offsets.QuarterBegin,
    offsets.QuarterEnd,
    offsets.YearBegin,
    offsets.YearEnd,
)


def _regular_at(stamps: pd.Index, bounds: np.ndarray, freq: str | int) -> np.ndarray:
    """Which series are regular at ``freq``, in one vectorised pass over all rows.

    Parameters
    ----------
    stamps : DatetimeIndex or int64 Index of shape (n_rows,)
        One block per series, block ``k`` being ``bounds[k]:bounds[k + 1]``.
    bounds : ndarray of shape (n_series + 1,)
    freq : str or int
        An offset alias, or the step of integer stamps.

    Returns
    -------
    ndarray of bool, shape (n_series,)
        True where :func:`_check_index` would accept the series with frequency ``freq``;
        False where it might not (which then needs checking on its own), and for every
        series when ``freq`` is not one that can be checked this way.
    """
    lengths = np.diff(bounds)
    n_series = len(lengths)
    series_of = np.repeat(np.arange(n_series), lengths)
    starts = bounds[:-1]
    # Step j goes from row j to row j + 1; it is inside a series unless row j + 1 starts one.
    inside = np.ones(max(len(stamps) - 1, 0), dtype=bool)
    inside[starts[1:] - 1] = False
    if isinstance(freq, (int, np.integer)):
        good = np.diff(stamps.to_numpy()) == freq
        regular = np.ones(n_series, dtype=bool)
    else:
        offset = pd.tseries.frequencies.to_offset(freq)
        business = type(offset) is offsets.BusinessDay and offset.n == 1
        if not (business or isinstance(offset, _REGULAR_OFFSETS)) or offset.normalize:
            return np.zeros(n_series, dtype=bool)
        if isinstance(offset, offsets.Day) and offset.n > _LONGEST_DAYS:  # (a Tick in pandas 2)
            return np.zeros(n_series, dtype=bool)
        if isinstance(offset, offsets.Week) and (
            offset.weekday is None or 7 * offset.n > _LONGEST_DAYS
        ):
            return np.zeros(n_series, dtype=bool)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
            good = np.asarray((stamps[:-1] + offset) == stamps[1:])
            first = stamps[starts]
            on_offset = np.asarray(((first + offset) - offset) == first)
        regular = on_offset
        if business:
            # Business days with no weekend inside are inferred as daily, not as "B" (a series
            # too short to infer anything is taken at the common frequency).
            weekend = lengths < _MIN_POINTS_FOR_FREQ
            long_step = np.asarray(stamps[1:] - stamps[:-1] > pd.Timedelta(days=1))
            weekend[series_of[1:][inside & long_step]] = True
            regular &= weekend
    regular[series_of[1:][inside & ~good]] = False
    return regular


def _numeric_values(y: pd.Series, name: str, missing: bool = False) -> pd.Series:
    try:
        values = pd.to_numeric(y, errors="raise")
    except (TypeError, ValueError):
        bad = pd.to_numeric(y, errors="coerce").isna() & y.notna()
        where = y.index[np.flatnonzero(bad.to_numpy())[0]]
        raise DataError(
            f"{name} has a non-numeric value {y[bad].iloc[0]!r} at {show(where)}: convert "
            "it to a number or drop that row."
        ) from None
    values = values.astype(np.float64)
    arr = values.to_numpy()
    bad = np.isinf(arr) if missing else ~np.isfinite(arr)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        what = "NaN" if np.isnan(arr[pos]) else "an infinite value"
        raise DataError(
            f"{name} has {what} at {show(y.index[pos])}: fill it (e.g. y.interpolate()) or "
            "drop the row (a forecaster fitted in memory masks NaN with missing='mask')."
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
            f"X has NaN or inf in column {X.columns[col]!r} at {show(X.index[row])}: fill or "
            "drop it."
        )
    return X
