"""One long frame, split into the history, the future inputs and the static rows of a forecast.

A model served behind an endpoint (:mod:`tsrnn.mlflow`) receives one table per request, in
long format: one row per series and time step. Rows with a target value are the history;
the rows of a series after its last target value are its future steps, holding the future
values of the exogenous columns; static columns hold one value per series. :func:`split_frame`
cuts such a table into the ``y``, ``X``, ``X_future`` and ``static`` of
:meth:`tsrnn.RNNForecaster.predict`, with the checks and messages of :mod:`tsrnn.io`, where a
row is its position in the frame (from 1).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ..errors import DataError
from .categories import is_categorical
from .tables import Source, parse_numbers, parse_times, series_ids
from .text import show

__all__ = ["FrameInputs", "split_frame"]


class FrameInputs(NamedTuple):
    """What :func:`split_frame` returns; each is None where the frame has none."""

    y: pd.Series | None
    X: pd.DataFrame | None
    X_future: pd.DataFrame | None
    static: pd.DataFrame | None


def split_frame(
    frame: pd.DataFrame,
    *,
    time_col: str,
    target: str,
    id_col: str | None = None,
    exog: list[str] = (),
    future: list[str] = (),
    static: list[str] = (),
    integer_time: bool = False,
    label: str = "the input frame",
) -> FrameInputs:
    """Split a long frame into the history and future inputs of a forecast.

    Rows are sorted by time within each series (series keep the order of their first row).
    The rows of a series up to its last target value are its history; the rows after it, its
    future steps. Either every series has history (a forecast from the frame's history) or
    none has (the frame gives the future inputs of the series a model keeps).

    Parameters
    ----------
    frame : DataFrame of shape (n_rows, n_columns)
        The table, in long format.
    time_col, target : str
        The time and target columns (the target may be absent: then every row is a future
        step).
    id_col : str or None, default=None
        The series id column, for many series; None: one series.
    exog : list of str, default=()
        The exogenous columns the history rows hold (numbers, or text for a category).
    future : list of str, default=()
        Those of ``exog`` the future rows hold (the others are past-only).
    static : list of str, default=()
        Columns holding one value per series; those present give the ``static`` table.
    integer_time : bool, default=False
        The time column holds integers (a series on a ``RangeIndex``), not dates.
    label : str, default="the input frame"
        How messages name the frame.

    Returns
    -------
    FrameInputs
        ``y`` of shape (n_history_rows,) on a ``MultiIndex`` (id, time) (an index of times for
        one series); ``X`` of shape (n_history_rows, n_exog) on the same index; ``X_future``
        of shape (n_future_rows, len(future)); ``static`` of shape (n_series, n_static)
        indexed by id, with a history only (it describes series a model has not seen). All
        are None for an empty frame.

    Raises
    ------
    DataError
        If a column the rows need is missing, a column is none of those named, a value is
        not a date (not an integer) or not a number, an id or an input is empty, a timestamp is
        repeated within a series, a static column changes within a series, or only some
        series have history.

    Examples
    --------
    >>> frame = pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=4),
    ...                       "y": [1.0, 2.0, 3.0, None], "price": [1.0, 1.0, 2.0, 2.0]})
    >>> parts = split_frame(frame, time_col="ds", target="y", exog=["price"],
    ...                     future=["price"])
    >>> len(parts.y), parts.X_future.index.tolist()
    (3, [Timestamp('2024-01-04 00:00:00')])
    """
    if len(frame) == 0:
        return FrameInputs(None, None, None, None)
    src = Source(label, parquet=True)  # "row 5": the frame's rows, counted from 1
    frame = frame.reset_index(drop=True)
    _check_columns(frame, [time_col, target, id_col, *exog, *static], label)
    ids = series_ids(frame, id_col, src) if id_col is not None else pd.Series(0, frame.index)
    times = _times(frame[time_col], time_col, src, integer_time)
    if target in frame.columns:
        values = parse_numbers(frame[target], target, src, role="target", missing=True)
    else:
        values = pd.Series(np.nan, index=frame.index)
    # Messages name the rows as given; the parts are sorted by series, then time.
    order = np.lexsort((times.to_numpy(), pd.factorize(ids)[0]))
    _check_unique(ids, times, order, id_col, src)
    history = np.zeros(len(frame), dtype=bool)
    history[order] = _history_rows(values.to_numpy()[order], ids.iloc[order], id_col)
    if id_col is None:
        index = pd.Index(times.to_numpy(), name=time_col)
        index = index if integer_time else pd.DatetimeIndex(index)
    else:
        index = pd.MultiIndex.from_arrays([ids, times], names=[id_col, time_col])
    y = X = X_future = None
    if history.any():
        rows = order[history[order]]
        _require(frame, list(exog), label, "history rows")
        y = pd.Series(values.to_numpy()[rows], index=index[rows], name=target)
        X = _columns(frame, list(exog), rows, src, index) if exog else None
    if future and not history.all():
        rows = order[~history[order]]
        _require(frame, list(future), label, "future rows")
        X_future = _columns(frame, list(future), rows, src, index)
    present = [c for c in static if c in frame.columns]  # static rows go with a history
    table = None
    if y is not None and id_col is not None:
        table = _static(frame.iloc[order], ids.iloc[order], present, id_col)
    return FrameInputs(y, X, X_future, table)


def _check_columns(frame: pd.DataFrame, known: list, label: str) -> None:
    unknown = [str(c) for c in frame.columns if c not in set(known) - {None}]
    if unknown:
        reads = ", ".join(repr(c) for c in known if c is not None)
        raise DataError(
            f"{label} has the column(s) {', '.join(map(repr, unknown))}, which the model does "
            f"not read: it reads {reads}; drop or rename them."
        )


def _times(column: pd.Series, name: str, src: Source, integer_time: bool) -> pd.Series:
    if not integer_time:
        return parse_times(column, name, src)
    if not pd.api.types.is_integer_dtype(column):
        raise DataError(
            f"Column {name!r} of {src.label} must hold integer time steps (the model was "
            f"fitted on a series indexed 0, 1, 2, ...); got {column.dtype} values such as "
            f"{show(column.iloc[0])}."
        )
    return column.astype(np.int64)


def _check_unique(ids: pd.Series, times: pd.Series, order: np.ndarray, id_col, src) -> None:
    """No timestamp twice within a series (``order``: the rows sorted by series, then time)."""
    keys = pd.DataFrame({"id": ids.to_numpy()[order], "time": times.to_numpy()[order]})
    twice = keys.duplicated().to_numpy()
    if not twice.any():
        return
    k = int(np.flatnonzero(twice)[0])
    first, second = sorted((int(order[k - 1]), int(order[k])))
    of = f" for {id_col}={ids.iloc[first]}" if id_col is not None else ""
    raise DataError(
        f"{src.label} has the timestamp {show(times.iloc[first])} twice{of} "
        f"({src.rows(first, second)}): keep one row per timestamp."
    )


def _history_rows(values: np.ndarray, ids: pd.Series, id_col: str | None) -> np.ndarray:
    """Rows up to the last target value of their series (rows sorted by series, then time);
    refused if only some series have one."""
    position = np.arange(len(values))
    codes = pd.factorize(ids)[0]
    last = pd.Series(np.where(~np.isnan(values), position, -1)).groupby(codes).transform("max")
    last = last.to_numpy()
    if (last >= 0).any() and not (last >= 0).all():
        none = ids.iloc[int(np.flatnonzero(last < 0)[0])]
        some = ids.iloc[int(np.flatnonzero(last >= 0)[0])]
        raise DataError(
            f"Series {id_col}={none!r} has no target value while {id_col}={some!r} has some: "
            "give the history of every series in the frame, or of none (its rows are then the "
            "future inputs of the series the model keeps)."
        )
    return position <= last


def _require(frame: pd.DataFrame, columns: list[str], label: str, rows: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"The model reads the input column(s) {', '.join(map(repr, missing))}: {label} "
            f"needs them on its {rows}."
        )


def _columns(
    frame: pd.DataFrame, columns: list[str], rows: np.ndarray, src: Source, index: pd.Index
) -> pd.DataFrame:
    """The exogenous ``columns`` of the ``rows`` as the forecaster takes them: numbers, or text
    for a category; an empty value is refused, named by its row."""
    out = {}
    for name in columns:
        column = frame[name]
        if is_categorical(column):
            values = column.to_numpy(dtype=object)
        else:
            values = parse_numbers(column, name, src, role="exogenous", missing=True).to_numpy()
        empty = pd.isna(values[rows])
        if empty.any():
            raise DataError(
                f"The exogenous column {name!r} of {src.label} has an empty value on "
                f"{src.row(int(rows[int(empty.argmax())]))}: fill it."
            )
        out[name] = values[rows].astype(str) if values.dtype == object else values[rows]
    return pd.DataFrame(out, index=index[rows])


def _static(frame: pd.DataFrame, ids: pd.Series, columns: list[str], id_col: str):
    """One row per series of the static ``columns``, refused where one changes in a series."""
    if not columns:
        return None
    keys = pd.Index(pd.unique(ids.to_numpy()), name=id_col)
    out = {}
    for name in columns:
        groups = frame[name].groupby(ids.to_numpy(), sort=False)
        varying = groups.nunique() > 1
        if varying.any():
            raise DataError(
                f"The static column {name!r} of the frame changes within series "
                f"{varying.index[int(varying.to_numpy().argmax())]!r}: give each series one "
                "value."
            )
        out[name] = groups.first().reindex(keys)
    return pd.DataFrame(out, index=keys)
