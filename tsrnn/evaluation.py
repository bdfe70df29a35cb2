"""Evaluation of a forecaster: :func:`backtest`, a rolling origin with an expanding window.

``tsrnn.backtest`` is this module's :func:`backtest` (the function; the module is
``tsrnn.evaluation``, so that the two names never collide).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.base import clone

from . import metrics
from ._data.calendar import season_length_for
from ._data.checks import check_series
from ._data.groups import group_rows
from .errors import DataError, check_positive_int

__all__ = ["backtest"]


def backtest(
    forecaster,
    y: pd.Series | pd.DataFrame,
    horizon: int,
    n_origins: int = 3,
    step: int | None = None,
    *,
    X: pd.DataFrame | None = None,
    season_length: int | None = None,
) -> pd.DataFrame:
    """Fit a fresh clone at each of ``n_origins`` forecast origins and score its forecast.

    The last origin forecasts the last ``horizon`` points; each earlier origin sits ``step``
    points before the next. At every origin a clone of ``forecaster`` is fitted on everything
    before it (an expanding window) and predicts the next ``horizon`` points, which are
    compared with the truth. For many series (a ``MultiIndex`` (id, timestamp)), every series
    is cut at the same distance from its own end and the metrics are averaged over series.

    Parameters
    ----------
    forecaster : estimator
        Unfitted forecaster with ``fit(y, X=None)`` and ``predict(horizon, X_future=None)``
        returning a DataFrame with a ``forecast`` column (and optionally ``lower``,
        ``upper``), e.g. :class:`tsrnn.RNNForecaster`. If it has a ``horizon`` parameter left
        at ``None``, the clones get ``horizon``.
    y : Series or one-column DataFrame of shape (n_timesteps,)
        The whole series, as for ``RNNForecaster.fit``.
    horizon : int
        Steps forecast at each origin.
    n_origins : int, default=3
        Number of forecast origins.
    step : int or None, default=None
        Steps between consecutive origins; ``None`` means ``horizon`` (non-overlapping tests).
    X : DataFrame of shape (n_timesteps, n_features) or None, default=None
        Exogenous variables on the index of ``y``; the future part is passed as ``X_future``.
    season_length : int or None, default=None
        Seasonal period ``m`` of MASE; ``None`` infers it from the frequency (12 for monthly).

    Returns
    -------
    DataFrame of shape (n_origins + 1, 8)
        One row per origin (index 1..n_origins) and a last row ``"mean"``; columns
        ``cutoff`` (last training timestamp), ``train_size``, ``mae``, ``rmse``, ``smape``,
        ``mase``, ``coverage`` (share of true values inside [lower, upper]; NaN without
        intervals) and ``fit_seconds``.

    Raises
    ------
    DataError
        If the series is too short for the origins asked.

    Examples
    --------
    >>> from tsrnn import RNNForecaster, backtest
    >>> from tsrnn.datasets import load
    >>> y = load("airpassengers")
    >>> table = backtest(RNNForecaster(epochs=2, hidden_size=8, random_state=0), y,
    ...                  horizon=12, n_origins=2)
    >>> table.index.tolist(), table.columns.tolist()[2:6]
    ([1, 2, 'mean'], ['mae', 'rmse', 'smape', 'mase'])
    """
    horizon = check_positive_int(horizon, "horizon")
    n_origins = check_positive_int(n_origins, "n_origins")
    step = horizon if step is None else check_positive_int(step, "step", none=True)
    y, X = check_series(y, X)
    m = season_length or season_length_for(y.attrs["freq"])
    lengths = _lengths(y)
    shortest = int(lengths.min())
    held_out = horizon + (n_origins - 1) * step
    if shortest - held_out < m + 1:
        raise DataError(
            f"The shortest series has {shortest} time steps, but {n_origins} origins "
            f"{step} apart with horizon={horizon} hold out {held_out}, leaving too little to "
            "train on: use fewer origins, a smaller step or a longer series."
        )
    params = forecaster.get_params() if hasattr(forecaster, "get_params") else {}
    rows = []
    for k in range(n_origins):
        back = horizon + (n_origins - 1 - k) * step  # points after the cutoff
        train_pos, test_pos = _cut(lengths, back, horizon)
        model = clone(forecaster)
        if "horizon" in params and params["horizon"] is None:
            model.set_params(horizon=horizon)
        y_train = y.iloc[train_pos]
        X_train = None if X is None else X.iloc[train_pos]
        X_future = None if X is None else X.iloc[test_pos.ravel()]
        start = time.perf_counter()
        model.fit(y_train, X_train) if X is not None else model.fit(y_train)
        fit_seconds = time.perf_counter() - start
        pred = model.predict(horizon=horizon, X_future=X_future)
        rows.append(_score(y, lengths, back, train_pos, test_pos, pred, m, fit_seconds))
    table = pd.DataFrame(rows, index=pd.Index(range(1, n_origins + 1), name="origin"))
    table["train_size"] = table["train_size"].astype(float)
    mean = table.drop(columns="cutoff").mean().to_frame("mean").T
    return pd.concat([table, mean.rename_axis("origin")])[table.columns]


def _lengths(y: pd.Series) -> np.ndarray:
    """Points per series, shape (n_series,); ``y`` holds each series as one block (as
    :func:`check_series` returns it)."""
    if not isinstance(y.index, pd.MultiIndex):
        return np.array([len(y)])
    return group_rows(y.index.get_level_values(0)).lengths


def _cut(lengths: np.ndarray, back: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the training rows, shape (n_train,), and of the test rows, shape
    (n_series, horizon), when every series is cut ``back`` points before its end."""
    starts = np.cumsum(lengths) - lengths
    rank = np.arange(lengths.sum()) - np.repeat(starts, lengths)  # position inside its series
    train_pos = np.flatnonzero(rank < np.repeat(lengths - back, lengths))
    test_pos = (starts + lengths - back)[:, None] + np.arange(horizon)
    return train_pos, test_pos


