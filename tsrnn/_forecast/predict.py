"""Forecasts of series from their own history, with what a fit learned for all series.

A fit learns two kinds of things: what holds for every series (the networks, the conformal
quantiles, the combination, the scaling of the exogenous columns: a :class:`Fitted`) and what
each series' history gives (its scaling, seasonal indices, Theta state). The second is a
function of the history alone, so :func:`forecast_histories` recomputes it from the history it
is given. That is how a model that keeps no series (fitted on a dataset of a Dask cluster)
forecasts, in a worker, the series of the bucket it holds, and it gives the very forecast
:meth:`tsrnn.RNNForecaster.predict` gives for the history seen in ``fit``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from .._data.calendar import future_stamps
from ..estimator import RNNRegressor
from .conformal import extend_quantiles
from .covariates import Covariates
from .ensemble import ensemble_forecast, levels, with_theta
from .jobs import encode_series
from .plan import Plan
from .theta import fit_theta

__all__ = ["Fitted", "Forecast", "forecast_frame", "forecast_histories"]


@dataclass
class Fitted:
    """What every series' forecast needs from a fit, and nothing per series.

    Attributes
    ----------
    plan : Plan
    models : list of RNNRegressor
        The final networks, in the order of ``plan.networks``.
    quantiles : ndarray of shape (horizon,)
        Conformal half-width per step, in units of each series' spread (NaN without
        intervals).
    combine : {"none", "theta"}
    freq : str or int
    covariates : Covariates
    """

    plan: Plan
    models: list[RNNRegressor]
    quantiles: np.ndarray
    combine: str
    freq: str | int
    covariates: Covariates


class Forecast(NamedTuple):
    """Forecasts of ``n`` series, ``horizon`` steps each, in the data's units."""

    forecast: np.ndarray  # (n, horizon)
    lower: np.ndarray  # (n, horizon)
    upper: np.ndarray  # (n, horizon)
    stamps: np.ndarray  # (n, horizon) datetime64[ns] or int64


def forecast_histories(
    fitted: Fitted,
    values: list,
    xs: list | None,
    last: list,
    future_X: np.ndarray | None,
    horizon: int,
) -> Forecast:
    """Forecast each series from its own history: scaled, deseasonalised and combined as the
    fit would have done for it.

    Parameters
    ----------
    fitted : Fitted
    values : list of ndarray of shape (n_k,)
        The history of each series, oldest first, at least 2 values each.
    xs : list of ndarray of shape (n_k, n_feat) or None
        Their exogenous columns, unscaled.
    last : list of Timestamp or int
        Last stamp of each series.
    future_X : ndarray of shape (n, horizon, n_feat) or None
        Scaled future exogenous values (:meth:`Covariates.future`).
    horizon : int

    Returns
    -------
    Forecast
    """
    plan = fitted.plan
    if xs is not None:
        xs = fitted.covariates.scaled(xs)
    scaling, panel, encoded = encode_series(plan, values, xs)
    past, observed, past_X = panel.history(plan.span)
    theta = fit_theta(levels(encoded, scaling.log)) if fitted.combine == "theta" else None
    mean = ensemble_forecast(
        fitted.models, plan.networks, past, observed, past_X, future_X,
        horizon=horizon, out=plan.out, normalize=plan.normalize,
    )  # fmt: skip
    mean = with_theta(mean, theta, scaling.log)
    rows = np.arange(len(values))
    shifts = np.zeros(len(values), dtype=np.int64)
    half = extend_quantiles(fitted.quantiles, horizon)[None] * scaling.spread[:, None]
    return Forecast(
        scaling.decode(mean, rows, shifts),
        scaling.decode(mean - half, rows, shifts),
        scaling.decode(mean + half, rows, shifts),
        future_stamps(last, fitted.freq, horizon),
    )


def forecast_frame(
    keys: list | None,
    result: Forecast,
    *,
    freq: str | int,
    index_names: list,
) -> pd.DataFrame:
    """The forecast as :meth:`tsrnn.RNNForecaster.predict` returns it.

    Parameters
    ----------
    keys : list or None
        Id of each series (None: one series, indexed by time alone).
    result : Forecast
    freq : str or int
    index_names : list
        Names of the index levels: ``[time]`` or ``[id, time]``.

    Returns
    -------
    DataFrame
        Columns ``forecast``, ``lower``, ``upper`` on the future stamps (with the frequency
        set for one series), or on a ``MultiIndex`` (id, stamp).
    """
    horizon = result.stamps.shape[1]
    stamps = result.stamps.ravel()
    columns = {
        "forecast": result.forecast.ravel(),
        "lower": result.lower.ravel(),
        "upper": result.upper.ravel(),
    }
    if keys is None:
        name = index_names[-1]
        if isinstance(freq, str):
            index = pd.DatetimeIndex(pd.Index(stamps, name=name), freq=freq)
        else:
            index = pd.RangeIndex(int(stamps[0]), int(stamps[-1]) + freq, freq, name=name)
        return pd.DataFrame(columns, index=index)
    index = pd.MultiIndex.from_arrays(
        [np.repeat(np.asarray(keys, dtype=object), horizon), stamps], names=index_names
    )
    return pd.DataFrame(columns, index=index)
