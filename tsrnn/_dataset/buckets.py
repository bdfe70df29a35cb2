"""What a Dask worker holds of a dataset: buckets of whole series, read, checked and compacted.

Runs in the workers. :class:`ReadParquet` reads one file of a Parquet dataset (a partition of
the Dask DataFrame, with the file's number in a ``_file`` column so that a message can name
it); after the shuffle by series id, :func:`make_bucket` turns one partition (a bucket of whole
series) into a :class:`Bucket`: the series sorted by id, checked as
:func:`tsrnn._data.checks.check_series` checks a series in memory (NaN targets kept, gaps
filled with NaN, as ``missing=True`` does), its text columns coded (:func:`recode` then gives
them the vocabulary of every bucket), and stored compactly: per series its id, length and
first stamp (the others follow at the frequency: :mod:`tsrnn._dataset.stamps`); per row the
values as the networks read them (float32), the numeric exogenous columns (float32) and the
text ones' codes (1 or 2 bytes); no pandas frame. The rows stay in memory within the
worker's budget, else in its local directory (:mod:`tsrnn._dataset.store`). A bucket with a bad
series becomes a bucket carrying one message that names the series and its files; a bucket
with missing values keeps the message a check without ``missing`` would give, for a model
that refuses them (``missing="raise"``); :func:`summarize` gives the client the few numbers a
fit needs of a bucket.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from dask.sizeof import sizeof

from .._data.categories import codes, first_empty, vocabulary
from .._data.checks import check_series, too_few_observations
from .._data.groups import group_rows
from .._data.static import not_a_number
from .._data.text import show
from ..errors import DataError
from .stamps import last_stamps, series_stamps
from .store import Stored, keep, read

__all__ = [
    "FILE",
    "Bucket",
    "Columns",
    "ReadParquet",
    "Rows",
    "file_numbers",
    "make_bucket",
    "moments_of",
    "recode",
    "summarize",
]

#: The column that carries the number of the file a row was read from.
FILE = "_file"


@dataclass(frozen=True)
class Columns:
    """The roles of a dataset's columns.

    Attributes
    ----------
    id, time, target : str
    exog : tuple of str
    text : tuple of str
        The text (categorical) columns among ``exog`` and ``static``: read as codes of their
        vocabulary.
    static : tuple of str
        Static columns: constant within each series, kept as one row per series.
    """

    id: str
    time: str
    target: str
    exog: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    static: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        """Every column read, in order: id, time, target, exogenous, static."""
        return [self.id, self.time, self.target, *self.exog, *self.static]


class ReadParquet:
    """Read one file of a Parquet dataset as a partition (``dd.from_map``'s function).

    Reads the columns Dask asks for (its ``columns=`` keyword: a selection is pushed into the
    read), with the hive partition columns of the file's folders, and a ``_file`` column with
    the file's number. A file that cannot be read raises a :class:`~tsrnn.errors.DataError`
    naming it.

    Parameters
    ----------
    filesystem : fsspec filesystem
    base_dir : str
        Root of the dataset (hive partitions are read from the folders below it).
    n_files : int, default=2**31 - 1
        Files of the dataset: the ``_file`` column is of the smallest type that numbers them
        (:func:`file_numbers`), 2 bytes a row through the shuffle up to 65,535 files.
    """

    def __init__(self, filesystem: Any, base_dir: str, n_files: int = 2**31 - 1) -> None:
        self.filesystem, self.base_dir = filesystem, base_dir
        self.numbers = file_numbers(n_files)

    def __call__(self, item: tuple[int, str], columns: list[str] | None = None) -> pd.DataFrame:
        import pyarrow as pa
        import pyarrow.dataset as ds

        number, path = item
        wanted = None if columns is None else [c for c in columns if c != FILE]
        try:
            dataset = ds.dataset(
                [path],
                filesystem=self.filesystem,
                format="parquet",
                partitioning="hive",
                partition_base_dir=self.base_dir,
            )
            frame = dataset.to_table(columns=wanted).to_pandas()
        except (pa.ArrowException, OSError) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise DataError(
                f"{path} is not a readable Parquet file ({reason.rstrip('.')}): write it again "
                "or move it out of the dataset."
            ) from None
        if columns is None or FILE in columns:
            frame[FILE] = np.full(len(frame), number, dtype=self.numbers)
        return frame


def file_numbers(n_files: int) -> np.dtype:
    """The type of the ``_file`` column of a dataset of ``n_files`` files.

    Examples
    --------
    >>> file_numbers(240), file_numbers(70_000)
    (dtype('uint16'), dtype('int32'))
    """
    return np.dtype(np.uint16 if n_files <= np.iinfo(np.uint16).max else np.int32)


class Rows(NamedTuple):
    """A bucket's arrays of one row per value, each in memory (ndarray) or on the worker's
    disk (:class:`~tsrnn._dataset.store.Stored`).

    Attributes
    ----------
    values : ndarray of shape (n_rows,), float32
        Every series' values, one after another, oldest first (NaN where missing).
    numbers : ndarray of shape (n_rows, n_numbers), float32, or None
        The numeric exogenous columns.
    codes : ndarray of shape (n_rows, n_text), uint8, uint16 or int32, or None
        The codes of the text exogenous columns (:attr:`Bucket.vocab`).
    """

    values: Any
    numbers: Any = None
    codes: Any = None


@dataclass
class Bucket:
    """The whole series of one bucket, sorted by id: one entry per series, and the values as
    the networks read them (float32), in memory or on the worker's disk
    (:mod:`tsrnn._dataset.store`).

    Attributes
    ----------
    ids : array of shape (n_series,)
        The ids, once each, of the id column's dtype (Arrow-backed text stays so).
    lengths : ndarray of shape (n_series,), int64
        Values of each series, gaps included.
    first : DatetimeIndex or Index of int64, of length n_series
        The first stamp of each series; the others follow at ``freq``
        (:func:`~tsrnn._dataset.stamps.series_stamps`).
    rows : Rows
        The values, numeric exogenous columns and text codes.
    coded : tuple of bool
        Per exogenous column, whether it is a text column (held in ``rows.codes``).
    moments : dict or None
        Count, mean, sum of squared deviations, minimum and maximum of each numeric
        exogenous column, in float64 from the values read (:mod:`tsrnn._dataset.columns`
        pools them, so that the columns' scaling is the one of a fit in memory).
    static : ndarray of shape (n_series, n_static) or None
        Each series' static values (text ones as codes), float64.
    first_stamp, last_stamp : object
        Earliest and latest stamps of the bucket (None when it is empty).
    freq : str or int or None
        The common frequency of its series (None when it is empty).
    n_missing : int
        Missing target values (NaN, and the gaps filled with NaN).
    error : str or None
        Why the bucket cannot be used: one sentence naming a series and its file.
    missing_error : str or None
        When some values are missing (NaN or a gap): the message a model that refuses them
        (``missing="raise"``) gives, naming the first such series and its file.
    vocab : dict of str to list of str
        The vocabulary the codes of each text column stand for (code ``k + 1`` is value
        ``k``, 0 a value outside it): the bucket's own values when made, the dataset's once
        :func:`recode` has run.
    """

    ids: Any
    lengths: np.ndarray
    first: Any
    rows: Rows
    coded: tuple[bool, ...] = ()
    moments: dict[str, np.ndarray] | None = None
    static: np.ndarray | None = None
    first_stamp: Any = None
    last_stamp: Any = None
    freq: str | int | None = None
    n_missing: int = 0
    error: str | None = None
    missing_error: str | None = None
    vocab: dict[str, list[str]] = field(default_factory=dict)

    @property
    def n_series(self) -> int:
        return len(self.lengths)

    @property
    def values(self) -> np.ndarray:
        """(n_rows,) float32: every series' values (a memory map when on disk)."""
        return read(self.rows.values)

    @property
    def exog(self) -> np.ndarray | None:
        """(n_rows, n_exog) float64: the exogenous columns in order, text ones as codes."""
        if not self.coded:
            return None
        numbers, codes = read(self.rows.numbers), read(self.rows.codes)
        coded = np.array(self.coded)
        out = np.empty((len(self.values), len(coded)))
        if numbers is not None:
            out[:, ~coded] = numbers
        if codes is not None:
            out[:, coded] = codes
        return out

    @property
    def stamps(self) -> Any:
        """Every stamp, one series after another (gaps included), as the checks gave them."""
        if not self.n_series:
            return pd.DatetimeIndex([], dtype="datetime64[ns]")
        return series_stamps(self.first, self.lengths, self.freq)

    @property
    def last(self) -> Any:
        """The last stamp of each series."""
        return last_stamps(self.first, self.lengths, self.freq)

    @property
    def on_disk(self) -> bool:
        """Whether the rows are files of the worker's local directory."""
        return any(isinstance(a, Stored) for a in self.rows)

    def __setstate__(self, state: dict) -> None:
        """Unpickled (sent to another worker, or unspilled by Dask): the rows are placed
        within this worker's budget, in memory or on its disk."""
        self.__dict__.update(state)
        self.rows = Rows(*keep(*self.rows))

    def split(self) -> tuple[list, list | None]:
        """The values (and exogenous rows) of each series: views, no copy of the values."""
        cuts = np.cumsum(self.lengths)[:-1]
        exog = self.exog
        return np.split(self.values, cuts), None if exog is None else np.split(exog, cuts)


@sizeof.register(Bucket)
def _sizeof_bucket(bucket: Bucket) -> int:
    """The bytes a bucket holds in memory (its rows on disk count nothing): what Dask counts."""
    held = [bucket.lengths, bucket.static, *(a for a in bucket.rows if isinstance(a, np.ndarray))]
    own = sum(int(a.nbytes) for a in held if a is not None)
    return own + int(sizeof(bucket.ids)) + int(sizeof(bucket.first)) + 1000


def empty_bucket(n_feat: int = 0, error: str | None = None) -> Bucket:
    """A bucket of no series."""
    return Bucket(
        ids=np.empty(0, dtype=object),
        lengths=np.empty(0, dtype=np.int64),
        first=pd.DatetimeIndex([], dtype="datetime64[ns]"),
        rows=Rows(np.empty(0, dtype=np.float32)),
        coded=(False,) * n_feat,
        error=error,
    )


def make_bucket(
    frame: pd.DataFrame,
    columns: Columns,
    label: str,
    files: list[str] | None = None,
    missing: bool = True,
) -> Bucket:
    """Check one bucket of whole series and store it as a :class:`Bucket`.

    Parameters
    ----------
    frame : DataFrame
        The bucket's rows, in any order: ``columns.names`` (and ``_file`` when read from
        files).
    columns : Columns
    label : str
        How messages name the data (the dataset's path).
    files : list of str or None
        The dataset's files, by the numbers of the ``_file`` column.
    missing : bool, default=True
        Accept missing target values: NaN, and gaps (filled with NaN), which a forecaster of
        ``missing="mask"`` masks. False: either is the bucket's error.

    Text columns (``columns.text``) are coded with the bucket's own sorted values
    (:attr:`Bucket.vocab`), until :func:`recode` gives them the dataset's vocabulary. The
    rows stay in memory within the worker's budget, else on its disk
    (:func:`tsrnn._dataset.store.keep`); nothing of ``frame`` is kept.

    Returns
    -------
    Bucket
        With ``error`` set (and no series) when a series cannot be used: unsorted stamps are
        fine (a bucket's rows come in any order), a duplicated stamp, a non-numeric value,
        missing exogenous values (an empty text value too), a static column that changes
        within a series or has an empty value, fewer than 2 observed values, and
        (unless ``missing``) a gap or a NaN target are not. With missing values,
        ``missing_error`` says which.

    Raises
    ------
    ClusterError
        If the rows go to the worker's disk and it is full (naming the worker and folder).
    """
    n_feat = len(columns.exog)
    if frame.empty:
        return empty_bucket(n_feat)
    frame = frame.sort_values([columns.id, columns.time], kind="stable", ignore_index=True)
    times = frame[columns.time]
    if not (pd.api.types.is_datetime64_any_dtype(times) or pd.api.types.is_integer_dtype(times)):
        times = pd.to_datetime(times, errors="coerce")
        if times.isna().any():
            pos = int(np.flatnonzero(times.isna().to_numpy())[0])
            what = f"Column {columns.time!r} of {label} has a value that is not a date"
            return _bad(frame, columns, files, pos, what)
    vocab: dict[str, list[str]] = {}
    for name in columns.text:  # codes of the bucket's own vocabulary, until recode()
        at = first_empty(frame[name])
        if at is not None:
            what = f"Column {name!r} of {label} has an empty value"
            fix = "fill it (a category such as 'unknown' will do) or drop the column"
            return _bad(frame, columns, files, at, what, fix)
        vocab[name] = vocabulary(frame[name])
        frame[name] = codes(frame[name], vocab[name])
    table = None
    if columns.static:
        table = _static_rows(frame, columns, label, files)
        if isinstance(table, str):
            return empty_bucket(n_feat, table)
    # The ids as they are (Arrow-backed text stays so): no Python object per row.
    index = pd.MultiIndex.from_arrays([frame[columns.id], times], names=[columns.id, columns.time])
    y = pd.Series(frame[columns.target].to_numpy(), index=index, name=columns.target)
    X = pd.DataFrame(frame[list(columns.exog)].to_numpy(), index=index) if n_feat else None
    if X is not None:
        X.columns = list(columns.exog)
    name = f"column {columns.target!r} of {label}"
    given_y, given_X = y, X
    try:
        y, X = check_series(y, X, name=name, missing=missing)
    except DataError as exc:
        return empty_bucket(n_feat, _locate(frame, columns, files, name, str(exc), missing))
    groups = group_rows(y.index.get_level_values(0))  # one block per series, in id order
    ids, lengths = groups.keys, groups.lengths.astype(np.int64)
    values = y.to_numpy(dtype=np.float64)
    few = too_few_observations(ids, np.split(values, np.cumsum(lengths)[:-1]), where=f" of {label}")
    if few is not None:
        k, message = few
        return empty_bucket(n_feat, message + _files_of(frame, columns, files, ids[k]) + ".")
    n_missing = int(np.count_nonzero(np.isnan(values)))
    refused = None
    if n_missing:  # NaN or gaps: what missing="raise" says
        try:
            check_series(given_y, given_X, name=name)
        except DataError as exc:
            refused = _locate(frame, columns, files, name, str(exc), False)
    stamps = y.index.get_level_values(1)
    first = stamps[np.cumsum(lengths) - lengths]
    if table is not None:
        table = table.reindex(pd.Index(pd.Series(ids, dtype=object))).to_numpy(np.float64)
    coded = tuple(c in columns.text for c in columns.exog)
    numbers = moments = text = None
    if X is not None:
        exog = X.to_numpy(dtype=np.float64)
        at = np.array(coded, dtype=bool)
        if (~at).any():
            moments = moments_of(exog[:, ~at])
            numbers = exog[:, ~at].astype(np.float32)
        if at.any():
            text = exog[:, at].astype(_code_dtype(max(len(vocab[n]) for n in columns.text)))
        del exog, X
    id_dtype = frame[columns.id].dtype
    del frame, given_y, given_X, index
    return Bucket(
        ids=_id_array(ids, id_dtype),
        lengths=lengths,
        first=first,
        rows=Rows(*keep(values.astype(np.float32), numbers, text)),
        coded=coded,
        moments=moments,
        static=table,
        first_stamp=stamps.min(),
        last_stamp=stamps.max(),
        freq=y.attrs["freq"],
        n_missing=n_missing,
        missing_error=refused,
        vocab=vocab,
    )


def recode(bucket: Bucket, columns: Columns, categories: dict[str, list[str]]) -> Bucket:
    """``bucket`` with the codes of its text columns in the vocabularies ``categories``.

    Parameters
    ----------
    bucket : Bucket
    columns : Columns
    categories : dict of str to list of str
        The vocabulary of each text column (sorted text, as
        :func:`tsrnn._data.categories.learn_categories` gives): the union of every bucket's,
        or a fitted model's (a value outside it becomes 0, unknown).

    Returns
    -------
    Bucket
        A copy (``bucket`` itself when its codes already are those of ``categories``).
    """
    names = [n for n in columns.text if n in bucket.vocab]
    if not bucket.n_series or all(bucket.vocab[n] == list(categories[n]) for n in names):
        return bucket
    text = [n for n in columns.exog if n in columns.text]  # the columns of rows.codes
    given = read(bucket.rows.codes)
    width = max([len(categories[n]) for n in text], default=0)
    recoded = None if given is None else np.empty(given.shape, _code_dtype(width))
    static = None if bucket.static is None else bucket.static.copy()
    for name in names:
        lookup = np.r_[0.0, codes(bucket.vocab[name], categories[name])]
        if name in text:
            k = text.index(name)
            recoded[:, k] = lookup[given[:, k].astype(np.int64)]
        else:
            k = columns.static.index(name)
            static[:, k] = lookup[static[:, k].astype(np.int64)]
    rows = bucket.rows
    if recoded is not None:
        rows = rows._replace(codes=keep(recoded)[0])
    vocab = {**bucket.vocab, **{n: list(categories[n]) for n in names}}
    return dataclasses.replace(bucket, rows=rows, static=static, vocab=vocab)


def summarize(bucket: Bucket) -> dict[str, Any]:
    """The numbers a fit needs of a bucket (a few dozen bytes, whatever its size).

    Returns
    -------
    dict
        ``n_series``, ``n_rows``, ``n_windows`` (sum of length - 1), ``longest``, ``freq``,
        ``first``/``last`` stamps, ``first_id`` (for messages), ``error``, ``n_missing``
        (missing target values, gaps included) and ``missing_error``
        (:attr:`Bucket.missing_error`); the input columns' moments are pooled apart
        (:mod:`tsrnn._dataset.columns`).
    """
    out: dict[str, Any] = {
        "n_series": bucket.n_series,
        "n_rows": int(bucket.lengths.sum()),
        "n_missing": bucket.n_missing,
        "missing_error": bucket.missing_error,
        "n_windows": int(np.sum(bucket.lengths - 1)),
        "longest": int(bucket.lengths.max()) if bucket.n_series else 0,
        "freq": bucket.freq,
        "first": bucket.first_stamp,
        "last": bucket.last_stamp,
        "first_id": bucket.ids[0] if bucket.n_series else None,
        "error": bucket.error,
    }
    return out


def _static_rows(
    frame: pd.DataFrame, columns: Columns, label: str, files: list[str] | None
) -> pd.DataFrame | str:
    """The static row of each series (text columns already coded), indexed by id; or the
    message naming a series whose static value is empty or changes, and its files."""
    ids = frame[columns.id].to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    first = np.repeat(starts, np.diff(np.r_[starts, len(ids)]))
    rows = {}
    for name in columns.static:
        values, bad = not_a_number(frame[name])
        if bad is not None:
            pos, what = bad
            key = ids[pos]
            return (
                f"Static column {name!r} of {label} has {what} for series {key!r}: give a "
                "number (or text, for a category) for every series"
                + _files_of(frame, columns, files, key)
                + "."
            )
        changed = values != values[first]
        if changed.any():
            pos = int(np.flatnonzero(changed)[0])
            key = ids[pos]
            return (
                f"Static column {name!r} of {label} changes within series {key!r} (at "
                f"{show(frame[columns.time].iloc[pos])!r}): a static column holds one "
                "value per series; read a changing one with exog="
                + _files_of(frame, columns, files, key)
                + "."
            )
        rows[name] = values[starts]
    return pd.DataFrame(rows, index=pd.Index(pd.Series(ids[starts], dtype=object)))


# ---------------------------------------------------------------------- messages


def _locate(
    frame: pd.DataFrame,
    columns: Columns,
    files: list[str] | None,
    name: str,
    message: str,
    missing: bool,
) -> str:
    """The bucket's error as the first bad series' own message, with its files.

    Each series is checked on its own, in id order, until one fails; an error that no single
    series makes (two frequencies in one bucket) keeps the bucket's message.
    """
    ids = frame[columns.id].to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    times = frame[columns.time]
    for a, b in zip(starts, ends, strict=True):
        part = frame.iloc[a:b]
        y = pd.Series(part[columns.target].to_numpy(), index=pd.Index(times.iloc[a:b]))
        X = part[list(columns.exog)].set_axis(y.index) if columns.exog else None
        try:
            check_series(y, X, name=f"{name} (series {ids[a]!r})", missing=missing)
        except DataError as exc:
            return str(exc).rstrip(".") + _files_of(frame, columns, files, ids[a]) + "."
    return message


def _bad(
    frame: pd.DataFrame,
    columns: Columns,
    files: list[str] | None,
    pos: int,
    what: str,
    fix: str = "fix it or drop the row",
) -> Bucket:
    key = frame[columns.id].iloc[pos]
    value = frame[columns.time].iloc[pos]
    message = f"{what} ({show(value)!r}, series {key!r}): {fix}"
    return empty_bucket(len(columns.exog), message + _files_of(frame, columns, files, key) + ".")


def _files_of(frame: pd.DataFrame, columns: Columns, files: list[str] | None, key: Any) -> str:
    """' (in file a.parquet)', ' (in files a.parquet, b.parquet and 3 more)', or ''."""
    if files is None or FILE not in frame:
        return ""
    codes = np.unique(frame.loc[frame[columns.id] == key, FILE].to_numpy())
    names = [files[int(c)] for c in codes[:2]]
    more = f" and {len(codes) - 2} more" if len(codes) > 2 else ""
    word = "file" if len(codes) == 1 else "files"
    return f" (in {word} {', '.join(names)}{more})"


def moments_of(columns: np.ndarray) -> dict[str, np.ndarray]:
    """Count, mean, sum of squared deviations, minimum and maximum of each column."""
    mean = columns.mean(axis=0)
    return {
        "n": len(columns),
        "mean": mean,
        "m2": ((columns - mean) ** 2).sum(axis=0),
        "min": columns.min(axis=0),
        "max": columns.max(axis=0),
    }


def _code_dtype(n_values: int) -> np.dtype:
    """The smallest integer type of codes 0 to ``n_values``."""
    for dtype in (np.uint8, np.uint16):
        if n_values <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int32)


def _id_array(ids: Any, dtype: Any) -> Any:
    """The ids as an array of the id column's dtype (text in Arrow stays in Arrow; numbers
    in NumPy); object for any other."""
    ids = np.asarray(ids, dtype=object)
    if isinstance(dtype, pd.StringDtype):
        return pd.array(ids, dtype=dtype)
    if isinstance(dtype, np.dtype) and dtype.kind in "iufM":
        return ids.astype(dtype)
    return ids
