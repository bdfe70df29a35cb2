"""Reading series from CSV or Parquet files and writing results without leaving partial files.

:func:`read_series` turns a CSV or Parquet file into the target series (and its exogenous
columns) that :class:`tsrnn.RNNForecaster` takes, detecting the time and target columns when
there is only one candidate for each, and explaining in one sentence what to fix when the file
cannot be used: the file name, the column, the line of the CSV (or row of the Parquet file) and
the remedy. Many series in long format are grouped once (:func:`tsrnn._data.groups.group_rows`), so
reading and checking them costs time linear in the number of rows. :func:`write_csv_atomic`
and :func:`atomic_path` write to a temporary file beside the destination and rename it at the
end, so an error never leaves a half-written output behind.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import secrets
import sys
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ._data.checks import check_series
from ._data.groups import group_rows
from ._data.text import show
from ._data.text import show as format_value
from .errors import DataError, ParameterError

__all__ = [
    "atomic_path",
    "check_output_path",
    "format_value",
    "read_future",
    "read_series",
    "write_csv_atomic",
    "write_forecast",
]

# A data row's line in a CSV: one header line, and lines are counted from 1.
_FIRST_DATA_LINE = 2
# File name suffixes read as Parquet; anything else is read as CSV.
PARQUET_SUFFIXES = (".parquet", ".pq")
# Rows looked at first when a question about a whole column is usually settled by its head.
_SAMPLE = 1000


@dataclass(frozen=True)
class _Source:
    """How messages name a file and its rows: CSV lines count the header, Parquet rows do not."""

    label: str
    parquet: bool = False

    def row(self, pos: int) -> str:
        """'line 5' (CSV) or 'row 4' (Parquet) for the data row at position ``pos``."""
        return f"row {pos + 1}" if self.parquet else f"line {pos + _FIRST_DATA_LINE}"

    def rows(self, *positions: int) -> str:
        """'lines 3 and 5' or 'rows 2 and 4'."""
        numbers = [int(p) + (1 if self.parquet else _FIRST_DATA_LINE) for p in positions]
        word = "rows" if self.parquet else "lines"
        return f"{word} {' and '.join(map(str, numbers))}"


def read_series(
    path: str | os.PathLike,
    *,
    time_col: str | None = None,
    target: str | None = None,
    id_col: str | None = None,
    exog: str | Sequence[str] | None = None,
) -> tuple[pd.Series, pd.DataFrame | None]:
    """Read a CSV or Parquet file into a validated target series and its exogenous columns.

    The file needs named columns and one row per time step (per series, in long format for
    many series). Rows must be sorted by time within each series, with one row per timestamp,
    no gaps and no missing values. Timestamps may be dates written as text or, in Parquet,
    timestamp columns.

    Parameters
    ----------
    path : str or path-like
        The file: Parquet when its name ends in ``.parquet`` or ``.pq``, otherwise CSV
        (comma-separated, UTF-8, with a header row).
    time_col : str or None, default=None
        Column of timestamps. ``None`` picks the only column whose values all parse as dates;
        it must then be unambiguous.
    target : str or None, default=None
        Column to forecast. ``None`` picks the only column left once the time, id and exogenous
        columns are set aside, or else the only numeric one.
    id_col : str or None, default=None
        Column naming the series, for many series stacked in long format.
    exog : str, sequence of str or None, default=None
        Exogenous columns (numeric), returned as ``X``.

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
    frame, src = _read_table(Path(path))
    label = src.label
    exog = [exog] if isinstance(exog, str) else list(exog or [])
    for role, column in [("time_col", time_col), ("target", target), ("id_col", id_col)] + [
        ("exog", c) for c in exog
    ]:
        if column is not None:
            _check_column(frame, column, role, label)
    _check_roles(time_col=time_col, target=target, id_col=id_col, exog=exog)

    reserved = {c for c in (target, id_col, *exog) if c is not None}
    if time_col is None:
        time_col = _detect_time_col(frame, reserved, label)
    reserved.add(time_col)
    if target is None:
        target = _detect_target(frame, reserved, label)

    times = _parse_times(frame[time_col], time_col, src)
    values = _parse_numbers(frame[target], target, src, role="target")
    columns = {c: _parse_numbers(frame[c], c, src, role="exogenous") for c in exog}
    if id_col is None:
        text = [c for c in frame.columns if c not in reserved and not _is_number_dtype(frame[c])]
        hint = (
            f" (or, if the file holds several series, name their id column with "
            f"{_option('id_col')}, e.g. {text[0]!r})"
            if text
            else ""
        )
        _check_rows(times, src, time_col, hint=hint)
        index = pd.DatetimeIndex(times, name=time_col)
    else:
        ids = _series_ids(frame, id_col, src)
        _check_rows_per_series(times, ids, src, time_col, id_col)
        index = pd.MultiIndex.from_arrays([ids, times], names=[id_col, time_col])
    y = pd.Series(values.to_numpy(), index=index, name=target)
    X = pd.DataFrame({c: s.to_numpy() for c, s in columns.items()}, index=index) if exog else None
    name = f"column {target!r} of {label}"
    y, X = check_series(y, X, name=name)
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
        Column of timestamps; ``None`` picks the only date column.
    id_col : str or None, default=None
        Column naming the series, for many series.

    Returns
    -------
    DataFrame of shape (n_rows, n_exog)
        float64 columns on a ``DatetimeIndex`` (or a ``MultiIndex`` (id, timestamp)).

    Raises
    ------
    DataError
        As :func:`read_series` does for the file, its columns and its rows.
    """
    frame, src = _read_table(Path(path))
    label = src.label
    exog = [exog] if isinstance(exog, str) else list(exog)
    for role, column in [("time_col", time_col), ("id_col", id_col)] + [("exog", c) for c in exog]:
        if column is not None:
            _check_column(frame, column, role, label)
    _check_roles(time_col=time_col, id_col=id_col, exog=exog)
    if time_col is None:
        time_col = _detect_time_col(frame, {c for c in (id_col, *exog) if c is not None}, label)
    times = _parse_times(frame[time_col], time_col, src)
    columns = {c: _parse_numbers(frame[c], c, src, role="exogenous").to_numpy() for c in exog}
    if id_col is None:
        _check_rows(times, src, time_col)
        index = pd.DatetimeIndex(times, name=time_col)
    else:
        ids = _series_ids(frame, id_col, src)
        _check_rows_per_series(times, ids, src, time_col, id_col)
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


# ---------------------------------------------------------------------- internals


def _read_table(path: Path) -> tuple[pd.DataFrame, _Source]:
    """The file as a frame of named columns on a RangeIndex, Parquet or CSV by its suffix."""
    parquet = path.suffix.lower() in PARQUET_SUFFIXES
    where = str(path)
    if not path.exists():
        raise DataError(f"File {where!r} does not exist: check the path and the current folder.")
    if path.is_dir():
        kind = "Parquet" if parquet else "CSV"
        raise DataError(f"{where!r} is a folder, not a {kind} file: give the path of the file.")
    frame = _read_parquet(path) if parquet else _read_csv(path)
    return frame, _Source(where, parquet=parquet)


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    where = str(path)
    try:
        table = pq.read_table(path)
        frame = table.to_pandas(date_as_object=False)
    except PermissionError as exc:
        raise DataError(f"Cannot read {where!r} ({exc.strerror}): check its permissions.") from None
    except (pa.ArrowException, OSError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        reason = re.sub(r"^Could not open Parquet input source '.*?': ", "", reason)
        reason = "".join(c for c in reason if c.isprintable()).rstrip(" :.")
        if path.stat().st_size == 0:
            raise DataError(
                f"{where!r} is empty: a Parquet file needs a time column and a value column, "
                "with one row per time step."
            ) from None
        if "magic bytes" in reason:
            raise DataError(
                f"{where!r} is not a Parquet file, or a truncated one (its end is not a Parquet "
                "footer): write it again, e.g. with df.to_parquet(path), or name a CSV file "
                ".csv."
            ) from None
        raise DataError(
            f"{where!r} is not a readable Parquet file ({reason}): write it again, "
            "e.g. with df.to_parquet(path)."
        ) from None
    if not frame.index.equals(pd.RangeIndex(len(frame))):
        # An index saved by pandas: named levels are data columns, an unnamed one is not.
        frame = frame.reset_index(drop=all(name is None for name in frame.index.names))
    frame.columns = [str(c).strip() for c in frame.columns]
    if len(frame.columns) == 1:
        raise DataError(
            f"{where!r} has a single column {frame.columns[0]!r}: tsrnn needs at least a time "
            "column and a value column."
        )
    if len(frame.columns) == 0:
        raise DataError(
            f"{where!r} has no columns: it needs at least a time column and a value column."
        )
    if len(frame) == 0:
        raise DataError(f"{where!r} has columns but no rows: add one row per time step.")
    return frame


def _read_csv(path: Path) -> pd.DataFrame:
    where = str(path)
    try:
        with warnings.catch_warnings():
            # A first row longer than the header: pandas would drop its extra fields.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(path, encoding="utf-8", skipinitialspace=True, index_col=False)
    except pd.errors.ParserWarning:
        raise DataError(
            f"{where!r} is not a readable CSV: line 2 has more fields than the header; every row "
            "needs as many comma-separated fields as the header."
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{where!r} is empty: a CSV needs a header row, then one row per time step."
        ) from None
    except pd.errors.ParserError as exc:
        reason = str(exc).strip().splitlines()[-1].removeprefix("Error tokenizing data. ")
        raise DataError(
            f"{where!r} is not a readable CSV ({reason}): every row needs as many "
            "comma-separated fields as the header."
        ) from None
    except UnicodeDecodeError:
        raise DataError(
            f"{where!r} is not UTF-8 text: save it as a UTF-8 comma-separated (CSV) file."
        ) from None
    except OSError as exc:
        raise DataError(f"Cannot read {where!r} ({exc.strerror}): check its permissions.") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if len(frame.columns) == 1:
        only = frame.columns[0]
        sep = next((s for s in (";", "\t", "|") if s in only), None)
        hint = f" it looks separated by {sep!r}, but" if sep else ""
        raise DataError(
            f"{where!r} has a single column {only!r}:{hint} tsrnn reads comma-separated files "
            "with at least a time column and a value column."
        )
    if len(frame) == 0:
        raise DataError(f"{where!r} has a header but no rows: add one row per time step.")
    return frame


def _check_column(frame: pd.DataFrame, column: str, role: str, label: str) -> None:
    if column in frame.columns:
        return
    close = difflib.get_close_matches(column, frame.columns, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"choose one of {_names(frame.columns)}."
    raise DataError(
        f"Column {column!r} given as {_option(role)} is not in {label} (columns: "
        f"{_names(frame.columns)}): {hint}"
    )


def _check_roles(**roles: str | list[str] | None) -> None:
    seen: dict[str, str] = {}
    for role, value in roles.items():
        for column in value if isinstance(value, list) else [value]:
            if column is None:
                continue
            if column in seen:
                first = seen[column]
                what = "twice" if first == role else f"as {_option(first)} and {_option(role)}"
                raise ParameterError(
                    f"Column {column!r} is given {what}: each column has one role."
                )
            seen[column] = role


def _detect_time_col(frame: pd.DataFrame, reserved: set[str], label: str) -> str:
    candidates = [c for c in frame.columns if c not in reserved and _looks_like_dates(frame[c])]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise DataError(
            f"{label} has no column of dates (columns: {_names(frame.columns)}): add one with "
            f"values like 2024-01-31, or name it with {_option('time_col')}."
        )
    raise DataError(
        f"{label} has {len(candidates)} date columns ({_names(candidates)}): choose one with "
        f"{_option('time_col')}."
    )


def _detect_target(frame: pd.DataFrame, reserved: set[str], label: str) -> str:
    left = [c for c in frame.columns if c not in reserved]
    if len(left) == 1:
        return left[0]
    numeric = [c for c in left if _is_number_dtype(frame[c])]
    if len(numeric) == 1:
        return numeric[0]
    if not left:
        raise DataError(
            f"{label} has no column left for the target (columns: {_names(frame.columns)}): "
            "the other columns are all taken as time, id or exogenous columns."
        )
    if not numeric:
        raise DataError(
            f"{label} has no numeric column to forecast among {_names(left)}: name the target "
            f"with {_option('target')} and make its values numbers."
        )
    raise DataError(
        f"{label} has {len(numeric)} numeric columns ({_names(numeric)}): choose the one to "
        f"forecast with {_option('target')} (and pass others with {_option('exog')} to use them "
        "as inputs)."
    )


def _looks_like_dates(column: pd.Series) -> bool:
    """True when every non-empty value is a date: a datetime dtype, or strings that parse."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return True
    if not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)):
        return False
    values = column.dropna()
    if values.empty or not values.astype(str).str.contains(r"\d").all():
        return False
    if _all_numbers(values.iloc[:_SAMPLE]) and _all_numbers(values):  # the head settles most
        return False
    return bool(_to_datetime(values).notna().all())


