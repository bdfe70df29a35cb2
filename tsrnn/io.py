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

import pandas as pd

from ._data import tables
from ._data.checks import check_series
from ._data.text import show as format_value
from .errors import ParameterError

__all__ = [
    "atomic_path",
    "check_output_path",
    "format_value",
    "read_future",
    "read_series",
    "write_csv_atomic",
    "write_forecast",
]


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
    many series). Rows must be sorted by time within each series, with one row per timestamp,
    no gaps and no missing values (but empty target values with ``missing=True``). Timestamps
    may be dates written as text or, in Parquet, timestamp columns.

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
        Exogenous columns (numeric), returned as ``X``.
    missing : bool, default=False
        Accept empty target values, as NaN (what ``RNNForecaster(missing="mask")`` masks).

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
    frame, src = tables.read_table(Path(path))
    label = src.label
    exog = [exog] if isinstance(exog, str) else list(exog or [])
    for role, column in [("time_col", time_col), ("target", target), ("id_col", id_col)] + [
        ("exog", c) for c in exog
    ]:
        if column is not None:
            tables.check_column(frame, column, role, label)
    tables.check_roles(time_col=time_col, target=target, id_col=id_col, exog=exog)
    roles = tables.conventional_roles(
        frame.columns, time_col=time_col, target=target, id_col=id_col, exog=exog
    )
    time_col, target, id_col = roles["time_col"], roles["target"], roles["id_col"]

    reserved = {c for c in (target, id_col, *exog) if c is not None}
    if time_col is None:
        time_col = tables.detect_time_col(frame, reserved, label)
    reserved.add(time_col)
    if target is None:
        target = tables.detect_target(frame, reserved, label)

    times = tables.parse_times(frame[time_col], time_col, src)
    values = tables.parse_numbers(frame[target], target, src, role="target", missing=missing)
    columns = {c: tables.parse_numbers(frame[c], c, src, role="exogenous") for c in exog}
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
    return y, X


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
    columns = {c: tables.parse_numbers(frame[c], c, src, role="exogenous").to_numpy() for c in exog}
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
    names = list(forecast.index.names)
    defaults = ["id", "timestamp"][-len(names) :] if len(names) <= 2 else [None] * len(names)
    names = [
        name if name is not None else default for name, default in zip(names, defaults, strict=True)
    ]
    write_csv_atomic(forecast.rename_axis(names).reset_index(), path)


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
