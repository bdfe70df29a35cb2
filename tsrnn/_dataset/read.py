"""A dataset of series on a Dask cluster: read, bucketed by series id, checked where it lives.

:func:`read_dataset` takes a Parquet dataset (a folder, a glob or an fsspec URL) or a Dask
DataFrame and leaves, on the workers, one :class:`~tsrnn._dataset.buckets.Bucket` per bucket
of whole series; the client keeps the futures, one summary per bucket and the configuration, never a
row, an id list or per-series state.

Layout: a series may be split across files (data partitioned by date). Unless told
(``whole_series``), the reader first checks whether any id appears in two partitions: a
sample of partitions is compared pairwise, then, if none share an id, the count of distinct
ids is compared with the sum of each partition's (a shuffle of one row per series and
partition, not of the data). When a series spans partitions, one shuffle puts whole series
into coarse buckets by pandas' keyed hash of the id (stable across processes, unlike
Python's salted ``hash``); otherwise each partition is a bucket and nothing moves.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import dask
import distributed
import numpy as np
import pandas as pd
from distributed import Client, Future

from .._dask.connect import fetch
from .._dask.memory import in_gib, release_memory, worker_peaks
from .._data.tables import conventional_roles
from .._train.progress import log_stage
from ..errors import DataError, ParameterError
from .buckets import FILE, Columns, ReadParquet, file_numbers, make_bucket, recode, summarize

__all__ = ["SeriesDataset", "client_of", "read_dataset"]

#: Rows a bucket aims at when the data must be shuffled (a few hundred MB in a worker).
ROWS_PER_BUCKET = 1_000_000
#: Rows a worker shuffles with Dask's task shuffle (in memory); more go peer-to-peer (disk).
#: Measured with 2 workers on 2 cores (id, stamp, value): at 1 million rows a worker the task
#: shuffle read 2.9 s against 3.6 s; at 8 million, 12 s against 8 to 10 s, and a peak of 1.3
#: to 1.5 GiB a worker against 1.0.
_TASKS_ROWS = 4_000_000
#: Bytes a row takes in a worker during the task shuffle (measured: 0.9 GiB more than its
#: memory before for 8 million rows of id, stamp and value, at the peak).
_TASKS_BYTES_PER_ROW = 130
#: The share of a worker's memory limit the task shuffle may take.
_TASKS_SHARE = 0.25
#: Partitions compared pairwise before the exact check of the layout.
_SAMPLED = 8
_DATASETS: weakref.WeakSet = weakref.WeakSet()  # those read in this process, while alive
_SUFFIXES = (".parquet", ".pq")


@dataclass(eq=False)
class SeriesDataset:
    """Series held by the workers of a Dask cluster, in buckets of whole series.

    Attributes
    ----------
    client : distributed.Client
    columns : Columns
        The roles of the columns.
    label : str
        How messages name the data (its path, or "the Dask DataFrame").
    buckets : list of Future
        One :class:`~tsrnn._dataset.buckets.Bucket` per bucket, on the workers.
    summaries : list of dict
        One :func:`~tsrnn._dataset.buckets.summarize` per bucket: all the client knows of them.
    id_dtype, time_dtype : dtype
        Of the id and time columns (for the forecasts' schema).
    shuffled : bool
        Whether the rows were shuffled into buckets (series spanned partitions).
    timings : dict of str to float
        Seconds of each stage: ``"reading and shuffling"``, ``"statistics"``.
    peaks : dict of str to dict of str to int
        The peak resident memory of each worker (address -> bytes) during each stage run on
        this dataset: those of ``timings``, then those measured by :meth:`measure`
        (:func:`~tsrnn.parallel.fit_dataset` adds ``"training"`` and ``"calibration"``).
    hist_exog : tuple of str
        The exogenous columns read as past-only (the last of ``columns.exog``).
    categories : dict of str to list of str
        The vocabulary of each text column (``columns.text``): the sorted union of every
        bucket's values, which the workers' codes stand for (code ``k + 1`` is value ``k``).
    """

    client: Client
    columns: Columns
    label: str
    buckets: list[Future]
    summaries: list[dict]
    id_dtype: Any
    time_dtype: Any
    shuffled: bool
    timings: dict[str, float] = field(default_factory=dict)
    hist_exog: tuple[str, ...] = ()
    categories: dict[str, list[str]] = field(default_factory=dict)
    peaks: dict[str, dict[str, int]] = field(default_factory=dict)

    @contextlib.contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        """Record in :attr:`peaks` the workers' peak memory during the block, as ``stage``."""
        with worker_peaks(self.client) as peaks:
            yield
        self.peaks[stage] = peaks

    def _sum(self, key: str) -> int:
        return int(sum(s[key] for s in self.summaries))

    @property
    def n_series(self) -> int:
        """Number of series."""
        return self._sum("n_series")

    @property
    def n_rows(self) -> int:
        """Number of rows (observations)."""
        return self._sum("n_rows")

    @property
    def n_windows(self) -> int:
        """Training windows: the sum over series of their length less one."""
        return self._sum("n_windows")

    @property
    def n_missing(self) -> int:
        """Missing target values (NaN, and the gaps filled with NaN)."""
        return self._sum("n_missing")

    @property
    def missing_error(self) -> str | None:
        """What a model that refuses missing values (``missing="raise"``) says of them: the
        first bucket's message naming a series and its file (None without missing values)."""
        return next((s["missing_error"] for s in self.summaries if s["missing_error"]), None)

    @property
    def longest(self) -> int:
        """Length of the longest series."""
        return max(s["longest"] for s in self.summaries)

    @property
    def freq(self) -> str | int:
        """The series' common frequency."""
        return next(s["freq"] for s in self.summaries if s["freq"] is not None)

    @property
    def span(self) -> tuple[Any, Any]:
        """The first and last stamps of the dataset."""
        firsts = [s["first"] for s in self.summaries if s["n_series"]]
        lasts = [s["last"] for s in self.summaries if s["n_series"]]
        return min(firsts), max(lasts)


def read_dataset(
    data: Any,
    *,
    id_col: str | None = None,
    time_col: str | None = None,
    target: str | None = None,
    exog: list[str] | None = None,
    hist_exog: list[str] | None = None,
    static: list[str] | None = None,
    client: Client | None = None,
    whole_series: bool | None = None,
    n_buckets: int | None = None,
    storage_options: dict | None = None,
    missing: str = "mask",
) -> SeriesDataset:
    """Read series into buckets on the workers of a Dask cluster (see the module docstring).

    Parameters
    ----------
    data : str, path-like or dask.dataframe.DataFrame
        A Parquet dataset: a folder (hive folders ``key=value`` become columns), a glob such
        as ``"lake/sales/*.parquet"``, a file, or an fsspec URL (``s3://``, ``gs://``,
        ``file://``...); or a Dask DataFrame in long format.
    id_col : str or None
        Column naming the series; None: ``unique_id`` in the long format of Nixtla's
        libraries (columns ``unique_id``, ``ds``, ``y``), which names the other roles too.
    time_col, target : str or None
        The time and target columns; None picks the only timestamp column, and the only
        numeric column left.
    exog : list of str or None
        Exogenous columns known in the future: a model fitted on them forecasts with their
        future values (``forecast_dataset(..., future=)``). Numeric, or text (categorical,
        read through embeddings as in memory): the vocabulary of a text column is the sorted
        union of every bucket's distinct values (only those reach the client), and the
        workers hold its codes (1 to ``n``; :attr:`SeriesDataset.categories`).
    hist_exog : list of str or None
        Exogenous columns known up to each series' last stamp only (numeric or text), read after
        ``exog`` (one named in both is past-only, at its place in ``exog``): fit a model of
        the same ``hist_exog``.
    static : list of str or None
        Static covariates: columns constant within each series (a store's size, a product's
        group), numeric or text (a vocabulary as for ``exog``). The workers check that each
        holds one value per series and keep one row per series; a model reads them as input
        columns constant within each series, after the exogenous ones and before the
        calendar's (the order of a fit in memory), and its forecasts need no future value of
        them.
    client : distributed.Client or None
        None: the default client (the last one made in this process).
    whole_series : bool or None, default=None
        Whether every series lies whole in one partition (file). None checks; True trusts it
        (no check, no shuffle); False shuffles.
    n_buckets : int or None
        Buckets of a shuffle; None: about one per million rows, at least two per worker.
    storage_options : dict or None
        Passed to fsspec (credentials of ``s3://``...).
    missing : {"mask", "raise"}, default="mask"
        ``"mask"``: a NaN target is kept and a gap inside a regular series is filled with a
        NaN target, as ``RNNForecaster(missing="mask")`` reads them (a model of
        ``missing="raise"`` refuses such a dataset in :func:`~tsrnn.parallel.fit_dataset`
        and :func:`~tsrnn.parallel.forecast_dataset`, naming the series and its file);
        ``"raise"``: either is an error here.

    Returns
    -------
    SeriesDataset

    Raises
    ------
    DataError
        If the path is missing or holds no Parquet file, a column is missing or of the wrong
        type, a file cannot be read, or a series cannot be used (the message names the series
        and its file): a duplicated stamp, an empty text value, a static column that changes
        within a series or has an empty value, fewer than 2 observed values, or (with
        ``missing="raise"``) a NaN target or a gap.
    """
    if missing not in ("mask", "raise"):
        raise ParameterError(f"missing must be 'mask' or 'raise'; got {missing!r}.")
    client = _client(client)
    start = time.perf_counter()
    past_only = [str(c) for c in hist_exog or []]
    exog = list(dict.fromkeys([*(str(c) for c in exog or []), *past_only]))
    static = list(dict.fromkeys(str(c) for c in static or []))
    if _is_dask_frame(data):
        frame, label, files = data, "the Dask DataFrame", None
        columns = _roles(dict(frame.dtypes), id_col, time_col, target, exog, label, static)
        frame = frame[columns.names]
        rows = None
    else:
        frame, columns, label, files, rows = _read(
            data, id_col, time_col, target, exog, storage_options, static
        )
    meta = frame._meta
    with worker_peaks(client) as read_peaks:
        whole = bool(whole_series)
        if whole_series is None:
            whole = _whole_series(client, frame, columns.id)
        workers = max(1, len(client.scheduler_info(n_workers=-1)["workers"]))
        if not whole:
            buckets = n_buckets or _default_buckets(rows, frame.npartitions, workers)
            method = _shuffle_method(client, rows)
            frame = frame.shuffle(on=columns.id, npartitions=int(buckets), shuffle_method=method)
        known = dask.delayed(files) if files else None  # once in the graph, not in every task
        parts = frame.to_delayed()
        buckets = client.compute(
            [
                dask.delayed(make_bucket)(part, columns, label, known, missing == "mask")
                for part in parts
            ]
        )
        distributed.wait(buckets)
        categories = {}
        if columns.text:  # the distinct values of each bucket reach the client, never a row
            found = fetch(client, client.map(_vocabulary, buckets, pure=False))
            categories = {
                name: sorted({v for vocab in found for v in vocab.get(name, ())})
                for name in columns.text
            }
            buckets = client.map(
                recode, buckets, columns=columns, categories=categories, pure=False
            )
            distributed.wait(buckets)
        with contextlib.suppress(Exception):  # the shuffle's memory, back to the system
            client.run(release_memory)
    read_s = time.perf_counter() - start
    with worker_peaks(client) as stats_peaks:
        summaries = fetch(client, client.map(summarize, buckets, pure=False))
    stats_s = time.perf_counter() - start - read_s
    _check(summaries, label)
    dataset = SeriesDataset(
        client=client,
        columns=columns,
        label=label,
        buckets=buckets,
        summaries=summaries,
        id_dtype=meta[columns.id].dtype,
        time_dtype=meta[columns.time].dtype,
        shuffled=not whole,
        timings={"reading and shuffling": read_s, "statistics": stats_s},
        peaks={"reading and shuffling": read_peaks, "statistics": stats_peaks},
        hist_exog=tuple(past_only),
        categories=categories,
    )
    _DATASETS.add(dataset)
    log_stage(
        "reading",
        read_s,
        rows=dataset.n_rows,
        series=dataset.n_series,
        buckets=len(buckets),
        shuffled=not whole,
        data=label,
        peak_gib=in_gib(read_peaks),
    )
    log_stage("statistics", stats_s, peak_gib=in_gib(stats_peaks))
    return dataset


def client_of(collection: Any) -> Client | None:
    """The client of the dataset whose buckets a Dask collection reads (the forecasts of
    :func:`~tsrnn.parallel.forecast_dataset`, and anything made of them); None if none."""
    from dask.core import keys_in_tasks

    tasks = list(dict(collection.__dask_graph__()).values())
    for dataset in list(_DATASETS):
        keys = {bucket.key for bucket in dataset.buckets}
        if keys and keys_in_tasks(keys, tasks):
            return dataset.client
    return None


# ---------------------------------------------------------------------- reading


def _client(client: Client | None) -> Client:
    if client is not None:
        if not isinstance(client, Client):
            raise ParameterError(
                f"client must be a distributed.Client; got {type(client).__name__}: connect "
                "with distributed.Client('tcp://host:8786') first."
            )
        return client
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        raise ParameterError(
            "No Dask client: make one first (distributed.Client('tcp://host:8786'), or "
            "tsrnn.cluster.local_cluster()), or pass client=."
        ) from None


def _is_dask_frame(data: Any) -> bool:
    return type(data).__module__.startswith("dask") and hasattr(data, "npartitions")


def _read(
    path: Any,
    id_col: str,
    time_col: str | None,
    target: str | None,
    exog: list[str],
    storage_options: dict | None,
    static: list[str],
) -> tuple[Any, Columns, str, list[str], int]:
    """A Dask DataFrame of one partition per file, its columns, label, files and rows."""
    import dask.dataframe as dd
    import fsspec
    import pyarrow.dataset as ds

    label = os.fspath(path)
    try:
        fs, _, found = fsspec.get_fs_token_paths(label, storage_options=storage_options)
    except (OSError, ValueError) as exc:
        raise DataError(f"Cannot open {label!r} ({exc}): check the path or URL.") from None
    files = []
    for item in sorted(found):
        if fs.isdir(item):
            files += sorted(f for f in fs.find(item) if _is_data_file(f))
        elif fs.exists(item):
            files.append(item)
    if not found or not any(fs.exists(item) for item in found):
        raise DataError(f"{label!r} does not exist: check the path (a folder, a glob or a file).")
    if not files:
        raise DataError(
            f"{label!r} holds no Parquet file (.parquet or .pq): give the folder or glob of the "
            "dataset's files."
        )
    base = _base_dir(label, fs)
    try:
        schema = ds.dataset(
            files[:1],
            filesystem=fs,
            format="parquet",
            partitioning="hive",
            partition_base_dir=base,
        ).schema
    except Exception as exc:  # pyarrow's errors have no common base with OSError
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DataError(f"{files[0]} is not a readable Parquet file ({reason}).") from None
    dtypes = {name: schema.field(name).type for name in schema.names}
    columns = _roles(dtypes, id_col, time_col, target, exog, label, static)
    reader = ReadParquet(fs, base, len(files))
    meta = schema.empty_table().select(columns.names).to_pandas()
    meta[FILE] = np.array([], dtype=file_numbers(len(files)))
    frame = dd.from_map(
        reader,
        list(enumerate(files)),
        columns=[*columns.names, FILE],
        meta=meta,
        label="tsrnn-read",
        enforce_metadata=False,
    )
    rows = sum(_rows(fs, f) for f in files) if len(files) <= 10_000 else None
    return frame, columns, label, files, rows


def _is_data_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith(_SUFFIXES) and not name.startswith(("_", "."))


def _base_dir(label: str, fs: Any) -> str:
    """The folder hive partitions are counted from: the path up to its first wildcard."""
    stripped = fs._strip_protocol(label)
    head = stripped.split("*")[0].split("?")[0].split("[")[0]
    if head != stripped or not fs.isdir(stripped):
        head = head.rsplit("/", 1)[0]
    return head.rstrip("/") or "/"


def _rows(fs: Any, path: str) -> int:
    """Rows of a Parquet file, from its footer."""
    import pyarrow.parquet as pq

    try:
        with fs.open(path, "rb") as f:
            return pq.ParquetFile(f).metadata.num_rows
    except Exception:  # a bad file is reported, with its name, when it is read
        return 0


def _roles(
    dtypes: dict[str, Any],
    id_col: str | None,
    time_col: str | None,
    target: str | None,
    exog: list[str],
    label: str,
    static: list[str] | None = None,
) -> Columns:
    """The columns' roles, found by their types where not given; checked against the data."""
    names, static = list(dtypes), list(static or [])
    roles = conventional_roles(names, time_col=time_col, target=target, id_col=id_col, exog=exog)
    id_col, time_col, target = roles["id_col"], roles["time_col"], roles["target"]
    if id_col is None:
        raise DataError(
            f"{label} is read as many series: name their id column with id_col= (--id-col); "
            f"its columns are {', '.join(map(repr, names[:10]))}."
        )
    given = [("id_col", id_col), ("time_col", time_col), ("target", target)]
    for role, column in [*given, *(("exog", c) for c in exog), *(("static", c) for c in static)]:
        if column is not None and column not in dtypes:
            raise DataError(
                f"Column {column!r} given as {role}= (--{role.replace('_', '-')}) is not in "
                f"{label}: its columns are {', '.join(map(repr, names[:10]))}."
            )
    twice = [c for c in static if c in exog or c in (id_col, time_col, target)]
    if twice:
        raise DataError(
            f"Column {twice[0]!r} is given as static= (--static) and as another role: a "
            "static column is only static."
        )
    reserved = {id_col, *exog, *static, *(c for c in (time_col, target) if c is not None)}
    if time_col is None:
        stamps = [c for c in names if c not in reserved and _is_time(dtypes[c])]
        if len(stamps) != 1:
            found = "no timestamp column" if not stamps else f"timestamp columns {stamps}"
            raise DataError(
                f"{label} has {found}: name the time column with time_col= (--time-col)."
            )
        time_col = stamps[0]
        reserved.add(time_col)
    if target is None:
        numbers = [c for c in names if c not in reserved and c != FILE and _is_number(dtypes[c])]
        if len(numbers) != 1:
            found = "no numeric column" if not numbers else f"numeric columns {numbers}"
            raise DataError(
                f"{label} has {found} left to forecast: name it with target= (--target)."
            )
        target = numbers[0]
    text = tuple(c for c in [*exog, *static] if _is_text(dtypes[c]))
    checked = [
        ("target", target),
        *(("exogenous", c) for c in exog),
        *(("static", c) for c in static),
    ]
    for role, column in checked:
        if column not in text and not _is_number(dtypes[column]):
            what = "numeric" if role == "target" else "numeric or text"
            raise DataError(
                f"The {role} column {column!r} of {label} is of type {dtypes[column]}, not "
                f"{what}: choose another column or write it as numbers."
            )
    return Columns(id_col, time_col, target, tuple(exog), text, tuple(static))


def _is_time(dtype: Any) -> bool:
    import pyarrow as pa

    if isinstance(dtype, pa.DataType):
        return pa.types.is_timestamp(dtype) or pa.types.is_date(dtype)
    return pd.api.types.is_datetime64_any_dtype(dtype)


def _is_text(dtype: Any) -> bool:
    """Text or categories: read as a categorical column (a vocabulary and its codes)."""
    import pyarrow as pa

    if isinstance(dtype, pa.DataType):
        if pa.types.is_dictionary(dtype):
            dtype = dtype.value_type
        return pa.types.is_string(dtype) or pa.types.is_large_string(dtype)
    return isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype)


