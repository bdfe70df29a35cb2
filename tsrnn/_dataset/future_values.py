"""The future values of a dataset's exogenous columns, routed to the buckets of their series.

A model fitted with exogenous columns known in the future forecasts from their values over
the horizon: ``horizon`` rows per series (id, time and those columns), in a Parquet dataset or
a Dask DataFrame laid out in any way. :func:`future_parts` sends each row to the bucket that
holds its series, on the workers: a table of (id, bucket) made from the buckets' ids, one
join on the id and one shuffle on the bucket number (partition ``b`` is bucket ``b``); the
client sees neither an id nor a row. :func:`future_frame` gives a bucket's rows as the
``X_future`` of :meth:`tsrnn._forecast.covariates.Covariates.future`, which checks them.
"""

from __future__ import annotations

import os
from typing import Any

import dask
import numpy as np
import pandas as pd

from ..errors import DataError, ParameterError
from .buckets import Bucket, Columns
from .read import SeriesDataset

__all__ = ["future_frame", "future_parts"]

#: The column of the bucket number in the joined future rows.
BUCKET = "_bucket"


def future_parts(
    dataset: SeriesDataset, future: Any, names: list[str], storage_options: dict | None = None
) -> list:
    """The future rows of each bucket's series, one lazy partition per bucket.

    Parameters
    ----------
    dataset : SeriesDataset
    future : str, path-like, dask.dataframe.DataFrame or pandas.DataFrame
        A Parquet dataset (folder, glob, file or fsspec URL), a CSV file, or a frame in long
        format with the dataset's id and time columns and ``names``.
    names : list of str
        The columns whose future values the model reads.
    storage_options : dict or None

    Returns
    -------
    list of dask.delayed
        One pandas DataFrame per bucket (columns id, time, ``names``), in bucket order.

    Raises
    ------
    DataError
        If ``future`` cannot be read or lacks a column.
    """
    import dask.dataframe as dd

    columns = dataset.columns
    wanted = [columns.id, columns.time, *names]
    frame = _read(future, wanted, storage_options)
    absent = [c for c in wanted if c not in frame.columns]
    if absent:
        raise DataError(
            f"The future values lack the column(s) {absent!r}: give the columns {wanted!r}, "
            "one row per series and forecast step."
        )
    frame = frame[wanted]
    id_dtype = frame._meta[columns.id].dtype
    table_meta = pd.DataFrame(
        {columns.id: pd.Series([], dtype=id_dtype), BUCKET: pd.Series([], dtype=np.int64)}
    )
    table = dd.from_delayed(
        [
            dask.delayed(_ids_of)(bucket, b, columns.id, table_meta)
            for b, bucket in enumerate(dataset.buckets)
        ],
        meta=table_meta,
        verify_meta=False,
    )
    n = len(dataset.buckets)
    joined = frame.merge(table, on=columns.id, how="inner")
    routed = joined.set_index(BUCKET, divisions=list(range(n + 1)))
    return routed.to_delayed()


def future_frame(rows: pd.DataFrame | None, columns: Columns, names: list[str]):
    """A bucket's future rows as ``X_future``: on a ``MultiIndex`` (id, time), by time.

    Parameters
    ----------
    rows : DataFrame or None
        The bucket's partition of :func:`future_parts` (None: no future values).
    columns : Columns
    names : list of str

    Returns
    -------
    DataFrame of shape (n_rows, len(names)) or None
    """
    if rows is None:
        return None
    times = rows[columns.time]
    if not (pd.api.types.is_datetime64_any_dtype(times) or pd.api.types.is_integer_dtype(times)):
        times = pd.to_datetime(times, errors="coerce")
    order = np.argsort(times.to_numpy(), kind="stable")
    index = pd.MultiIndex.from_arrays(
        [rows[columns.id].to_numpy(dtype=object)[order], pd.Index(times.to_numpy()[order])],
        names=[columns.id, columns.time],
    )
    return pd.DataFrame(
        {name: rows[name].to_numpy()[order] for name in names}, index=index, columns=names
    )


def _ids_of(bucket: Bucket, number: int, id_col: str, meta: pd.DataFrame) -> pd.DataFrame:
    ids = pd.Series(bucket.ids, dtype=object).astype(meta[id_col].dtype)
    return pd.DataFrame({id_col: ids, BUCKET: np.full(len(ids), number, dtype=np.int64)})


def _read(future: Any, wanted: list[str], storage_options: dict | None) -> Any:
    import dask.dataframe as dd

    if isinstance(future, pd.DataFrame):
        return dd.from_pandas(future.reset_index(), npartitions=1)
    if type(future).__module__.startswith("dask") and hasattr(future, "npartitions"):
        return future
    if not isinstance(future, (str, os.PathLike)):
        raise ParameterError(
            f"future must be a Parquet dataset's path or a Dask DataFrame; got "
            f"{type(future).__name__}."
        )
    label = os.fspath(future)
    try:
        if label.lower().endswith(".csv"):
            return dd.read_csv(label, storage_options=storage_options)
        return dd.read_parquet(label, storage_options=storage_options)
    except (OSError, ValueError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DataError(f"Cannot read the future values {label!r} ({reason}).") from None
