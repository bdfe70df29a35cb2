"""Forecasts of a dataset where it lives: a lazy Dask DataFrame, and a Parquet dataset of it.

:func:`forecast_dataset` makes one partition per bucket (the fitted networks travel to the
workers once, as one scattered future); nothing is computed until the frame is, and then by
the workers. :func:`write_dataset` writes such a frame as a Parquet dataset, one file per
bucket, so that a failed run never leaves a dataset that looks complete: the files go to a
hidden folder beside the destination, which replaces the old output only once every file is
written, and a ``_SUCCESS`` marker is written last.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import dask
import numpy as np
import pandas as pd

from .._data.calendar import CALENDAR
from .._forecast.predict import check_wanted, probabilities
from ..errors import DataError, ParameterError
from ..forecaster import RNNForecaster
from .buckets import forecast_shard
from .dataset import SeriesDataset
from .future import future_parts

__all__ = ["MARKER", "forecast_dataset", "write_dataset"]

#: The file written last into a complete output dataset.
MARKER = "_SUCCESS"


def forecast_dataset(
    model: RNNForecaster,
    dataset: SeriesDataset,
    horizon: int | None = None,
    *,
    future: Any = None,
    level: list[float] | None = None,
    quantiles: list[float] | None = None,
    storage_options: dict | None = None,
) -> Any:
    """Forecast every series of ``dataset`` from its own history, where it lives.

    Parameters
    ----------
    model : RNNForecaster
        Fitted (on this dataset, on another one, or in memory); each series is scaled on its
        own history (:func:`tsrnn._forecast.predict.forecast_histories`). A model of
        ``calendar="auto"`` reads the calendar columns the workers build from the stamps; one
        fitted with exogenous columns reads those of the dataset (read with the same
        ``exog`` and ``hist_exog``) and the future values of the known ones (``future``).
        Text columns are coded with the model's vocabularies (``categories_``), in the
        history and in ``future`` alike: a value it never saw reads as unknown (code 0). A
        model of static covariates reads those of the dataset (read with the same
        ``static``), from the buckets: ``future`` never holds them.
    dataset : SeriesDataset
    horizon : int or None, default=None
        Steps ahead; None: the model's ``horizon_``.
    future : str, path-like, dask.dataframe.DataFrame, pandas.DataFrame or None
        The future values of the exogenous columns known in the future (not ``hist_exog``):
        a Parquet dataset (folder, glob, file or fsspec URL) or a frame in long format with
        the dataset's id and time columns and those columns, ``horizon`` rows per series
        (the stamps after its last), in any order and layout; the workers send each row to
        the bucket of its series. None when the model reads no future values.
    level, quantiles : list of float or None
        More bounds, as :meth:`~tsrnn.RNNForecaster.predict` adds them (``lo-80``, ``q-0.1``).
    storage_options : dict or None
        Passed to fsspec to read ``future``.

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy; one partition per bucket, columns id, time (named as in the dataset),
        ``forecast``, ``lower``, ``upper`` (and the bounds asked for): ``horizon`` rows per
        series. Missing values of a history (NaN targets, gaps) are masked as ``predict``
        masks them.

    Raises
    ------
    DataError
        If the dataset has missing values and ``model.missing`` is ``"raise"``, or
        ``future`` is missing, unexpected or lacks a column. Future rows that do not match
        a series (another count or other stamps than the horizon's, NaN) raise it when the
        frame is computed, naming the series.
    ParameterError
        If the dataset's frequency is not the model's, or its exogenous, static or text
        columns are not the model's.
    """
    import dask.dataframe as dd

    from ..errors import check_positive_int

    model._check_fitted()
    if model.missing == "raise" and dataset.missing_error:
        raise DataError(dataset.missing_error)
    _check_columns(model, dataset)
    if dataset.freq != model.freq_:
        raise ParameterError(
            f"{dataset.label} has frequency {dataset.freq!r} but the model was fitted on "
            f"{model.freq_!r}: forecast series of the same frequency."
        )
    horizon = check_positive_int(model.horizon_ if horizon is None else horizon, "horizon")
    columns = dataset.columns
    wanted = probabilities(model.interval, level, quantiles)
    fitted = model._fitted()
    check_wanted(fitted, wanted)  # here, before the workers start
    names = fitted.covariates.future_names
    if names and future is None:
        raise DataError(
            f"The model reads the future values of {names!r}: pass them with future= (a "
            f"Parquet dataset or a Dask DataFrame of {columns.id!r}, {columns.time!r} and those "
            f"columns, {horizon} rows per series)."
        )
    if future is not None and not names:
        raise DataError(
            "The model reads no future values (no exogenous column, or only calendar and "
            "past-only ones): forecast without future=."
        )
    rows = [None] * len(dataset.shards)
    if names:
        rows = future_parts(dataset, future, names, storage_options)
    fitted = dask.delayed(fitted)  # once in the graph, rebuilt if its worker dies
    meta = _meta(dataset, [name for name, _ in wanted])
    parts = [
        dask.delayed(forecast_shard)(shard, fitted, horizon, columns, meta, wanted, part)
        for shard, part in zip(dataset.shards, rows, strict=True)
    ]
    return dd.from_delayed(parts, meta=meta, verify_meta=False)


def _check_columns(model: RNNForecaster, dataset: SeriesDataset) -> None:
    """The model's exogenous and static columns are the dataset's, in order, text ones as
    text."""
    static = [str(n) for n in getattr(model, "static_names_", ())]
    if static != list(dataset.columns.static):
        raise ParameterError(
            f"The model was fitted with the static columns {static!r} but {dataset.label} was "
            f"read with {list(dataset.columns.static)!r}: read it with the model's static "
            "columns (read_dataset(..., static=))."
        )
    exog = [str(n) for n in model.feature_names_in_
            if not str(n).startswith(CALENDAR) and str(n) not in static]  # fmt: skip
    if exog != list(dataset.columns.exog):
        raise ParameterError(
            f"The model was fitted with the exogenous columns {exog!r} but {dataset.label} was "
            f"read with {list(dataset.columns.exog)!r}: read it with the model's exog and "
            "hist_exog (read_dataset(..., exog=, hist_exog=))."
        )
    text = [c for c in [*exog, *static] if c in (getattr(model, "categories_", None) or {})]
    if text != list(dataset.columns.text):
        raise ParameterError(
            f"The model was fitted with the text (categorical) columns {text!r} but "
            f"{dataset.label} has {list(dataset.columns.text)!r} as text: give the columns the "
            "types they had in fit."
        )


def write_dataset(frame: Any, path: str, storage_options: dict | None = None) -> dict[str, float]:
    """Write a Dask DataFrame as a Parquet dataset at ``path``, replacing an older one whole.

    The workers compute the partitions (kept in their memory), then write one file per
    partition (``part-00000.parquet``, ...) into a hidden folder beside ``path``; once all are
    written, the old output (if any) is removed, the folder takes its name, and ``_SUCCESS``
    is written in it last. On an error the hidden folder is removed and the old output is
    left as it was.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
    path : str
        A local folder or an fsspec URL.
    storage_options : dict or None

    Returns
    -------
    dict of str to float
        Seconds spent ``"computing"`` the partitions and ``"writing"`` them.
    """
    import time

    import distributed
    import fsspec

    fs, _, [root] = fsspec.get_fs_token_paths(path, storage_options=storage_options)
    root = root.rstrip("/")
    parent, name = root.rsplit("/", 1) if "/" in root else ("", root)
    if parent and not fs.isdir(parent):
        raise ParameterError(
            f"The folder {parent!r} of {path!r} does not exist: create it first or choose "
            "another output."
        )
    if fs.isfile(root):
        raise ParameterError(f"{path!r} is a file: give a folder for the Parquet dataset.")
    tmp = f"{parent}/.{name}.{secrets.token_hex(4)}.part" if parent else f".{name}.part"
    start = time.perf_counter()
    frame = frame.persist()
    distributed.wait(frame)
    computed = time.perf_counter()
    try:
        frame.to_parquet(
            fs.unstrip_protocol(tmp), write_index=False, storage_options=storage_options,
            name_function=lambda i: f"part-{i:05d}.parquet", write_metadata_file=False,
        )  # fmt: skip
        if fs.exists(root):
            fs.rm(root, recursive=True)
        if getattr(fs, "protocol", None) in ("file", ("file", "local")) or _is_local(fs):
            os.rename(tmp, root)
        else:
            fs.mv(tmp, root, recursive=True)
        fs.pipe_file(f"{root}/{MARKER}", b"")
    finally:
        if fs.exists(tmp):
            fs.rm(tmp, recursive=True)
    return {"computing": computed - start, "writing": time.perf_counter() - computed}


def _is_local(fs: Any) -> bool:
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


def _meta(dataset: SeriesDataset, bounds: list[str]) -> pd.DataFrame:
    columns = dataset.columns
    time_dtype = dataset.time_dtype
    if not (
        pd.api.types.is_datetime64_any_dtype(time_dtype)
        or pd.api.types.is_integer_dtype(time_dtype)
    ):
        time_dtype = np.dtype("datetime64[ns]")  # text stamps, parsed by the workers
    return pd.DataFrame(
        {
            columns.id: pd.Series([], dtype=dataset.id_dtype),
            columns.time: pd.Series([], dtype=time_dtype),
            "forecast": pd.Series([], dtype=np.float64),
            **{name: pd.Series([], dtype=np.float64) for name in bounds},
        }
    )
