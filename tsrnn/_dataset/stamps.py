"""The stamps of a bucket's series, from each series' first stamp and the frequency.

A bucket keeps one stamp per series (its first) instead of one per row: a checked series is
regular (its gaps are NaN rows), so its ``k``-th stamp is its first shifted by ``k`` steps of
the frequency. A fixed step (hours, days, weeks, an integer index) is added at once; a
calendar offset (months, quarters, business days) is applied to every series for each
distinct number of steps, as pandas applies it to a ``DatetimeIndex``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["last_stamps", "series_stamps", "shifted"]


def shifted(first: pd.Index, steps: np.ndarray, freq: str | int) -> pd.Index:
    """``first[k]`` moved by ``steps[k]`` steps of ``freq``, for every ``k``.

    Parameters
    ----------
    first : DatetimeIndex or Index of int64, of length n
    steps : ndarray of shape (n,), int
    freq : str or int
        An offset alias, or the step of an integer index.

    Returns
    -------
    DatetimeIndex or Index of int64, of length n
        The dtype of ``first`` (its unit and time zone).

    Examples
    --------
    >>> first = pd.DatetimeIndex(["2024-01-31", "2024-03-31"])
    >>> shifted(first, np.array([1, 2]), "ME").strftime("%Y-%m-%d").tolist()
    ['2024-02-29', '2024-05-31']
    >>> shifted(pd.Index([0, 10]), np.array([3, 1]), 2).tolist()
    [6, 12]
    """
    steps = np.asarray(steps, dtype=np.int64)
    if isinstance(freq, (int, np.integer)):
        return pd.Index(np.asarray(first, dtype=np.int64) + steps * int(freq))
    first = pd.DatetimeIndex(first)
    step = _fixed_step(freq, first)
    if step is not None:
        moved = first + pd.TimedeltaIndex(steps * step)
        return moved.as_unit(first.unit)
    offset = pd.tseries.frequencies.to_offset(freq)
    out = np.empty(len(first), dtype=np.int64)
    order = np.argsort(steps, kind="stable")
    bounds = np.flatnonzero(np.diff(steps[order])) + 1
    for at in np.split(order, bounds):
        if len(at):
            out[at] = (first[at] + int(steps[at[0]]) * offset).as_unit(first.unit).asi8
    return _from_i8(out, first)


def series_stamps(first: pd.Index, lengths: np.ndarray, freq: str | int) -> pd.Index:
    """Every stamp of every series, one series after another.

    Parameters
    ----------
    first : DatetimeIndex or Index of int64, of length n_series
    lengths : ndarray of shape (n_series,)
    freq : str or int

    Returns
    -------
    DatetimeIndex or Index of int64, of length ``lengths.sum()``

    Examples
    --------
    >>> series_stamps(pd.Index([5, 100]), np.array([2, 3]), 5).tolist()
    [5, 10, 100, 105, 110]
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    owner = np.repeat(np.arange(len(lengths)), lengths)
    position = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return shifted(first[owner], position, freq)


def last_stamps(first: pd.Index, lengths: np.ndarray, freq: str | int) -> pd.Index:
    """The last stamp of each series (of ``lengths`` stamps from ``first``)."""
    return shifted(first, np.asarray(lengths, dtype=np.int64) - 1, freq)


def _fixed_step(freq: str, first: pd.DatetimeIndex) -> pd.Timedelta | None:
    """The step of ``freq`` when it is a fixed duration for these stamps, else None."""
    from pandas.tseries.offsets import Day, Tick, Week

    offset = pd.tseries.frequencies.to_offset(freq)
    if isinstance(offset, Tick):
        return pd.Timedelta(offset)
    if first.tz is not None:  # a day or a week across a change of summer time is not 24 h
        return None
    if isinstance(offset, Day):
        return pd.Timedelta(days=offset.n)
    if isinstance(offset, Week) and offset.weekday is not None:
        return pd.Timedelta(weeks=offset.n)
    return None


def _from_i8(values: np.ndarray, like: pd.DatetimeIndex) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(values.view(f"datetime64[{like.unit}]"))
    return index if like.tz is None else index.tz_localize("UTC").tz_convert(like.tz)
