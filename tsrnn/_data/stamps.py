"""One index of timestamps checked: its order, duplicates, frequency and gaps.

:func:`check_index` gives a regular index and its frequency, or raises a
:class:`~tsrnn.errors.DataError` naming the first stamp out of place; with ``fill`` a gap in
an otherwise regular index is filled (:func:`check_filled` says where each given row sits).
:func:`tsrnn._data.checks.check_series` runs it on a single series and on each series of a
long frame.
"""

from __future__ import annotations

import warnings
from collections import Counter

import numpy as np
import pandas as pd
from pandas.tseries import offsets

from ..errors import DataError
from .text import show

__all__ = ["MIN_POINTS_FOR_FREQ", "check_filled", "check_index", "infer_frequency"]

#: A timestamp index needs at least this many points for pandas to infer its frequency.
MIN_POINTS_FOR_FREQ = 3


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
    return check_index(index, name)[1]


# ---------------------------------------------------------------------- internals


def check_index(index: pd.Index, name: str) -> tuple[pd.Index, str | int]:
    """Check one series' index; return it (with its freq set) and its frequency."""
    index, freq, _ = check_filled(index, name)
    return index, freq


def check_filled(
    index: pd.Index, name: str, *, fill: bool = False, common: str | int | None = None
) -> tuple[pd.Index, str | int, np.ndarray | None]:
    """:func:`check_index`, filling gaps when ``fill``: return the regular index (with the
    missing timestamps inserted), its frequency, and the position in it of each given
    timestamp (None when nothing was inserted).

    ``common`` is the frequency of the other series, if known: timestamps with gaps that
    fit it are taken at that frequency without guessing one (which costs dozens of
    :func:`pd.infer_freq` calls)."""
    if isinstance(index, pd.RangeIndex):
        return index, int(index.step) if len(index) > 1 else 1, None
    if pd.api.types.is_integer_dtype(index.dtype):
        return _check_integer_index(index, name, fill)
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
        return index, index.freqstr, None
    if len(index) < MIN_POINTS_FOR_FREQ:
        raise DataError(
            f"{name} has {len(index)} timestamps, too few to infer a frequency (pandas needs "
            f"{MIN_POINTS_FOR_FREQ}): pass a longer series."
        )
    freq = _infer_freq(index)
    if freq is not None:
        return pd.DatetimeIndex(index, freq=freq), freq, None
    freq = common if isinstance(common, str) and _fills_at(index, common) else _guess_freq(index)
    if freq is None:
        raise DataError(
            f"The frequency of {name} cannot be inferred from its timestamps "
            f"({show(index[0])}, {show(index[1])}, {show(index[2])}, ...): make them "
            "regular (e.g. y.resample('D').mean()) or set it with y.asfreq('D')."
        )
    full, rows = _grid(index, freq)
    if len(full) == len(index) or (rows < 0).any():
        near = index[rows < 0][0] if (rows < 0).any() else _first_irregular(index, freq)
        raise DataError(
            f"The frequency of {name} cannot be inferred: its timestamps are irregular "
            f"near {show(near)}; make them regular, e.g. with y.resample('{freq}').mean()."
        )
    missing = full.difference(index)
    problem = _gap_problem(rows, name, freq, show(missing[0]))
    if problem:
        raise DataError(problem)
    if not fill:
        raise DataError(
            f"{name} has a gap: timestamp {show(missing[0])} is missing ({len(missing)} "
            f"missing at frequency '{freq}'); fill it, e.g. y.asfreq('{freq}').interpolate(), "
            "or let the forecaster mask it (missing='mask', --missing mask)."
        )
    return full, freq, rows


def _grid(index: pd.DatetimeIndex, freq: str) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The regular index from the first timestamp to the last at ``freq``, and the position
    in it of each timestamp (-1: off that grid)."""
    full = pd.date_range(index[0], index[-1], freq=freq, name=index.name).as_unit(index.unit)
    return full, full.get_indexer(index)


def _fills_at(index: pd.DatetimeIndex, freq: str) -> bool:
    """Whether timestamps with gaps are all on the grid of ``freq``, their gaps can be
    filled (:func:`_gap_problem`), and a few short runs of them show no other frequency
    (business days, whose weekends would otherwise be gaps of a daily series)."""
    full, rows = _grid(index, freq)
    if len(full) == len(index) or (rows < 0).any() or _gap_problem(rows, "", freq):
        return False
    n = len(index)
    starts = np.unique(np.linspace(0, n - 5, num=min(n - 4, 5)).astype(int)) if n >= 5 else []
    return all(_infer_freq(index[s : s + 5]) in (None, freq) for s in starts)


def _gap_problem(rows: np.ndarray, name: str, freq: str | int, first: str = "") -> str | None:
    """Why the gaps of a series cannot be filled, or None. ``rows``: the positions of its
    timestamps on the regular index (all on it, some missing), ``first``: the first missing
    timestamp, shown. Most steps between them must be one step of the frequency, and fewer
    timestamps missing than given: else the frequency is a guess, or a wrong date would fill
    the series with missing values."""
    steps = len(rows) - 1
    regular = int(np.count_nonzero(np.diff(rows) == 1))
    if 2 * regular <= steps:
        return (
            f"The frequency of {name} cannot be inferred: only {regular} of its {steps} steps "
            f"are one step of '{freq}', the others skip timestamps (first {first}); make the "
            "timestamps regular, e.g. by resampling."
        )
    missing = int(rows[-1]) + 1 - len(rows)
    if missing > len(rows):
        return (
            f"{name} misses more timestamps at frequency '{freq}' than it has ({missing} "
            f"missing, first {first}, for {len(rows)} given): check its dates (a wrong year?) "
            "or resample it."
        )
    return None


def _check_integer_index(
    index: pd.Index, name: str, fill: bool = False
) -> tuple[pd.Index, int, np.ndarray | None]:
    _check_order(index, name)
    if len(index) == 1:
        return pd.RangeIndex(int(index[0]), int(index[0]) + 1, name=index.name), 1, None
    values = index.to_numpy().astype(np.int64)
    steps = np.diff(values)
    step = int(Counter(steps.tolist()).most_common(1)[0][0])
    start = int(values[0])
    bad = np.flatnonzero(steps != step)
    if len(bad) == 0:
        return pd.RangeIndex(start, start + step * len(index), step, name=index.name), step, None
    off = np.flatnonzero(steps % step != 0)
    if len(off):
        raise DataError(
            f"The integer index of {name} is irregular: {int(values[off[0] + 1])} comes "
            f"{int(steps[off[0]])} after {int(values[off[0]])}, but the index mostly steps by "
            f"{step}; use a regular RangeIndex."
        )
    rows = (values - start) // step
    first = int(values[bad[0]]) + step
    problem = _gap_problem(rows, name, step, str(first))
    if problem:
        raise DataError(problem)
    if not fill:
        raise DataError(
            f"{name} has a gap: integer step {first} is missing (the "
            f"index mostly steps by {step}); fill it, use a regular RangeIndex, or let the "
            "forecaster mask it (missing='mask', --missing mask)."
        )
    return pd.RangeIndex(start, int(values[-1]) + step, step, name=index.name), step, rows


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