def _vocabulary(bucket: Any) -> dict[str, list[str]]:
    """A bucket's distinct values of each text column."""
    return bucket.vocab


def _is_number(dtype: Any) -> bool:
    import pyarrow as pa

    if isinstance(dtype, pa.DataType):
        return pa.types.is_integer(dtype) or pa.types.is_floating(dtype)
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


# ---------------------------------------------------------------------- layout


def _whole_series(client: Client, frame: Any, id_col: str) -> bool:
    """Whether no series id appears in two partitions (see the module docstring); computed
    by ``client``'s workers."""
    n = frame.npartitions
    if n == 1:
        return True
    ids = frame[id_col]
    parts = ids.to_delayed()
    picked = sorted({round(i * (n - 1) / max(_SAMPLED - 1, 1)) for i in range(min(_SAMPLED, n))})
    sets = [dask.delayed(_unique)(parts[i]) for i in picked]
    [overlap] = fetch(client, client.compute([dask.delayed(_overlap)(sets)]))
    if overlap:
        return False
    pairs = ids.map_partitions(_unique_series, meta=ids._meta)
    n_pairs, n_distinct = fetch(client, client.compute([pairs.size, pairs.nunique(split_out=True)]))
    return int(n_pairs) == int(n_distinct)


def _unique(ids: pd.Series) -> np.ndarray:
    return pd.unique(ids.to_numpy(dtype=object))


