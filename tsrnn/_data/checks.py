"""Validation of dated series shared by :class:`tsrnn.RNNForecaster` and the CSV reader.

:func:`check_series` turns what a user hands in (a Series, a one-column DataFrame, or a long
Series of many series indexed by ``(id, timestamp)``) into one normal form, or raises a
:class:`~tsrnn.errors.DataError` whose single sentence says what is wrong and how to fix it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from pandas.tseries import offsets

from ..errors import DataError
from .categories import is_categorical
from .groups import Groups, group_rows
from .stamps import MIN_POINTS_FOR_FREQ, check_filled, infer_frequency
from .text import show

__all__ = [
    "MIN_OBSERVATIONS",
    "check_observations",
    "check_series",
    "infer_frequency",
    "too_few_observations",
]


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
        Accept missing target values (masked by the forecaster): NaN values, and gaps
        (timestamps missing inside a series whose other steps are regular), which are
        filled with NaN at the missing timestamps. Else a NaN or a gap is an error naming
        its timestamp. Infinite values and NaN in ``X`` are errors either way, and so is a
        gap of ``y`` when ``X`` is given (``X`` has no row there to fill it with).

    Returns
    -------
    y : Series of shape (n_timesteps,)
        float64 values on the regular index (longer than the given one where gaps were
        filled). A single ``DatetimeIndex`` carries its frequency in ``index.freq``; for
        every kind of index the frequency string (or integer step for a ``RangeIndex``) is
        also in ``y.attrs["freq"]``.
    X : DataFrame of shape (n_timesteps, n_features) or None
        float64 columns (text columns, categorical, kept as text), on the index of ``y``.

    Raises
    ------
    DataError
        If the index is not sorted, has duplicated timestamps, timestamps off its frequency
        or no inferable frequency, or gaps (unless ``missing``); if a value is NaN (unless
        ``missing``) or not numeric; or if ``X`` is not aligned with ``y`` or lacks a value
        (e.g. at a gap of ``y``).
    """
    y = _as_series(y, name)
    given_index, checked, positions = y.index, None, None
    if isinstance(y.index, pd.MultiIndex):
        y, freq, positions = _check_many(y, name, missing)
    else:
        index, freq, rows = check_filled(y.index, name, fill=missing)
        if rows is None:
            y.index = checked = index
        else:
            checked = index[rows]
            positions = np.full(len(index), -1)
            positions[rows] = np.arange(len(y))
            y = pd.Series(_take(y.to_numpy(), positions), index=index, name=y.name)
    y = _numeric_values(y, name, missing)
    y.attrs["freq"] = freq
    if X is not None:
        X = _check_exog(X, y, name, given_index, checked, positions)
    return y, X


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


def _check_many(
    y: pd.Series, name: str, fill: bool = False
) -> tuple[pd.Series, str | int, np.ndarray]:
    """Check each series of a long Series; return it with each series as one contiguous
    block (in first-seen id order), the common frequency, and the positions of its rows in
    the given Series (-1 for the timestamps inserted in gaps, with NaN values, when
    ``fill``).

    The cost is linear in the number of rows: the rows are grouped once (:func:`group_rows`),
    the first series' frequency is inferred, and every other series is checked against it in
    vectorised passes. Only a series that fails those passes is checked on its own (by
    :func:`.stamps.check_index`), so a bad series gets the same message as a single series would.
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
    times, freq, filled = _check_stamps(
        y.index.get_level_values(1)[groups.order], groups, name, fill
    )
    lengths, positions = groups.lengths, groups.order
    if filled is not None:
        lengths, rows = filled
        positions = np.full(int(lengths.sum()), -1)
        positions[rows] = groups.order
    index = _long_index(groups.keys, lengths, times, list(y.index.names))
    out = pd.Series(_take(y.to_numpy(), positions), index=index, name=y.name)
    return out, freq, positions


def _take(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``values[positions]``, with NaN where a position is -1 (a timestamp filled in)."""
    inserted = positions < 0
    if not inserted.any():
        return values[positions]
    out = np.full(
        len(positions), np.nan, dtype=np.float64 if values.dtype.kind in "biuf" else object
    )
    out[~inserted] = values[positions[~inserted]]
    return out


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


