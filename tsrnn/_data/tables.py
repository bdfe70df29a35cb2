"""Reading CSV and Parquet tables, finding their time and target columns, parsing them.

The internals of :func:`tsrnn.io.read_series` and :func:`tsrnn.io.read_future`: every check
here raises a :class:`~tsrnn.errors.DataError` naming the file,
the column, the line of the CSV (or row of the Parquet file) and the remedy.
"""

from __future__ import annotations

import difflib
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, ParameterError
from .groups import group_rows
from .text import show

__all__ = [
    "NIXTLA",
    "PARQUET_SUFFIXES",
    "Source",
    "check_column",
    "check_roles",
    "check_rows",
    "check_rows_per_series",
    "conventional_roles",
    "detect_target",
    "detect_time_col",
    "is_number_dtype",
    "option",
    "parse_numbers",
    "parse_times",
    "read_table",
    "series_ids",
]

# A data row's line in a CSV: one header line, and lines are counted from 1.
_FIRST_DATA_LINE = 2
# File name suffixes read as Parquet; anything else is read as CSV.
PARQUET_SUFFIXES = (".parquet", ".pq")
# Rows looked at first when a question about a whole column is usually settled by its head.
_SAMPLE = 1000


@dataclass(frozen=True)
class Source:
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


def read_table(path: Path) -> tuple[pd.DataFrame, Source]:
    """The file as a frame of named columns on a RangeIndex, Parquet or CSV by its suffix."""
    parquet = path.suffix.lower() in PARQUET_SUFFIXES
    where = str(path)
    if not path.exists():
        raise DataError(f"File {where!r} does not exist: check the path and the current folder.")
    if path.is_dir():
        kind = "Parquet" if parquet else "CSV"
        raise DataError(f"{where!r} is a folder, not a {kind} file: give the path of the file.")
    frame = _read_parquet(path) if parquet else _read_csv(path)
    return frame, Source(where, parquet=parquet)


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


