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
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .._data.calendar import future_stamps, steps_between
from .._data.groups import split_series
from ..errors import DataError
from ..estimator import RNNRegressor
from ..intervals import LOWER, UPPER, probabilities
from .calibration import check_observations
from .conformal import Ratios, extend_quantiles
from .covariates import Covariates
from .ensemble import ensemble_forecast, levels, with_theta
from .jobs import encode_series
from .plan import Plan
from .scaling import SeriesScaling
from .theta import Theta, fit_theta
from .windows import Panel

__all__ = [
    "Fitted",
    "Forecast",
    "History",
    "check_observed",
    "check_wanted",
    "decoded",
    "forecast_frame",
    "forecast_histories",
    "keep_history",
    "known_history",
    "newer_history",
]


@dataclass
class Fitted:
    """What every series' forecast needs from a fit, and nothing per series.

    Attributes
    ----------
    plan : Plan
    models : list of RNNRegressor
        The final networks, in the order of ``plan.networks``.
    ratios : Ratios or None
        The pooled calibration ratios (None without intervals).
    quantiles : ndarray of shape (horizon,)
        Half-width per step of the ``interval`` bounds in units of each series' spread: what
        a model file of format 3 or older holds instead of ``ratios``.
    interval : float or None
        The forecaster's ``interval``.
    combine : {"none", "theta"}
    freq : str or int
    covariates : Covariates
    """

    plan: Plan
    models: list[RNNRegressor]
    ratios: Ratios | None
    quantiles: np.ndarray
    interval: float | None
    combine: str
    freq: str | int
    covariates: Covariates


class History(NamedTuple):
    """What a forecast starts from: encoded history of each forecast series, and where."""

    past: Any  # (n, span) encoded values
    observed: Any  # (n, span) mask
    past_X: Any  # (n, span, n_feat) or None
    rows: np.ndarray  # (n,) row of each series in the fitted state
    last: list  # last stamp of each series
    shifts: np.ndarray  # (n,) steps from the fitted end to this history's end
    theta: Theta | None  # Theta state of each series, when combined


class Forecast(NamedTuple):
    """Forecasts of ``n`` series, ``horizon`` steps each, in the data's units."""

    columns: dict[str, np.ndarray]  # name -> (n, horizon): forecast, lower, upper, lo-80, ...
    stamps: np.ndarray  # (n, horizon) datetime64[ns] or int64


def check_wanted(fitted: Fitted, wanted: list[tuple[str, float]]) -> None:
    """Refuse a level or quantile the fit cannot give (before any forecast is made).

    Raises
    ------
    DataError
        If the model was fitted with ``interval=None``, or saved by a tsrnn that kept no
        calibration ratios (model format 3 or older).
    """
    asked = [name for name, _ in wanted if name not in (LOWER, UPPER)]
    if not asked or fitted.ratios is not None:
        return
    if np.isnan(fitted.quantiles).all():
        raise DataError(
            f"{asked[0]} needs the calibration of intervals, and the model was fitted with "
            "interval=None: fit it with an interval (e.g. interval=0.9)."
        )
    raise DataError(
        f"{asked[0]} needs the calibration ratios that model files of format 4 keep, and this "
        "model was saved by an older tsrnn: fit it again to ask for levels."
    )