def _check_stamps(
    times: pd.Index, groups: Groups, name: str, fill: bool = False
) -> tuple[pd.Index, str | int, tuple[np.ndarray, np.ndarray] | None]:
    """Check the timestamps of every series (``times`` holds them one block per series, in the
    order of ``groups.starts``); return them as one index, their common frequency, and None,
    or, where gaps were filled (``fill``), the length of each series and the position of each
    given row in the returned index."""
    bounds = groups.starts
    filled: dict[int, np.ndarray] = {}

    def check_one(k: int, common: str | int | None = None) -> tuple[pd.Index, str | int]:
        where = f"{name} (series {groups.keys[k]!r})"
        block = times[bounds[k] : bounds[k + 1]]
        index, freq, rows = check_filled(block, where, fill=fill, common=common)
        if rows is not None:
            filled[k] = rows
        return index, freq

    stamps = _as_stamps(times)
    if stamps is None:
        # Not convertible as a whole (e.g. text in one series): check them one by one, which
        # raises on the first bad series; the rare rest are joined as they come.
        checked = [check_one(k) for k in range(groups.n_series)]
        _common_frequency({groups.keys[k]: f for k, (_, f) in enumerate(checked)}, name)
        joined = checked[0][0].append([index for index, _ in checked[1:]])
        return joined, checked[0][1], _filled_layout(groups, filled)
    # The frequency comes from the first series long enough to infer it; shorter series (one
    # or two stamps) are then checked against it, so a short series is not refused for being
    # short here: the forecaster decides what is too short to forecast.
    long_enough = np.flatnonzero(groups.lengths >= MIN_POINTS_FOR_FREQ)
    ref = int(long_enough[0]) if len(long_enough) else 0
    ref_index, freq = check_one(ref)
    regular = _regular_at(stamps, bounds, freq)
    regular[ref] = True
    freqs = {groups.keys[ref]: freq}
    full = {ref: ref_index} if ref in filled else {}
    for k in np.flatnonzero(~regular):
        index, other = check_one(int(k), freq)  # raises if series k is bad
        if int(k) in filled:
            full[int(k)] = index
        if other != freq:
            freqs[groups.keys[k]] = other
            _common_frequency(freqs, name)
    if not filled:
        return stamps, freq, None
    lengths, rows = _filled_layout(groups, filled)
    # Every row of the result comes from ``stamps`` (a given row) or from the regular index
    # of a filled series, appended after them.
    source = np.empty(int(lengths.sum()), dtype=np.int64)
    source[rows] = np.arange(len(stamps))
    new_starts = np.concatenate([[0], np.cumsum(lengths)])
    extra, offset = [], len(stamps)
    for k in sorted(full):
        source[new_starts[k] : new_starts[k + 1]] = offset + np.arange(len(full[k]))
        offset += len(full[k])
        index = full[k]
        extra.append(index.as_unit(stamps.unit) if hasattr(stamps, "unit") else index)
    return stamps.append(extra).take(source), freq, (lengths, rows)


