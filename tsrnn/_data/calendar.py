"""Frequencies and calendars: season lengths, steps between stamps, future stamps of many series."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ParameterError

__all__ = [
    "CALENDAR",
    "calendar_columns",
    "calendar_features",
    "features_in",
    "future_stamps",
    "holiday_feature",
    "season_length_for",
    "steps_between",
]

#: Prefix of the names of the calendar columns a forecaster adds to its inputs.
CALENDAR = "calendar:"
# Prefix of the holiday feature of a country: "holidays.US".
_HOLIDAYS = "holidays."

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


def calendar_features(freq: str | int) -> list[str]:
    """The cyclic calendar features that can help at a frequency (none where they cannot).

    Sub-daily data get the hour of the day and the day of the week, daily data the day of
    the week and of the year, weekly data the week of the year, monthly data the month and
    quarterly data the quarter; yearly and integer-indexed data get none.

    Parameters
    ----------
    freq : str or int

    Returns
    -------
    list of str
        Feature names, each becoming a sine and a cosine column (:func:`calendar_columns`).

    Examples
    --------
    >>> calendar_features("D"), calendar_features("MS"), calendar_features("YS")
    (['weekday', 'yearday'], ['month'], [])
    """
    if isinstance(freq, (int, np.integer)):
        return []
    base = pd.tseries.frequencies.to_offset(freq).rule_code.split("-")[0]
    if base in _SECONDS:
        return ["hour", "weekday"]
    if base in ("D", "B", "C"):
        return ["weekday", "yearday"]
    if base == "W":
        return ["week"]
    if base in ("MS", "ME", "M", "BMS", "BME", "SMS", "SME"):
        return ["month"]
    if base in ("QS", "QE", "Q", "BQS", "BQE"):
        return ["quarter"]
    return []


def holiday_feature(country: str, freq: str | int) -> str:
    """The calendar feature of the public holidays of ``country``, checked.

    Parameters
    ----------
    country : str
        A country code of the ``holidays`` package (``"US"``, ``"DE"``, ``"GB"``, ...),
        optionally with a subdivision after a dash (``"US-CA"``, ``"DE-BY"``).
    freq : str or int
        The series' frequency: daily or finer (a holiday is a day).

    Returns
    -------
    str
        ``"holidays.US"``: :func:`calendar_columns` makes it one column, 1 on the country's
        public holidays and 0 elsewhere.

    Raises
    ------
    ParameterError
        If the ``holidays`` package is not installed, the country is unknown, or the data are
        coarser than daily.
    """
    base = (
        None
        if isinstance(freq, (int, np.integer))
        else pd.tseries.frequencies.to_offset(freq).rule_code.split("-")[0]
    )
    if base not in ("D", "B", "C", *_SECONDS):
        raise ParameterError(
            f"holidays={country!r} needs daily or finer data (a holiday is a day), not "
            f"frequency {freq!r}: drop it (calendar='auto' gives the month's or week's cycle)."
        )
    _holidays(str(country), [2000])
    return f"{_HOLIDAYS}{country}"


def _holidays(country: str, years: list[int]) -> set:
    """The public holidays of ``country`` (``"US"`` or ``"US-CA"``) in ``years``, as dates."""
    try:
        import holidays
    except ImportError:
        raise ParameterError(
            "holidays= needs the holidays package: pip install 'tsrnn[holidays]'."
        ) from None
    code, _, subdivision = country.partition("-")
    try:
        found = holidays.country_holidays(code, subdiv=subdivision or None, years=years)
    except (NotImplementedError, KeyError):
        raise ParameterError(
            f"holidays={country!r} is not a country (or subdivision) the holidays package "
            "knows: use a code such as 'US', 'DE' or 'US-CA'."
        ) from None
    return set(found)


def features_in(names) -> list[str]:
    """The calendar features of the calendar columns among ``names``, in order: what
    :func:`calendar_columns` takes to make those columns again.

    Examples
    --------
    >>> features_in(["price", "calendar:week_sin", "calendar:week_cos", "calendar:holidays.US_day"])
    ['week', 'holidays.US']
    """
    found = [
        str(n)[len(CALENDAR) :].rsplit("_", 1)[0] for n in names if str(n).startswith(CALENDAR)
    ]
    return list(dict.fromkeys(found))


def calendar_columns(stamps, features: list[str]) -> tuple[list[str], np.ndarray]:
    """Sine and cosine of each feature's position in its cycle, at each stamp; or, for a
    holiday feature (:func:`holiday_feature`), whether the stamp's day is a public holiday.

    Parameters
    ----------
    stamps : array-like of datetime64 of shape (n,)
    features : list of str
        From :func:`calendar_features` and :func:`holiday_feature`.

    Returns
    -------
    names : list of str
        ``calendar:month_sin``, ``calendar:month_cos``, ..., ``calendar:holidays.US_day``
    values : ndarray of shape (n, n_columns)

    Examples
    --------
    >>> names, values = calendar_columns(pd.date_range("2024-01-01", periods=2, freq="MS"),
    ...                                  ["month"])
    >>> names, values.round(3).tolist()
    (['calendar:month_sin', 'calendar:month_cos'], [[0.0, 1.0], [0.5, 0.866]])
    """
    index = pd.DatetimeIndex(stamps)
    position = {
        "hour": lambda: (index.hour + index.minute / 60) / 24,
        "weekday": lambda: index.day_of_week / 7,
        "yearday": lambda: (index.day_of_year - 1) / 365.25,
        "week": lambda: (index.isocalendar().week.to_numpy() - 1) / 52.18,
        "month": lambda: (index.month - 1) / 12,
        "quarter": lambda: (index.quarter - 1) / 4,
    }
    names, columns = [], []
    for feature in features:
        if feature.startswith(_HOLIDAYS):
            days = index.normalize()
            found = _holidays(feature[len(_HOLIDAYS) :], sorted(set(days.year)))
            names.append(f"{CALENDAR}{feature}_day")
            columns.append(days.isin(pd.DatetimeIndex(sorted(found))).astype(np.float64))
            continue
        angle = 2 * np.pi * np.asarray(position[feature](), dtype=np.float64)
        names += [f"{CALENDAR}{feature}_sin", f"{CALENDAR}{feature}_cos"]
        columns += [np.sin(angle), np.cos(angle)]
    values = np.stack(columns, axis=1) if columns else np.empty((len(index), 0))
    return names, values