def _all_numbers(values: pd.Series) -> bool:
    return bool(pd.to_numeric(values, errors="coerce").notna().all())


def _to_datetime(values: pd.Series) -> pd.Series:
    with warnings.catch_warnings():
        # "Could not infer format...": parsing element by element is the point here.
        warnings.simplefilter("ignore", UserWarning)
        try:
            return pd.to_datetime(values, errors="coerce")
        except (TypeError, ValueError, OverflowError):
            return pd.Series(pd.NaT, index=values.index)


def _parse_times(column: pd.Series, name: str, src: _Source) -> pd.Series:
    label = src.label
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        raise DataError(
            f"Column {name!r} of {label} holds numbers, not dates (e.g. {_value(column.iloc[0])}): "
            f"write them as dates such as 2024-01-31, or name the time column with "
            f"{_option('time_col')}."
        )
    times = _to_datetime(column)
    bad = times.isna()
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        value = column.iloc[pos]
        what = "an empty timestamp" if pd.isna(value) else f"{_value(value)}, which is not a date,"
        raise DataError(
            f"Column {name!r} of {label} has {what} on {src.row(pos)}: fix that value or drop "
            "the row."
        )
    if not pd.api.types.is_datetime64_any_dtype(times):
        raise DataError(
            f"Column {name!r} of {label} mixes time zones (e.g. {column.iloc[0]!r}): write all "
            "timestamps with the same UTC offset."
        )
    return times