def _filled_layout(
    groups: Groups, filled: dict[int, np.ndarray]
) -> tuple[np.ndarray, np.ndarray] | None:
    """The length of each series once its gaps are filled, and the position of each given
    row (in the order of ``groups.starts``) among the filled rows; None if nothing was
    filled. ``filled`` maps a series to the positions of its given rows in its filled
    block."""
    if not filled:
        return None
    bounds, lengths = groups.starts, groups.lengths.copy()
    within = np.arange(bounds[-1]) - np.repeat(bounds[:-1], groups.lengths)
    for k, rows in filled.items():
        lengths[k] = int(rows[-1]) + 1
        within[bounds[k] : bounds[k + 1]] = rows
    new_starts = np.concatenate([[0], np.cumsum(lengths)])
    return lengths, np.repeat(new_starts[:-1], groups.lengths) + within


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
        True where :func:`.stamps.check_index` would accept the series with frequency ``freq``;
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
            weekend = lengths < MIN_POINTS_FOR_FREQ
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
    X,
    y: pd.Series,
    name: str,
    given_index: pd.Index,
    checked: pd.Index | None,
    positions: np.ndarray | None,
) -> pd.DataFrame:
    """``X`` checked and put on the index of ``y``: ``given_index`` is the index of ``y`` as
    given, ``checked`` that of a single series once checked (None for many series), and
    ``positions`` the row of ``X`` for each row of ``y`` (-1 where a gap of ``y`` was
    filled; None: the same rows)."""
    if isinstance(X, pd.Series):
        X = X.to_frame()
    if not isinstance(X, pd.DataFrame):
        raise DataError(
            f"X must be a pandas DataFrame on the same index as {name}; got {type(X).__name__}."
        )
    if X.shape[1] == 0:
        raise DataError("X has no columns: pass X=None when there are no exogenous variables.")
    if len(X) != len(given_index):
        raise DataError(
            f"X has {len(X)} rows but {name} has {len(given_index)}: give X one row per "
            f"timestamp of {name}, on the same index."
        )
    try:
        aligned = X.index.equals(given_index) or (
            checked is not None
            and (
                X.index.equals(checked)
                or np.array_equal(pd.Index(X.index).to_numpy(), checked.to_numpy())
            )
        )
    except (TypeError, ValueError):
        aligned = False
    if not aligned:
        raise DataError(
            f"X is not aligned with {name}: its index must hold the same timestamps in the "
            f"same order (use X.reindex({name}.index))."
        )
    out = {}
    for col in X.columns:
        if is_categorical(X[col]):  # text: coded by the forecaster (tsrnn._data.categories)
            values = X[col].astype(object).to_numpy()
        else:
            try:
                values = pd.to_numeric(X[col], errors="raise").astype(np.float64).to_numpy()
            except (TypeError, ValueError):
                raise DataError(
                    f"Column {col!r} of X is neither numbers nor text: convert it to one of "
                    "them or drop it."
                ) from None
        out[col] = values if positions is None else _take(values, positions)
    X = pd.DataFrame(out, index=y.index)
    for col in X.columns:
        values = X[col].to_numpy()
        bad = pd.isna(values) if values.dtype == object else ~np.isfinite(values)
        if not bad.any():
            continue
        row = int(np.flatnonzero(bad)[0])
        stamp = show(X.index[row])
        if positions is not None and positions[row] < 0:
            raise DataError(
                f"{name} has no row at {stamp}: that timestamp is missing (a gap, read as a "
                f"missing target value), but the exogenous column {col!r} of X cannot be "
                f"invented there: add a row at {stamp} with its value (and an empty target), "
                "or fill the gap."
            )
        raise DataError(f"X has NaN or inf in column {col!r} at {stamp}: fill or drop it.")
    return X


#: Fewest observed (non-NaN) values of a series a forecast (and a calibration fit) needs.
MIN_OBSERVATIONS = 2


def too_few_observations(ids: list, values: list, where: str = "") -> tuple[int, str] | None:
    """The first series with fewer than :data:`MIN_OBSERVATIONS` observed values, and why.

    Parameters
    ----------
    ids : list
        Id of each series (``[None]`` for one series).
    values : list of ndarray of shape (n_k,)
    where : str, default=""
        Where the series are, for the message (``" of data/"``).

    Returns
    -------
    (int, str) or None
        Its position and a sentence without its final period; None when every series has
        enough.
    """
    seen = np.array([np.count_nonzero(~np.isnan(v)) for v in values], dtype=np.int64)
    if not len(seen) or seen.min() >= MIN_OBSERVATIONS:
        return None
    k = int(np.argmin(seen))
    who = "y" if ids[k] is None else f"Series {ids[k]!r}"
    return k, (
        f"{who}{where} has {seen[k]} observation(s); a forecast needs at least "
        f"{MIN_OBSERVATIONS}: drop that series or give it more history"
    )


def check_observations(ids: list, values: list) -> None:
    """Refuse a series with fewer than :data:`MIN_OBSERVATIONS` observed (non-NaN) values.

    Raises
    ------
    DataError
        Naming the first such series.
    """
    found = too_few_observations(ids, values)
    if found is not None:
        raise DataError(found[1] + ".")
