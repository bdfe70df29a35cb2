"""Forecasts of a dataset where it lives: a lazy Dask DataFrame, and a Parquet dataset of it.

:func:`forecast_dataset` makes one partition per bucket (the fitted networks travel to the
workers once, as one scattered future); nothing is computed until the frame is, and then by
the workers (:func:`forecast_bucket`, a bucket's forecasts as one partition);
:func:`tsrnn._dataset.write.write_dataset` writes it.
"""

from __future__ import annotations

from typing import Any

import dask
import numpy as np
import pandas as pd

from .._data.calendar import features_in
from .._forecast.covariates import Covariates
from .._forecast.fitted import Fitted
from .._forecast.predict import check_wanted, forecast_frame, forecast_histories
from ..errors import DataError, ParameterError
from ..forecaster import RNNForecaster
from ..intervals import probabilities
from .buckets import Bucket, Columns, recode
from .columns import split_inputs
from .future_values import future_frame, future_parts
from .read import SeriesDataset

__all__ = ["forecast_bucket", "forecast_dataset"]


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

    model.input_columns()  # refuses an unfitted model
    fitted = model.fitted_
    if model.missing == "raise" and dataset.missing_error:
        raise DataError(dataset.missing_error)
    _check_columns(fitted.covariates, dataset)
    if dataset.freq != fitted.freq:
        raise ParameterError(
            f"{dataset.label} has frequency {dataset.freq!r} but the model was fitted on "
            f"{fitted.freq!r}: forecast series of the same frequency."
        )
    horizon = fitted.plan.horizon if horizon is None else horizon
    horizon = check_positive_int(horizon, "horizon")
    columns = dataset.columns
    wanted = probabilities(model.interval, level, quantiles)
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
    rows = [None] * len(dataset.buckets)
    if names:
        rows = future_parts(dataset, future, names, storage_options)
    fitted = dask.delayed(fitted)  # once in the graph, rebuilt if its worker dies
    meta = _meta(dataset, [name for name, _ in wanted])
    parts = [
        dask.delayed(forecast_bucket)(bucket, fitted, horizon, columns, meta, wanted, part)
        for bucket, part in zip(dataset.buckets, rows, strict=True)
    ]
    return dd.from_delayed(parts, meta=meta, verify_meta=False)


def _check_columns(covariates: Covariates, dataset: SeriesDataset) -> None:
    """The model's exogenous and static columns are the dataset's, in order, text ones as
    text."""
    static = covariates.static_names
    if static != list(dataset.columns.static):
        raise ParameterError(
            f"The model was fitted with the static columns {static!r} but {dataset.label} was "
            f"read with {list(dataset.columns.static)!r}: read it with the model's static "
            "columns (read_dataset(..., static=))."
        )
    exog = covariates.exog_names
    if exog != list(dataset.columns.exog):
        raise ParameterError(
            f"The model was fitted with the exogenous columns {exog!r} but {dataset.label} was "
            f"read with {list(dataset.columns.exog)!r}: read it with the model's exog and "
            "hist_exog (read_dataset(..., exog=, hist_exog=))."
        )
    text = [c for c in [*exog, *static] if c in covariates.categories]
    if text != list(dataset.columns.text):
        raise ParameterError(
            f"The model was fitted with the text (categorical) columns {text!r} but "
            f"{dataset.label} has {list(dataset.columns.text)!r} as text: give the columns the "
            "types they had in fit."
        )


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


def forecast_bucket(
    bucket: Bucket,
    fitted: Fitted,
    horizon: int,
    columns: Columns,
    meta: pd.DataFrame,
    wanted: list[tuple[str, float]],
    rows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The forecasts of a bucket's series: ``horizon`` rows per series.

    Parameters
    ----------
    bucket : Bucket
    fitted : Fitted
    horizon : int
    columns : Columns
    meta : DataFrame
        The forecasts' empty frame (columns and dtypes).
    wanted : list of (str, float)
        The bound columns (:func:`tsrnn._forecast.predict.probabilities`).
    rows : DataFrame or None, default=None
        The future values of the bucket's series
        (:func:`tsrnn._dataset.future_values.future_parts`): ``horizon`` rows per series of
        columns id, time and the known exogenous ones.

    Returns
    -------
    DataFrame
        Columns ``columns.id``, ``columns.time``, ``forecast``, ``lower``, ``upper`` and those
        of ``wanted`` (:func:`tsrnn._forecast.predict.probabilities`), with the dtypes of
        ``meta``.
    """
    if not bucket.n_series:
        return meta.iloc[:0].copy()
    covariates = fitted.covariates
    bucket = recode(bucket, columns, covariates.categories)  # the model's codes (0: unknown)
    values, xs = split_inputs(bucket, features_in(covariates.names))
    ids = list(bucket.ids)
    X_future = future_frame(rows, columns, covariates.future_names)
    future = covariates.future(
        X_future, horizon, ids, bucket.last, fitted.freq, True, bucket.static
    )
    result = forecast_histories(
        fitted,
        values,
        xs,
        last=bucket.last,
        future_X=future,
        horizon=horizon,
        wanted=wanted,
        ids=ids,
    )
    frame = forecast_frame(ids, result, freq=fitted.freq, index_names=[columns.id, columns.time])
    return frame.reset_index().astype(meta.dtypes.to_dict())