def decoded(
    fitted: Fitted,
    mean: np.ndarray,
    scaling: SeriesScaling,
    rows: np.ndarray,
    shifts: np.ndarray,
    wanted: list[tuple[str, float]],
) -> dict[str, np.ndarray]:
    """Every column asked for, in the data's units, from the encoded forecast ``mean``.

    Each bound is ``mean + ratio(q) * step scale * unit`` on the encoded scale (``unit``: of
    each series and step, :meth:`SeriesScaling.units`; multiplicative for a log-scaled series,
    so never below 0), decoded with the season put back; a series that was never negative
    gets no negative value.

    Parameters
    ----------
    fitted : Fitted
    mean : ndarray of shape (n, horizon)
        Encoded forecasts.
    scaling : SeriesScaling
        Of the series; row ``rows[i]`` is forecast row ``i``.
    rows, shifts : ndarray of shape (n,)
    wanted : list of (str, float)
        From :func:`probabilities`.

    Returns
    -------
    dict of str to ndarray of shape (n, horizon)
        ``forecast``, then the columns of ``wanted``.

    Raises
    ------
    DataError
        If a level or quantile is asked of a model without its calibration ratios.
    """
    check_wanted(fitted, wanted)
    n, horizon = mean.shape
    unit = scaling.units(rows, horizon, None if fitted.ratios is None else fitted.ratios.unit)
    out = {"forecast": scaling.decode(mean, rows, shifts)}
    for name, q in wanted:
        if np.isnan(q) or (fitted.ratios is None and np.isnan(fitted.quantiles).all()):
            out[name] = np.full((n, horizon), np.nan)  # no interval
            continue
        if fitted.ratios is not None:
            half = fitted.ratios.quantile(q) * fitted.ratios.steps(horizon)
        else:  # ``lower``/``upper`` of a model file of format 3 or older: one symmetric level
            half = np.sign(q - 0.5) * extend_quantiles(fitted.quantiles, horizon)
        out[name] = scaling.decode(mean + half[None] * unit, rows, shifts)
    floor = scaling.floor[rows][:, None]
    return {name: np.maximum(values, floor) for name, values in out.items()}


