"""Frequencies and calendars: season lengths, steps between stamps, future stamps of many series."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["future_stamps", "season_length_for", "steps_between"]

# Observations per season for calendar frequencies (the base alias of the offset).
_SEASONS = {
    "QS": 4, "QE": 4, "Q": 4, "BQS": 4, "BQE": 4,
    "MS": 12, "ME": 12, "M": 12, "BMS": 12, "BME": 12, "SMS": 24, "SME": 24,
    "W": 52, "D": 7, "B": 5, "C": 5,
}  # fmt: skip
_SECONDS = {"h": 3600, "min": 60, "s": 1}


def season_length_for(freq: str | int) -> int:
    """Observations per season implied by a frequency: 12 for months, 24 for hours, ...

    Sub-daily data get the daily cycle (48 for ``"30min"``), daily data the week (7), weekly
    data the year (52); yearly and integer-indexed data get 1 (no season).

    Parameters
    ----------
    freq : str or int
        A pandas offset alias (``"MS"``, ``"30min"``...) or an integer step.

    Returns
    -------
    int

    Examples
    --------
    >>> season_length_for("MS"), season_length_for("30min"), season_length_for("YS")
    (12, 48, 1)
    """
    if isinstance(freq, (int, np.integer)):
        return 1
    offset = pd.tseries.frequencies.to_offset(freq)
    base, n = offset.rule_code.split("-")[0], max(int(offset.n), 1)
    if base in _SEASONS:
        per = _SEASONS[base]
        return per // n if per % n == 0 and per // n > 1 else 1
    if base in _SECONDS:
        per = 86400 / (_SECONDS[base] * n)
        return int(per) if per == int(per) and per > 1 else 1
    return 1


def future_stamps(last: list, freq: str | int, horizon: int) -> np.ndarray:
    """The ``horizon`` stamps after each series' last stamp, for all series at once.

    Parameters
    ----------
    last : list of Timestamp or int, of length n_series
    freq : str or int
        Offset alias or integer step.
    horizon : int

    Returns
    -------
    ndarray of shape (n_series, horizon)
        datetime64[ns] or int64 values.
    """
    if isinstance(freq, (int, np.integer)):
        base = np.asarray(last, dtype=np.int64)[:, None]
        return base + int(freq) * np.arange(1, horizon + 1)[None]
    offset = pd.tseries.frequencies.to_offset(freq)
    base = pd.DatetimeIndex(last)
    columns = [(base + k * offset).to_numpy() for k in range(1, horizon + 1)]
    return np.stack(columns, axis=1)


def steps_between(start: list, end: list, freq: str | int) -> np.ndarray:
    """Steps of ``freq`` from each ``start`` stamp to the matching ``end`` stamp.

    Parameters
    ----------
    start, end : list of Timestamp or int, of length n
    freq : str or int

    Returns
    -------
    ndarray of shape (n,), int64
        Negative when ``end`` comes first.
    """
    if isinstance(freq, (int, np.integer)):
        return (np.asarray(end, dtype=np.int64) - np.asarray(start, dtype=np.int64)) // int(freq)
    out = np.zeros(len(start), dtype=np.int64)
    for k, (a, b) in enumerate(zip(start, end, strict=True)):
        if a == b:
            continue
        lo, hi = (a, b) if a < b else (b, a)
        n = len(pd.date_range(lo, hi, freq=freq)) - 1
        out[k] = n if a < b else -n
    return out