def _unique_series(ids: pd.Series) -> pd.Series:
    return ids.drop_duplicates()


def _overlap(sets: list[np.ndarray]) -> bool:
    seen: set = set()
    for values in sets:
        current = set(values.tolist())
        if seen & current:
            return True
        seen |= current
    return False


def _shuffle_method(client: Client, rows: int | None) -> str:
    """Dask's task shuffle, in memory, for a few rows a worker (the quicker); else its
    peer-to-peer shuffle, which spills to disk: its peak does not grow with the data."""
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    limits = [w.get("memory_limit") or 0 for w in workers]
    per_worker = _TASKS_ROWS
    if limits and min(limits):
        per_worker = min(per_worker, int(_TASKS_SHARE * min(limits) / _TASKS_BYTES_PER_ROW))
    if rows is not None and rows <= per_worker * max(len(limits), 1):
        return "tasks"
    return "p2p"


def _default_buckets(rows: int | None, partitions: int, workers: int) -> int:
    if rows is None:
        return max(partitions, 2 * workers)
    return int(np.clip(math.ceil(rows / ROWS_PER_BUCKET), 2 * workers, 4096))


def _check(summaries: list[dict], label: str) -> None:
    """Raise the first bucket's error; refuse an empty dataset or mixed frequencies."""
    for summary in summaries:
        if summary["error"] is not None:
            raise DataError(summary["error"])
    if not any(s["n_series"] for s in summaries):
        raise DataError(f"{label} has no rows: give a dataset with series in it.")
    freqs = {}
    for s in summaries:
        if s["n_series"]:
            freqs.setdefault(s["freq"], s["first_id"])
    if len(freqs) > 1:
        shown = ", ".join(f"series {key!r}: {freq}" for freq, key in list(freqs.items())[:3])
        raise DataError(
            f"The series of {label} have different frequencies ({shown}); one model needs one "
            "frequency: resample them to a common one first."
        )