def _parse_numbers(column: pd.Series, name: str, src: _Source, role: str) -> pd.Series:
    label = src.label
    if pd.api.types.is_bool_dtype(column):
        return column.astype(np.float64)
    numbers = pd.to_numeric(column, errors="coerce")
    bad = numbers.isna() & column.notna()
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        fix = (
            f"choose another target with {_option('target')}"
            if role == "target"
            else "encode it as numbers"
        )
        raise DataError(
            f"The {role} column {name!r} of {label} must be numeric, but {src.row(pos)} has "
            f"{_value(column.iloc[pos])}: fix that value, or {fix}."
        )
    missing = numbers.isna()
    if missing.any():
        pos = int(np.flatnonzero(missing.to_numpy())[0])
        raise DataError(
            f"The {role} column {name!r} of {label} has an empty value (NaN) on "
            f"{src.row(pos)}: fill it (e.g. with the previous value or an interpolation) or "
            "drop the rows before it."
        )
    return numbers.astype(np.float64)


def _series_ids(frame: pd.DataFrame, id_col: str, src: _Source) -> pd.Series:
    """The id column, refused if an id is missing."""
    ids = frame[id_col]
    missing = ids.isna().to_numpy()
    if missing.any():
        raise DataError(
            f"{src.label} has an empty series id in column {id_col!r} on "
            f"{src.row(int(np.flatnonzero(missing)[0]))}: fill it or drop that row."
        )
    return ids


