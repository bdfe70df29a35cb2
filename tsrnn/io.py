"""Reading series from CSV or Parquet files and writing results without leaving partial files.

:func:`read_series` turns a CSV or Parquet file into the target series (and its exogenous
columns) that :class:`tsrnn.RNNForecaster` takes, detecting the time and target columns when
there is only one candidate for each, and explaining in one sentence what to fix when the file
cannot be used: the file name, the column, the line of the CSV (or row of the Parquet file) and
the remedy (the parsing lives in :mod:`tsrnn._data.tables`). Many series in long format are
grouped once (:func:`tsrnn._data.groups.group_rows`), so reading and checking them costs time
linear in the number of rows. :func:`write_csv_atomic` and :func:`atomic_path` write to a
temporary file beside the destination and rename it at the end, so an error never leaves a
half-written output behind. :func:`format_value` is how tsrnn writes timestamps (and other
values) in its messages and tables.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from ._data import tables
from ._data.categories import is_categorical
from ._data.checks import check_series
from ._data.text import show as format_value
from .errors import DataError, ParameterError

__all__ = [
    "SeriesInputs",
    "atomic_path",
    "check_output_path",
    "file_columns",
    "flat_forecast",
    "format_value",
    "read_future",
    "read_inputs",
    "read_series",
    "write_csv_atomic",
    "write_forecast",
]


class SeriesInputs(NamedTuple):
    """What :func:`read_inputs` returns: the target, its exogenous and its static columns."""

    y: pd.Series
    X: pd.DataFrame | None
    static: pd.DataFrame | None


def read_series(
    path: str | os.PathLike,
    *,
    time_col: str | None = None,
    target: str | None = None,
    id_col: str | None = None,
    exog: str | Sequence[str] | None = None,
    missing: bool = False,
) -> tuple[pd.Series, pd.DataFrame | None]:
    """Read a CSV or Parquet file into a validated target series and its exogenous columns.

    The file needs named columns and one row per time step (per series, in long format for
    many series). Rows must be sorted by time within each series, with one row per timestamp
    and no missing values (with ``missing=True``, empty target values and missing timestamps,
    i.e. gaps, are read as NaN). Timestamps may be dates written as text or, in Parquet,
    timestamp columns.

    Parameters
    ----------
    path : str or path-like
        The file: Parquet when its name ends in ``.parquet`` or ``.pq``, otherwise CSV
        (comma-separated, UTF-8, with a header row).
    time_col : str or None, default=None
        Column of timestamps. ``None`` picks the only column whose values all parse as dates;
        it must then be unambiguous. A file in the long format of Nixtla's libraries (columns
        ``unique_id``, ``ds``, ``y``) needs no column named: ``ds`` is the time column, ``y``
        the target and ``unique_id`` the id column, unless given other roles.
    target : str or None, default=None
        Column to forecast. ``None`` picks the only column left once the time, id and exogenous
        columns are set aside, or else the only numeric one.
    id_col : str or None, default=None
        Column naming the series, for many series stacked in long format.
    exog : str, sequence of str or None, default=None
        Exogenous columns, returned as ``X``: numbers, or text for a categorical column
        (kept as text; the forecaster codes it).
    missing : bool, default=False
        Accept empty target values and missing timestamps (gaps), as NaN (what
        ``RNNForecaster(missing="mask")`` masks).

    Returns
    -------
    y : Series of shape (n_rows,)
        float64 values named after the target column, on a ``DatetimeIndex`` named after the
        time column with its frequency set (``y.attrs["freq"]`` holds it too); with ``id_col``,
        on a ``MultiIndex`` (id, timestamp).
    X : DataFrame of shape (n_rows, n_exog) or None
        The exogenous columns on the index of ``y``; None without ``exog``.

    Raises
    ------
    DataError
        If the file is missing or not a readable CSV or Parquet file, a named column does not
        exist, the time
        or target column is ambiguous or absent, a value is not a date or not a number, the
        rows are unsorted or duplicated, or the series has gaps, NaN or no regular frequency.
    ParameterError
        If one column is given two roles (e.g. as the target and as an exogenous column).

    Examples
    --------
    >>> y, X = read_series("sales.csv")  # doctest: +SKIP
    >>> y, X = read_series("stores.csv", time_col="week", target="units", id_col="store",
    ...                    exog=["price"])  # doctest: +SKIP
    """
    y, X, _ = read_inputs(
        path, time_col=time_col, target=target, id_col=id_col, exog=exog, missing=missing
    )
    return y, X


def read_inputs(
    path: str | os.PathLike,
    *,
    time_col: str | None = None,
    target: str | None = None,
    id_col: str | None = None,
    exog: str | Sequence[str] | None = None,
    static: str | Sequence[str] | None = None,
    missing: bool = False,
) -> SeriesInputs:
    """Read a long file into the target, its exogenous columns and its static covariates.

    :func:`read_series`, plus the columns constant within each series (a product's group, a
    store's size) read as one row per series: the ``static`` of
    :meth:`tsrnn.RNNForecaster.fit`.

    Parameters
    ----------
    path, time_col, target, id_col, exog, missing
        As for :func:`read_series`.
    static : str, sequence of str or None, default=None
        Columns holding one value per series (numbers, or text for a category); they need
        ``id_col`` (or Nixtla's ``unique_id``).

    Returns
    -------
    SeriesInputs
        ``y`` and ``X`` as :func:`read_series` returns them, and ``static``: a DataFrame of
        shape (n_series, n_static) indexed by series id (None without ``static``).

    Raises
    ------
    DataError
        As :func:`read_series`, and if a static column changes within a series.

    Examples
    --------
    >>> y, X, static = read_inputs("sales.csv", id_col="item", exog=["promo"],
    ...                            static=["group"])  # doctest: +SKIP
    """
    frame, src = tables.read_table(Path(path))
    label = src.label
    exog = [exog] if isinstance(exog, str) else list(exog or [])
    static = [static] if isinstance(static, str) else list(static or [])
    for role, column in (
        [("time_col", time_col), ("target", target), ("id_col", id_col)]
        + [("exog", c) for c in exog]
        + [("static", c) for c in static]
    ):
        if column is not None:
            tables.check_column(frame, column, role, label)
    tables.check_roles(time_col=time_col, target=target, id_col=id_col, exog=exog, static=static)
    roles = tables.conventional_roles(
        frame.columns, time_col=time_col, target=target, id_col=id_col, exog=[*exog, *static]
    )
    time_col, target, id_col = roles["time_col"], roles["target"], roles["id_col"]

    reserved = {c for c in (target, id_col, *exog, *static) if c is not None}
    if time_col is None:
        time_col = tables.detect_time_col(frame, reserved, label)
    reserved.add(time_col)
    if target is None:
        target = tables.detect_target(frame, reserved, label)

    times = tables.parse_times(frame[time_col], time_col, src)
    values = tables.parse_numbers(frame[target], target, src, role="target", missing=missing)
    columns = {c: _exog_column(frame[c], c, src) for c in exog}
    if static and id_col is None:
        raise DataError(
            f"Static columns ({', '.join(static)}) describe many series: name the id column of "
            f"{label} with {tables.option('id_col')}."
        )
    if id_col is None:
        text = [
            c for c in frame.columns if c not in reserved and not tables.is_number_dtype(frame[c])
        ]
        hint = (
            f" (or, if the file holds several series, name their id column with "
            f"{tables.option('id_col')}, e.g. {text[0]!r})"
            if text
            else ""
        )
        tables.check_rows(times, src, time_col, hint=hint)
        index = pd.DatetimeIndex(times, name=time_col)
    else:
        ids = tables.series_ids(frame, id_col, src)
        tables.check_rows_per_series(times, ids, src, time_col, id_col)
        index = pd.MultiIndex.from_arrays([ids, times], names=[id_col, time_col])
    y = pd.Series(values.to_numpy(), index=index, name=target)
    X = pd.DataFrame({c: s.to_numpy() for c, s in columns.items()}, index=index) if exog else None
    name = f"column {target!r} of {label}"
    y, X = check_series(y, X, name=name, missing=missing)
    y.name = target
    return SeriesInputs(y, X, _static_table(frame, static, id_col, src) if static else None)


def _exog_column(column: pd.Series, name: str, src) -> pd.Series:
    """An exogenous column: numbers, or text (a categorical column, no empty value)."""
    if is_categorical(column):
        empty = column.isna().to_numpy()
        if empty.any():
            raise DataError(
                f"The exogenous column {name!r} of {src.label} has an empty value on "
                f"{src.row(int(empty.argmax()))}: fill it (a category such as 'none' will do)."
            )
        return column.astype(str)
    return tables.parse_numbers(column, name, src, role="exogenous")


def _static_table(frame: pd.DataFrame, static: list, id_col: str, src) -> pd.DataFrame:
    """One row per series of the ``static`` columns, refused where one changes in a series."""
    ids = frame[id_col]
    keys = pd.Index(pd.unique(ids))
    out = {}
    for name in static:
        column = _exog_column(frame[name], name, src)
        varying = column.groupby(ids.to_numpy(), sort=False).nunique() > 1
        if varying.any():
            raise DataError(
                f"The static column {name!r} of {src.label} changes within series "
                f"{varying.index[varying.to_numpy().argmax()]!r}: give each series one value, "
                f"or pass the column with {tables.option('exog')} instead."
            )
        out[name] = column.groupby(ids.to_numpy(), sort=False).first().reindex(keys).to_numpy()
    return pd.DataFrame(out, index=keys.rename(id_col))


def file_columns(path: str | os.PathLike) -> list[str]:
    """The column names of a CSV or Parquet file, read from its header (or schema) only.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    list of str
        Empty when the file cannot be read (:func:`read_series` then says why).
    """
    try:
        if Path(path).suffix.lower() in tables.PARQUET_SUFFIXES:
            import pyarrow.parquet as pq

            return [str(c) for c in pq.read_schema(path).names]
        return [str(c) for c in pd.read_csv(path, nrows=0).columns]
    except Exception:  # unreadable: the reader that follows explains
        return []


def read_future(
    path: str | os.PathLike,
    *,
    exog: str | Sequence[str],
    time_col: str | None = None,
    id_col: str | None = None,
) -> pd.DataFrame:
    """Read the future values of exogenous columns, the ``X_future`` of a forecast.

    Parameters
    ----------
    path : str or path-like
        CSV or Parquet file (by its suffix, as for :func:`read_series`) with a time column,
        the id column for many series, and the ``exog`` columns: one row per forecast step
        (per series).
    exog : str or sequence of str
        The exogenous columns, as given to :func:`read_series` for the history.
    time_col : str or None, default=None
        Column of timestamps; ``None`` picks ``ds`` in Nixtla's long format, else the only
        date column.
    id_col : str or None, default=None
        Column naming the series, for many series (``unique_id`` in Nixtla's long format).

    Returns
    -------
    DataFrame of shape (n_rows, n_exog)
        float64 columns on a ``DatetimeIndex`` (or a ``MultiIndex`` (id, timestamp)).

    Raises
    ------
    DataError
        As :func:`read_series` does for the file, its columns and its rows.
    """
    frame, src = tables.read_table(Path(path))
    label = src.label
    exog = [exog] if isinstance(exog, str) else list(exog)
    for role, column in [("time_col", time_col), ("id_col", id_col)] + [("exog", c) for c in exog]:
        if column is not None:
            tables.check_column(frame, column, role, label)
    tables.check_roles(time_col=time_col, id_col=id_col, exog=exog)
    roles = tables.conventional_roles(
        frame.columns, time_col=time_col, target=None, id_col=id_col, exog=exog
    )
    time_col, id_col = roles["time_col"], roles["id_col"]
    if time_col is None:
        time_col = tables.detect_time_col(
            frame, {c for c in (id_col, *exog) if c is not None}, label
        )
    times = tables.parse_times(frame[time_col], time_col, src)
    columns = {c: _exog_column(frame[c], c, src).to_numpy() for c in exog}
    if id_col is None:
        tables.check_rows(times, src, time_col)
        index = pd.DatetimeIndex(times, name=time_col)
    else:
        ids = tables.series_ids(frame, id_col, src)
        tables.check_rows_per_series(times, ids, src, time_col, id_col)
        index = pd.MultiIndex.from_arrays([ids, times], names=[id_col, time_col])
    return pd.DataFrame(columns, index=index)


def write_forecast(forecast: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a forecast as CSV: the timestamp (and series id) columns, then its values.

    Parameters
    ----------
    forecast : DataFrame
        As returned by ``RNNForecaster.predict``: columns ``forecast``, ``lower``, ``upper`` on
        a time index, or on a ``MultiIndex`` (id, timestamp). Unnamed index levels are written
        as ``timestamp`` and ``id``.
    path : str or path-like
        Destination, or ``"-"`` for standard output; written atomically (see
        :func:`write_csv_atomic`).
    """
    write_csv_atomic(flat_forecast(forecast), path)


def flat_forecast(forecast: pd.DataFrame) -> pd.DataFrame:
    """A forecast as a flat table: the series id and timestamp columns, then its values.

    Parameters
    ----------
    forecast : DataFrame
        As returned by ``RNNForecaster.predict``, on a time index or a ``MultiIndex`` (id,
        timestamp).

    Returns
    -------
    DataFrame of shape (n_rows, n_index_levels + n_columns)
        On a ``RangeIndex``; unnamed index levels become the columns ``timestamp`` and ``id``.

    Examples
    --------
    >>> f = pd.DataFrame({"forecast": [1.0]}, index=pd.DatetimeIndex(["2024-01-01"]))
    >>> flat_forecast(f).columns.tolist()
    ['timestamp', 'forecast']
    """
    names = list(forecast.index.names)
    defaults = ["id", "timestamp"][-len(names) :] if len(names) <= 2 else [None] * len(names)
    names = [
        name if name is not None else default for name, default in zip(names, defaults, strict=True)
    ]
    return forecast.rename_axis(names).reset_index()


def write_csv_atomic(frame: pd.DataFrame, path: str | os.PathLike, *, index: bool = False) -> None:
    """Write ``frame`` as CSV to ``path``, or to standard output when ``path`` is ``"-"``.

    The file is written to a temporary name in the same folder and renamed at the end, so a
    failure leaves either the old file or no file, never a partial one.

    Parameters
    ----------
    frame : DataFrame
    path : str or path-like
        Destination, or ``"-"`` for standard output (the CSV and nothing else).
    index : bool, default=False
        Write the index as the first column(s).

    Raises
    ------
    ParameterError
        If the destination folder does not exist or cannot be written to.
    """
    if str(path) == "-":
        sys.stdout.write(frame.to_csv(index=index))
        sys.stdout.flush()
        return
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=index)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Give a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    If the block raises, the temporary file is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or path-like
        The final destination.

    Yields
    ------
    Path
        A hidden file in the same folder (so the rename is atomic), already created empty with
        the permissions a new file would get.

    Raises
    ------
    ParameterError
        If the destination folder does not exist or cannot be written to.
    """
    path = check_output_path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        # 0o666 minus the umask: the permissions a plainly created file would have.
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    except OSError as exc:
        raise ParameterError(
            f"Cannot write {str(path)!r} ({exc.strerror}): choose a folder you can write to."
        ) from None
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        raise ParameterError(
            f"Cannot write {str(path)!r} ({exc.strerror}): check the free space and permissions "
            "of its folder."
        ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def check_output_path(path: str | os.PathLike) -> Path:
    """Check that ``path`` can be created or replaced, before any long work starts.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    Path

    Raises
    ------
    ParameterError
        If its folder does not exist or is not writable, or ``path`` is a folder.
    """
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise ParameterError(f"{str(path)!r} is a folder: give a file name to write to.")
    if not folder.is_dir():
        raise ParameterError(
            f"The folder {str(folder)!r} of {str(path)!r} does not exist: create it first or "
            "choose another path."
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ParameterError(
            f"The folder {str(folder)!r} is not writable: choose another path for {path.name!r}."
        )
    return path
