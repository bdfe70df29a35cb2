"""A forecaster fit in one process: series in, one :class:`~tsrnn._forecast.fitted.Fitted` out.

The flow, which a fit on a dataset of a Dask cluster (:mod:`tsrnn._dataset.fit`) follows too,
with the series in buckets on the workers instead of here::

    inputs checked, coded, static and calendar columns appended (inputs)
    -> the plan: sizes and the ensemble's networks (plan.plan_for)
    -> the input columns' scaling (covariates)
    -> the seeds of the final and calibration networks (jobs.fit_seeds)
    -> every network trained: the calibration ones on the series without their last windows,
       the final ones on the whole series (jobs, calibration.hold_out; in this process, or on
       a Dask cluster inside tsrnn.train_on_dask)
    -> the calibration: the held-out windows scored and pooled (calibration.calibrate)
    -> Fitted, with each series' scaling, history and Theta state kept for predict
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._data.checks import check_observations
from .._data.groups import split_series
from .._train.executor import fit_jobs
from .._train.progress import timed
from .calibration import Calibration, calibrate, hold_out
from .covariates import Covariates, exog_columns, fit_columns, with_calendar
from .ensemble import deseasonalised
from .fitted import Fitted, KeptSeries
from .inputs import fit_inputs, static_rows_of
from .jobs import fit_seeds, prepare
from .plan import known_columns, plan_for
from .theta import fit_theta
from .windows import Panel

__all__ = ["fit_series"]


def fit_series(
    params: Mapping[str, Any],
    y: pd.Series | pd.DataFrame,
    X: pd.DataFrame | None = None,
    static: pd.DataFrame | None = None,
) -> Fitted:
    """Fit a forecaster of parameters ``params`` on the series ``y``.

    Parameters
    ----------
    params : mapping
        The forecaster's ``get_params()``, checked.
    y, X, static
        As :meth:`tsrnn.RNNForecaster.fit` takes them.

    Returns
    -------
    Fitted
        Keeping each series (``series``).

    Raises
    ------
    DataError
        If the series, their columns or their static rows are not fit to train on.
    """
    y, X, categories, table = fit_inputs(y, X, static, missing=params["missing"] == "mask")
    freq = y.attrs["freq"]
    X = with_calendar(y, X, freq, params["calendar"] == "auto", params["holidays"])
    ids, values, xs, last = split_series(y, X)
    check_observations(ids, values)
    lengths = np.array([len(v) for v in values])
    columns = exog_columns(X, params["hist_exog"])
    plan = plan_for(
        params,
        freq,
        longest=lengths.max(),
        n_windows=int(np.sum(lengths - 1)),
        columns=columns,
        categories=categories,
    )
    static_names = [] if table is None else [str(c) for c in table.columns]
    covariates = Covariates(columns, np.zeros(0), np.zeros(0))
    if X is not None:
        codes = [c in categories for c in columns]
        loc, scale = fit_columns(params["scaler"], xs, codes)
        known = known_columns(columns, params["hist_exog"])
        covariates = Covariates(columns, loc, scale, known, categories, static_names)
        xs = covariates.scaled(xs)
    final_seed, calibration_seed = fit_seeds(params["random_state"])
    interval = params["interval"]
    held = None
    if interval is not None:
        held = hold_out(
            plan,
            values,
            xs,
            calibration_seed,
            calibration_size=params["calibration_size"],
            interval=interval,
        )
    scaling, panel, encoded, jobs = prepare(plan, values, xs, final_seed)
    # Every network of the fit is one job: in this process they train one after another; on
    # a cluster (tsrnn.parallel.train_on_dask) side by side.
    every = (held.jobs if held else []) + jobs
    with timed("training", networks=len(every), steps=plan.steps, series=len(values)):
        models = fit_jobs(every)
    found = Calibration.none(plan.horizon, params["combine"])  # "auto": calibration picks
    if held is not None:
        with timed("calibration", series=len(held.keep)) as shown:
            found = calibrate(
                plan,
                values,
                xs,
                held,
                models[: -len(jobs)],
                combine=params["combine"],
                interval=interval,
                ids=ids,
            )
            shown["windows"] = found.n
    theta = None
    if found.combine == "theta":
        theta = fit_theta(deseasonalised(encoded, scaling.log))
    kept = _kept(
        panel,
        plan.span,
        ids=ids,
        last=last,
        scaling=scaling,
        static=static_rows_of(table, ids),
        theta=theta,
        n_feat=len(columns),
    )
    return Fitted(
        plan=plan,
        models=models[-len(jobs) :],
        calibration=found,
        covariates=covariates,
        freq=freq,
        multi=isinstance(y.index, pd.MultiIndex),
        index_names=list(y.index.names),
        name=None if y.name is None else str(y.name),
        series=kept,
    )


def _kept(panel: Panel, span: int, *, n_feat: int, **fields: Any) -> KeptSeries:
    """Each series' last ``span`` steps of ``panel``, the default history of ``predict``."""
    past, observed, past_X = panel.history(span)
    X = (
        past_X.numpy().astype(np.float64)
        if past_X is not None
        else np.zeros((panel.n_series, span, n_feat))
    )
    return KeptSeries(
        y=past.numpy().astype(np.float64),
        observed=observed.numpy().astype(np.float64),
        X=X,
        **fields,
    )
