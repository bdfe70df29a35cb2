"""Forecasts from a fit (a :class:`~tsrnn._forecast.fitted.Fitted`), never from the estimator.

A fit learns two kinds of things: what holds for every series (the networks, the conformal
ratios, the combination, the scaling of the input columns) and what each series' history gives
(its scaling, seasonal indices, Theta state). The second is a function of the history alone,
so :func:`forecast_histories` recomputes it from the history it is given. That is how a model
that keeps no series (fitted on a dataset of a Dask cluster) forecasts, in a worker, the series
of the bucket it holds, and it gives the very forecast :func:`forecast` gives for the history
seen in ``fit``, which reads the kept one (:func:`known_history`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .._data.calendar import future_stamps, steps_between
from .._data.checks import check_observations
from .._data.groups import split_series
from ..errors import DataError
from ..intervals import LOWER, UPPER
from .conformal import extend_quantiles
from .ensemble import deseasonalised, ensemble_forecast, with_theta
from .fitted import Fitted
from .inputs import category_seasons, static_of
from .jobs import encode_series
from .scaling import SeriesScaling
from .theta import Theta, fit_theta
from .windows import Panel

__all__ = [
    "Forecast",
    "History",
    "check_observed",
    "check_wanted",
    "decoded",
    "forecast",
    "forecast_frame",
    "forecast_histories",
    "known_history",
    "newer_history",
]


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
    calibration = fitted.calibration
    if not asked or calibration.ratios is not None:
        return
    if np.isnan(calibration.half_widths).all():
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
    ratios, half_widths = fitted.calibration.ratios, fitted.calibration.half_widths
    unit = scaling.units(rows, horizon, None if ratios is None else ratios.unit)
    out = {"forecast": scaling.decode(mean, rows, shifts)}
    for name, q in wanted:
        if np.isnan(q) or (ratios is None and np.isnan(half_widths).all()):
            out[name] = np.full((n, horizon), np.nan)  # no interval
            continue
        if ratios is not None:
            half = ratios.quantile(q) * ratios.steps(horizon)
        else:  # ``lower``/``upper`` of a model file of format 3 or older: one symmetric level
            half = np.sign(q - 0.5) * extend_quantiles(half_widths, horizon)
        out[name] = scaling.decode(mean + half[None] * unit, rows, shifts)
    floor = scaling.floor[rows][:, None]
    return {name: np.maximum(values, floor) for name, values in out.items()}


def forecast_histories(
    fitted: Fitted,
    values: list,
    xs: list | None,
    *,
    last: list,
    future_X: np.ndarray | None,
    horizon: int,
    wanted: list[tuple[str, float]],
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
    wanted : list of (str, float)
        The bound columns (:func:`~tsrnn.intervals.probabilities`).
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
    theta = None
    if fitted.calibration.combine == "theta":
        theta = fit_theta(deseasonalised(encoded, scaling.log))
    mean = _ensemble(fitted, past, observed, past_X, future_X, horizon)
    mean = with_theta(mean, theta, scaling.log)
    rows = np.arange(len(values))
    shifts = np.zeros(len(values), dtype=np.int64)
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


def newer_history(fitted: Fitted, y, X) -> tuple[list, list, list | None, list]:
    """History given to ``predict``, checked against the fit and split by series.

    Parameters
    ----------
    fitted : Fitted
    y, X
        As :func:`tsrnn._forecast.inputs.predict_inputs` returns them: in the normal form of
        :func:`~tsrnn._data.checks.check_series` (checked once, there), ``X`` with its
        static and calendar columns.

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
    covariates, freq, multi = fitted.covariates, fitted.freq, fitted.multi
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


def known_history(fitted: Fitted, y, X, newer: tuple | None) -> History:
    """The encoded history a fit forecasts the series it kept from.

    Parameters
    ----------
    fitted : Fitted
        Keeping its series.
    y, X
        A newer history of series seen in fit (its input columns prepared), or None for
        the one seen in fit.
    newer : tuple or None
        :func:`newer_history` of ``y`` and ``X`` (None without ``y``).

    Returns
    -------
    History
    """
    kept = fitted.series
    if y is None:
        if X is not None:
            raise DataError("X was given without y: pass the newer history y with its X.")
        rows = np.arange(len(kept.ids))
        return History(
            past=kept.y,
            observed=kept.observed,
            past_X=kept.X if len(fitted.covariates.names) else None,
            rows=rows,
            last=list(kept.last),
            shifts=np.zeros(len(rows), dtype=np.int64),
            theta=kept.theta,
        )
    ids, values, xs, last = newer
    rows = kept.rows_of(ids)  # all seen in fit
    shifts = steps_between([kept.last[r] for r in rows], last, fitted.freq)
    encoded = kept.scaling.encode(values, rows, shifts)
    if xs is not None:
        xs = fitted.covariates.scaled(xs)
    past, observed, past_X = Panel(encoded, xs).history(fitted.plan.span)
    check_observed(observed, ids)
    theta = None  # the Theta method reads the whole newer history
    if kept.theta is not None:
        theta = fit_theta(deseasonalised(encoded, kept.scaling.log[rows]))
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