def _check_rows_per_series(
    times: pd.Series, ids: pd.Series, src: _Source, time_col: str, id_col: str
) -> None:
    """:func:`_check_rows` for every series at once: one grouping, one pass over the rows.

    A series whose timestamps do not strictly increase (duplicated or unsorted) is then
    checked on its own, for the message with its lines; the first such series in the order
    of the file is reported.
    """
    groups = group_rows(ids)
    stamps = pd.DatetimeIndex(times).asi8[groups.order]
    # Step j goes from row j to row j + 1 of ``stamps``; it is inside a series unless row
    # j + 1 starts one.
    inside = np.ones(max(len(stamps) - 1, 0), dtype=bool)
    inside[groups.starts[1:-1] - 1] = False
    bad = np.flatnonzero(inside & (np.diff(stamps) <= 0))
    if len(bad) == 0:
        return
    k = int(np.searchsorted(groups.starts, bad[0], side="right") - 1)
    rows = groups.order[groups.starts[k] : groups.starts[k + 1]]
    _check_rows(times.iloc[rows], src, time_col, series=f"{id_col}={ids.iloc[rows[0]]}")


def _check_rows(
    times: pd.Series, src: _Source, time_col: str, *, series: str | None = None, hint: str = ""
) -> None:
    """Duplicates and order, reported with the file's line numbers (one series at a time)."""
    of = f" for {series}" if series else ""
    label = src.label
    positions = times.index.to_numpy()
    values = times.to_numpy()
    duplicated = times.duplicated(keep="first").to_numpy()
    if duplicated.any():
        pos = int(np.flatnonzero(duplicated)[0])
        first = int(np.flatnonzero(values == values[pos])[0])
        raise DataError(
            f"{label} has the timestamp {show(times.iloc[pos])} twice{of} "
            f"({src.rows(positions[first], positions[pos])}): keep one row per timestamp, e.g. "
            f"by summing or averaging them{hint}."
        )
    backwards = np.flatnonzero(values[1:] < values[:-1])
    if len(backwards):
        pos = int(backwards[0]) + 1
        raise DataError(
            f"{label} is not sorted by {time_col!r}{of}: {src.row(positions[pos])} "
            f"({show(times.iloc[pos])}) comes after {src.row(positions[pos - 1])} "
            f"({show(times.iloc[pos - 1])}); sort the rows by time."
        )


def _is_number_dtype(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _option(role: str) -> str:
    """How a parameter is spelled in the library and on the command line."""
    flag = "--" + role.replace("_", "-")
    return f"{role}= ({flag})"


def _names(columns) -> str:
    shown = [repr(str(c)) for c in list(columns)[:8]]
    more = len(columns) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _value(value) -> str:
    """A cell as the user wrote it, quoted: 'abc', '12' (numpy scalars shown as Python ones)."""
    return repr(value.item() if isinstance(value, np.generic) else value)