def check_column(frame: pd.DataFrame, column: str, role: str, label: str) -> None:
    if column in frame.columns:
        return
    close = difflib.get_close_matches(column, frame.columns, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"choose one of {_names(frame.columns)}."
    raise DataError(
        f"Column {column!r} given as {option(role)} is not in {label} (columns: "
        f"{_names(frame.columns)}): {hint}"
    )


def check_roles(**roles: str | list[str] | None) -> None:
    seen: dict[str, str] = {}
    for role, value in roles.items():
        for column in value if isinstance(value, list) else [value]:
            if column is None:
                continue
            if column in seen:
                first = seen[column]
                what = "twice" if first == role else f"as {option(first)} and {option(role)}"
                raise ParameterError(
                    f"Column {column!r} is given {what}: each column has one role."
                )
            seen[column] = role


#: The long format of Nixtla's libraries (statsforecast, mlforecast, neuralforecast): a file
#: with these columns is read without naming them.
NIXTLA = {"id_col": "unique_id", "time_col": "ds", "target": "y"}


def conventional_roles(columns, **given: str | list[str] | None) -> dict[str, str | None]:
    """The roles left unnamed filled with Nixtla's column names, when the file follows them.

    A file with a ``ds`` column and a ``y`` or ``unique_id`` column gets ``ds`` as its time
    column, ``y`` (where present) as its target and ``unique_id`` (where present) as its id
    column, unless the caller named those roles or gave those columns another role.

    Parameters
    ----------
    columns : iterable of str
        The file's columns.
    **given
        ``time_col``, ``target``, ``id_col`` as named (None: not named), and ``exog`` (list).

    Returns
    -------
    dict of str to str or None
        ``time_col``, ``target`` and ``id_col``.

    Examples
    --------
    >>> conventional_roles(["unique_id", "ds", "y", "price"], time_col=None, target=None,
    ...                    id_col=None, exog=["price"])
    {'id_col': 'unique_id', 'time_col': 'ds', 'target': 'y'}
    """
    columns = set(columns)
    roles = {role: given.get(role) for role in NIXTLA}
    if NIXTLA["time_col"] not in columns or not {NIXTLA["target"], NIXTLA["id_col"]} & columns:
        return roles
    taken = {c for v in given.values() for c in ([v] if isinstance(v, str) else v or [])}
    for role, name in NIXTLA.items():
        if roles[role] is None and name in columns and name not in taken:
            roles[role] = name
    return roles


def detect_time_col(frame: pd.DataFrame, reserved: set[str], label: str) -> str:
    candidates = [c for c in frame.columns if c not in reserved and _looks_like_dates(frame[c])]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise DataError(
            f"{label} has no column of dates (columns: {_names(frame.columns)}): add one with "
            f"values like 2024-01-31, or name it with {option('time_col')}."
        )
    raise DataError(
        f"{label} has {len(candidates)} date columns ({_names(candidates)}): choose one with "
        f"{option('time_col')}."
    )


def detect_target(frame: pd.DataFrame, reserved: set[str], label: str) -> str:
    left = [c for c in frame.columns if c not in reserved]
    if len(left) == 1:
        return left[0]
    numeric = [c for c in left if is_number_dtype(frame[c])]
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
            f"with {option('target')} and make its values numbers."
        )
    raise DataError(
        f"{label} has {len(numeric)} numeric columns ({_names(numeric)}): choose the one to "
        f"forecast with {option('target')} (and pass others with {option('exog')} to use them "
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


def parse_times(column: pd.Series, name: str, src: Source) -> pd.Series:
    label = src.label
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        raise DataError(
            f"Column {name!r} of {label} holds numbers, not dates (e.g. {_value(column.iloc[0])}): "
            f"write them as dates such as 2024-01-31, or name the time column with "
            f"{option('time_col')}."
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


def parse_numbers(
    column: pd.Series, name: str, src: Source, role: str, missing: bool = False
) -> pd.Series:
    label = src.label
    if pd.api.types.is_bool_dtype(column):
        return column.astype(np.float64)
    numbers = pd.to_numeric(column, errors="coerce")
    bad = numbers.isna() & column.notna()
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        fix = (
            f"choose another target with {option('target')}"
            if role == "target"
            else "encode it as numbers"
        )
        raise DataError(
            f"The {role} column {name!r} of {label} must be numeric, but {src.row(pos)} has "
            f"{_value(column.iloc[pos])}: fix that value, or {fix}."
        )
    empty = numbers.isna()
    if empty.any() and not missing:
        pos = int(np.flatnonzero(empty.to_numpy())[0])
        allow = " or let the forecaster mask it (--missing mask)" if role == "target" else ""
        raise DataError(
            f"The {role} column {name!r} of {label} has an empty value (NaN) on "
            f"{src.row(pos)}: fill it (e.g. with the previous value or an interpolation){allow}, "
            "or drop the rows before it."
        )
    return numbers.astype(np.float64)


def series_ids(frame: pd.DataFrame, id_col: str, src: Source) -> pd.Series:
    """The id column, refused if an id is missing."""
    ids = frame[id_col]
    missing = ids.isna().to_numpy()
    if missing.any():
        raise DataError(
            f"{src.label} has an empty series id in column {id_col!r} on "
            f"{src.row(int(np.flatnonzero(missing)[0]))}: fill it or drop that row."
        )
    return ids


def check_rows_per_series(
    times: pd.Series, ids: pd.Series, src: Source, time_col: str, id_col: str
) -> None:
    """:func:`check_rows` for every series at once: one grouping, one pass over the rows.

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
    check_rows(times.iloc[rows], src, time_col, series=f"{id_col}={ids.iloc[rows[0]]}")


def check_rows(
    times: pd.Series, src: Source, time_col: str, *, series: str | None = None, hint: str = ""
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


def is_number_dtype(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def option(role: str) -> str:
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