def forecast(
    fitted: Fitted,
    horizon: int,
    *,
    wanted: list[tuple[str, float]],
    X_future=None,
    y=None,
    X=None,
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The forecast ``RNNForecaster.predict`` returns: of the series the fit kept (from their
    kept or a newer history), and of new series from their own history.

    Parameters
    ----------
    fitted : Fitted
    horizon : int
    wanted : list of (str, float)
        The bound columns (:func:`~tsrnn.intervals.probabilities`).
    X_future, y, X
        As ``predict`` takes them, ``y`` and ``X`` prepared by
        :func:`tsrnn._forecast.inputs.predict_inputs`.
    table : DataFrame or None
        The coded static rows of ``y``'s series.

    Returns
    -------
    DataFrame

    Raises
    ------
    DataError
        If the fit keeps no series and ``y`` is None, or the inputs do not match the fit.
    """
    if fitted.series is None:  # fitted on a dataset of a Dask cluster: no series kept
        if y is None:
            raise DataError(
                "This RNNForecaster was fitted on a dataset of a Dask cluster and keeps no "
                "series: pass their history (predict(y=...), or --data in the CLI), or "
                "forecast the dataset with tsrnn.parallel.forecast_dataset."
            )
        return _new_series(fitted, horizon, wanted, X_future, y, X, table)
    if y is not None and fitted.multi and isinstance(y.index, pd.MultiIndex):
        ids = y.index.get_level_values(0)
        new = ~ids.isin(_index(fitted.series.ids))
        if new.any():  # never seen in fit: scaled and forecast from their own history
            frames = [_new_series(fitted, horizon, wanted, X_future, y[new], _rows(X, new), table)]
            if not new.all():
                frames.append(
                    _known_series(fitted, horizon, wanted, X_future, y[~new], _rows(X, ~new))
                )
            return pd.concat(frames).loc[pd.Index(pd.unique(ids), dtype=object)]
    return _known_series(fitted, horizon, wanted, X_future, y, X)


def _known_series(fitted: Fitted, horizon: int, wanted, X_future, y, X) -> pd.DataFrame:
    """Forecast the series the fit kept, from their kept or a newer history."""
    newer = None if y is None else newer_history(fitted, y, X)
    history = known_history(fitted, y, X, newer)
    kept, rows = fitted.series, history.rows
    keys = [kept.ids[r] for r in rows]
    future_X = fitted.covariates.future(
        X_future,
        horizon,
        keys,
        history.last,
        fitted.freq,
        fitted.multi,
        static_of(fitted, keys, None),
    )
    mean = _ensemble(fitted, history.past, history.observed, history.past_X, future_X, horizon)
    mean = with_theta(mean, history.theta, kept.scaling.log[rows])
    columns = decoded(fitted, mean, kept.scaling, rows, history.shifts, wanted)
    result = Forecast(columns, future_stamps(history.last, fitted.freq, horizon))
    return _frame(fitted, keys, result)


def _new_series(fitted: Fitted, horizon: int, wanted, X_future, y, X, table) -> pd.DataFrame:
    """Forecast ``y``'s series from their own history."""
    ids, values, xs, last = newer_history(fitted, y, X)
    future_X = fitted.covariates.future(
        X_future, horizon, ids, last, fitted.freq, fitted.multi, static_of(fitted, ids, table)
    )
    borrowed = category_seasons(fitted, ids, [len(v) for v in values], last, table)
    result = forecast_histories(
        fitted,
        values,
        xs,
        last=last,
        future_X=future_X,
        horizon=horizon,
        wanted=wanted,
        ids=ids,
        borrowed=borrowed,
    )
    return _frame(fitted, ids, result)


def _frame(fitted: Fitted, keys: list, result: Forecast) -> pd.DataFrame:
    return forecast_frame(
        keys if fitted.multi else None,
        result,
        freq=fitted.freq,
        index_names=fitted.index_names,
    )


def _ensemble(fitted: Fitted, past, observed, past_X, future_X, horizon: int) -> np.ndarray:
    plan = fitted.plan
    return ensemble_forecast(
        fitted.models,
        plan.networks,
        past,
        observed,
        past_X,
        future_X,
        horizon=horizon,
        out=plan.out,
        normalize=plan.normalize,
    )


def _rows(X: pd.DataFrame | None, rows: np.ndarray) -> pd.DataFrame | None:
    """The rows ``rows`` (a boolean mask) of ``X``, or None without ``X``."""
    return None if X is None else X[rows]


def _index(ids) -> pd.Index:
    return pd.Index(pd.Series(ids, dtype=object))