def _forecasts(pred: pd.DataFrame, y: pd.Series, horizon: int) -> dict[str, np.ndarray]:
    """The forecaster's columns as arrays of shape (n_series, horizon), series in the order of
    ``y``."""
    columns = [c for c in ("forecast", "lower", "upper") if c in pred.columns]
    values = pred[columns].to_numpy(dtype=np.float64)
    multi = isinstance(y.index, pd.MultiIndex)
    if multi:
        keys = group_rows(y.index.get_level_values(0)).keys
        found = group_rows(pred.index.get_level_values(0))
        where = pd.Index(found.keys, dtype=object).get_indexer(pd.Index(keys, dtype=object))
        counts = np.zeros(len(keys), dtype=int)
        counts[where >= 0] = found.lengths[where[where >= 0]]
    else:
        counts = np.array([len(values)])
    bad = np.flatnonzero(counts != horizon)
    if len(bad):
        of = f" of series {keys[bad[0]]!r}" if multi else ""
        raise DataError(
            f"The forecaster returned {counts[bad[0]]} forecasts for {horizon} test points{of}: "
            "its predict(horizon=...) must return horizon rows per series."
        )
    if multi:
        values = values[found.order].reshape(found.n_series, horizon, len(columns))[where]
    values = values.reshape(len(counts), horizon, len(columns))
    return {c: values[:, :, i] for i, c in enumerate(columns)}


def _score(y, lengths, back, train_pos, test_pos, pred, m, fit_seconds) -> dict:
    values = y.to_numpy()
    horizon = test_pos.shape[1]
    truth = values[test_pos]
    got = _forecasts(pred, y, horizon)
    trains = np.split(values[train_pos], np.cumsum(lengths - back)[:-1])
    per_series = []
    for k, train in enumerate(trains):
        forecast = got["forecast"][k]
        coverage = np.nan
        if "lower" in got and "upper" in got:
            lower, upper = got["lower"][k], got["upper"][k]
            if not (np.isnan(lower).any() or np.isnan(upper).any()):
                coverage = float(np.mean((truth[k] >= lower) & (truth[k] <= upper)))
        per_series.append(
            {
                "mae": metrics.mae(truth[k], forecast),
                "rmse": metrics.rmse(truth[k], forecast),
                "smape": metrics.smape(truth[k], forecast),
                "mase": metrics.mase(truth[k], forecast, train, m=m),
                "coverage": coverage,
            }
        )
    scores = pd.DataFrame(per_series).mean()
    cutoff = y.index[train_pos[-1]]
    cutoff = cutoff[-1] if isinstance(cutoff, tuple) else cutoff
    return {
        "cutoff": cutoff,
        "train_size": len(train_pos),
        **scores.to_dict(),
        "fit_seconds": fit_seconds,
    }