def forecast_histories(
    fitted: Fitted,
    values: list,
    xs: list | None,
    last: list,
    future_X: np.ndarray | None,
    horizon: int,
    wanted: list[tuple[str, float]] | None = None,
    ids: list | None = None,
    borrowed: np.ndarray | None = None,
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
    wanted : list of (str, float) or None
        The bound columns (:func:`probabilities`); None: ``lower`` and ``upper``.
    ids : list or None
        Id of each series, for messages.
    borrowed : ndarray of shape (2, n, season_length) or None
        Seasonal indices for the series too short to show their own
        (:func:`~tsrnn._forecast.jobs.encode_series`).

    Returns
    -------
    Forecast

    Raises
    ------
    DataError
        If a series' lookback holds no observed value.
    """
    plan = fitted.plan
    if xs is not None:
        xs = fitted.covariates.scaled(xs)
    scaling, panel, encoded = encode_series(plan, values, xs, borrowed=borrowed)
    past, observed, past_X = panel.history(plan.span)
    check_observed(observed, ids)
    theta = fit_theta(levels(encoded, scaling.log)) if fitted.combine == "theta" else None
    mean = ensemble_forecast(
        fitted.models, plan.networks, past, observed, past_X, future_X,
        horizon=horizon, out=plan.out, normalize=plan.normalize,
    )  # fmt: skip
    mean = with_theta(mean, theta, scaling.log)
    rows = np.arange(len(values))
    shifts = np.zeros(len(values), dtype=np.int64)
    wanted = probabilities(fitted.interval) if wanted is None else wanted
    columns = decoded(fitted, mean, scaling, rows, shifts, wanted)
    return Forecast(columns, future_stamps(last, fitted.freq, horizon))


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
        Columns ``forecast``, ``lower``, ``upper`` (and any others of ``result``) on the
        future stamps (with the frequency set for one series), or on a ``MultiIndex`` (id,
        stamp).
    """
    horizon = result.stamps.shape[1]
    stamps = result.stamps.ravel()
    columns = {name: values.ravel() for name, values in result.columns.items()}
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


def newer_history(
    y, X, *, freq: str | int, multi: bool, covariates: Covariates
) -> tuple[list, list, list | None, list]:
    """History given to ``predict``, checked against the fit and split by series.

    Parameters
    ----------
    y, X
        As :func:`tsrnn._forecast.inputs.predict_inputs` returns them: in the normal form of
        :func:`~tsrnn._data.checks.check_series` (checked once, there), ``X`` with its
        static and calendar columns.
    freq : str or int
        The fitted frequency.
    multi : bool
        Whether the model was fitted on many series.
    covariates : Covariates
        The fitted exogenous columns.

    Returns
    -------
    ids, values, xs, last
        As :func:`tsrnn._data.groups.split_series` returns them.

    Raises
    ------
    DataError
        If ``X`` is missing or unexpected, the frequency or the layout differs from the
        fit's, the columns differ, or a series has fewer than 2 steps.
    """
    n_feat = len(covariates.names)
    if n_feat and X is None:
        raise DataError(
            f"The model was fitted with X ({n_feat} columns): pass X aligned with y too."
        )
    if not n_feat and X is not None:
        raise DataError("The model was fitted without X: call predict without X.")
    if y.attrs["freq"] != freq:
        raise DataError(
            f"y has frequency {y.attrs['freq']!r} but the model was fitted on {freq!r}: pass "
            "history at the same frequency."
        )
    if isinstance(y.index, pd.MultiIndex) != multi:
        kind = "many series (id, timestamp)" if multi else "one series"
        raise DataError(f"The model was fitted on {kind}: pass y in the same layout.")
    if X is not None:
        covariates.check_columns(X, "X")
    ids, values, xs, last = split_series(y, X)
    check_observations(ids, values)
    return ids, values, xs, last


def keep_history(model: Any, panel: Panel, span: int) -> None:
    """Set a fitted forecaster's default history for ``predict``: ``history_y_``,
    ``history_observed_`` (n_series, span) and ``history_X_`` (n_series, span, n_features),
    the last ``span`` steps of each series of ``panel``."""
    past, observed, past_X = panel.history(span)
    model.history_y_ = past.numpy().astype(np.float64)
    model.history_observed_ = observed.numpy().astype(np.float64)
    model.history_X_ = (
        past_X.numpy().astype(np.float64)
        if past_X is not None
        else np.zeros((panel.n_series, span, len(model.feature_names_in_)))
    )


def known_history(model: Any, y, X, newer: tuple | None) -> History:
    """The encoded history a fitted forecaster forecasts its series from.

    Parameters
    ----------
    model : RNNForecaster
        Fitted, keeping its series.
    y, X
        A newer history of series seen in fit (its exogenous columns prepared), or None for
        the one seen in fit.
    newer : tuple or None
        :func:`newer_history` of ``y`` and ``X`` (None without ``y``).

    Returns
    -------
    History
    """
    n_feat = len(model.feature_names_in_)
    if y is None:
        if X is not None:
            raise DataError("X was given without y: pass the newer history y with its X.")
        rows = np.arange(len(model.series_ids_))
        return History(
            model.history_y_, model.history_observed_, model.history_X_ if n_feat else None,
            rows, list(model.last_index_), np.zeros(len(rows), dtype=np.int64), model.theta_,
        )  # fmt: skip
    ids, values, xs, last = newer
    known = pd.Index(pd.Series(model.series_ids_, dtype=object))
    rows = known.get_indexer(pd.Index(pd.Series(ids, dtype=object)))  # all seen in fit
    shifts = steps_between([model.last_index_[r] for r in rows], last, model.freq_)
    encoded = model.scaling_.encode(values, rows, shifts)
    if xs is not None:
        xs = model._covariates().scaled(xs)
    past, observed, past_X = Panel(encoded, xs).history(model._plan().span)
    check_observed(observed, ids)
    theta = None  # the Theta method reads the whole newer history
    if model.theta_ is not None:
        theta = fit_theta(levels(encoded, model.scaling_.log[rows]))
    return History(past, observed, past_X, rows, last, shifts, theta)


def check_observed(observed, ids: list | None) -> None:
    """Refuse a forecast from a lookback with nothing observed in it.

    Parameters
    ----------
    observed : Tensor of shape (n, span)
        The observed mask of the history each forecast reads.
    ids : list or None
        Id of each series, for the message (None: positions).

    Raises
    ------
    DataError
        If a series' last ``span`` values are all missing.
    """
    empty = np.flatnonzero(observed.sum(1).numpy() == 0)
    if len(empty):
        k = int(empty[0])
        who = f"series {ids[k]!r}" if ids is not None and ids[k] is not None else "y"
        raise DataError(
            f"The last {observed.shape[1]} values of {who}, the history its forecast reads, "
            "are all missing: give it observed values at the end, or drop it."
        )
