"""Evaluation of a forecaster on the series' own past: :func:`cross_validation` and
:func:`backtest`.

:func:`cross_validation` forecasts ``n_windows`` windows at the end of every series, each from
the history before it, and returns the long table of every forecast next to its actual value;
:func:`backtest` is that table summarised, one row of metrics (``tsrnn.metrics``) per window.
``tsrnn.backtest`` is this module's :func:`backtest` (the function; the module is
``tsrnn.evaluation``, so that the two names never collide).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone

from . import metrics
from ._data.calendar import season_length_for
from ._data.checks import check_series
from ._data.groups import group_rows
from ._train.progress import timed
from .errors import DataError, check_positive_int
from .intervals import DEFAULT_INTERVAL, LOWER, UPPER, level_columns, quantile_column

__all__ = ["MSIS_LEVEL", "QUANTILES", "backtest", "cross_validation", "summarize"]

#: The quantiles of the scaled quantile loss in :func:`backtest` (an approximation of the CRPS).
QUANTILES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
#: The level (in percent) of the interval whose MSIS :func:`backtest` reports (the M4's).
MSIS_LEVEL = 95


def cross_validation(
    forecaster,
    y: pd.Series | pd.DataFrame,
    horizon: int,
    n_windows: int = 3,
    step_size: int | None = None,
    *,
    refit: bool = False,
    X: pd.DataFrame | None = None,
    static: pd.DataFrame | None = None,
    level: list[float] | None = None,
    quantiles: list[float] | None = None,
) -> pd.DataFrame:
    """Forecast the last ``n_windows`` windows of every series from the history before each,
    and return every forecast next to its actual value.

    The last window is the last ``horizon`` steps of each series; each earlier window starts
    ``step_size`` steps before the next. Every series is cut at the same distance from its own
    end. With ``refit=False`` one clone of ``forecaster`` is fitted on the history before the
    first window, and forecasts every window from the history before it without a refit
    (``predict(y=history)``), so the table costs one fit; with ``refit=True`` a fresh clone is
    fitted before each window (an expanding window).

    Parameters
    ----------
    forecaster : estimator
        Unfitted forecaster with ``fit(y, X=None)`` and ``predict(horizon, X_future=None, y=None,
        X=None, level=None, quantiles=None)`` returning a DataFrame with a ``forecast`` column,
        e.g. :class:`tsrnn.RNNForecaster`. If it has a ``horizon`` parameter left at ``None``,
        the clones get ``horizon``.
    y : Series or one-column DataFrame of shape (n_timesteps,)
        The whole series (or many, on a ``MultiIndex`` (id, timestamp)), as for ``fit``.
    horizon : int
        Steps forecast from each cutoff.
    n_windows : int, default=3
        Number of windows (cutoffs) per series.
    step_size : int or None, default=None
        Steps between consecutive cutoffs; None means ``horizon`` (windows that do not
        overlap).
    refit : bool, default=False
        Fit again before every window instead of once before the first.
    X : DataFrame of shape (n_timesteps, n_features) or None, default=None
        Exogenous variables on the index of ``y``; each window's part is its ``X_future``.
    static : DataFrame of shape (n_series, n_static) or None, default=None
        Static covariates, one row per series id, passed to every fit.
    level : list of float or None, default=None
        Interval levels in percent to add (``lo-80``, ``hi-80``, ...), as ``predict`` takes.
    quantiles : list of float or None, default=None
        Quantiles to add (``q-0.1``, ...), as ``predict`` takes.

    Returns
    -------
    DataFrame of shape (n_series * n_windows * horizon, n_columns)
        One row per series, cutoff and step, in long format: the id (for many series; named
        as ``y``'s index level, else ``id``), the timestamp (``timestamp`` unless ``y``'s
        index is named), ``cutoff`` (the last timestamp the forecast saw), ``y`` (the actual
        value), then the forecaster's columns (``forecast``, ``lower``, ``upper``, ``lo-80``,
        ...). Rows are sorted by series, cutoff and timestamp. ``attrs["fit_seconds"]`` holds
        the seconds of the fit before each window (0.0 for a window forecast without a fit).

    Raises
    ------
    DataError
        If the shortest series is too short for the windows asked.

    Examples
    --------
    >>> from tsrnn import RNNForecaster, cross_validation
    >>> from tsrnn.datasets import load
    >>> y = load("airpassengers")
    >>> model = RNNForecaster(epochs=2, hidden_size=8, random_state=0)
    >>> table = cross_validation(model, y, horizon=12, n_windows=2, level=[80])
    >>> table.columns.tolist()
    ['ds', 'cutoff', 'y', 'forecast', 'lower', 'upper', 'lo-80', 'hi-80']
    >>> table.groupby("cutoff").size().to_dict()
    {Timestamp('1958-12-01 00:00:00'): 12, Timestamp('1959-12-01 00:00:00'): 12}
    """
    cv = _Windows.of(y, X, horizon, n_windows, step_size, static=static)
    return _cross_validate(cv, forecaster, refit=refit, level=level, quantiles=quantiles)


def _cross_validate(cv: _Windows, forecaster, *, refit: bool, **asked) -> pd.DataFrame:
    """:func:`cross_validation` on windows already checked."""
    frames, seconds = [], []
    for window in cv.forecasts(forecaster, refit=refit, **asked):
        frames.append(cv.table(window))
        seconds.append(window.fit_seconds or 0.0)
    table = pd.concat(frames, ignore_index=True)
    if cv.multi:  # by series (in y's order), then cutoff
        table = table.iloc[_series_major(cv, len(frames))].reset_index(drop=True)
    table.attrs["fit_seconds"] = seconds
    return table


def _series_major(cv: _Windows, n_windows: int) -> np.ndarray:
    """Row order that puts each series' windows together (the windows are stacked)."""
    n, h = len(cv.lengths), cv.horizon
    return np.arange(n_windows * n * h).reshape(n_windows, n, h).transpose(1, 0, 2).ravel()


def backtest(
    forecaster,
    y: pd.Series | pd.DataFrame,
    horizon: int,
    n_origins: int = 3,
    step: int | None = None,
    *,
    X: pd.DataFrame | None = None,
    static: pd.DataFrame | None = None,
    season_length: int | None = None,
    refit: bool = True,
    level: list[float] | None = None,
    quantiles: list[float] | None = None,
    return_table: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Score the forecasts of :func:`cross_validation`, one row of metrics per window.

    At each of ``n_origins`` forecast origins (cutoffs) the forecaster forecasts the next
    ``horizon`` points of every series from everything before it; each metric is computed per
    series and averaged over series.

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
    static : DataFrame of shape (n_series, n_static) or None, default=None
        Static covariates, one row per series id, passed to every fit.
    season_length : int or None, default=None
        Seasonal period ``m`` of the scaled metrics; ``None`` infers it from the frequency
        (12 for monthly).
    refit : bool, default=True
        Fit a fresh clone at each origin (an expanding window); False fits once before the
        first origin and forecasts the later ones from their history (one fit).
    level, quantiles : list of float or None, default=None
        Bounds for the table of ``return_table`` (as :func:`cross_validation` takes them).
    return_table : bool, default=False
        Also return the :func:`cross_validation` table the metrics were computed from (the
        same fits), with the columns asked for by ``level`` and ``quantiles`` only.

    Returns
    -------
    DataFrame of shape (n_origins + 1, 10)
        One row per origin (index 1..n_origins) and a last row ``"mean"``; columns
        ``cutoff`` (last training timestamp), ``train_size``, ``mae``, ``rmse``, ``smape``,
        ``mase``, ``coverage`` (share of true values inside [lower, upper]), ``msis`` (of the
        95 % interval), ``sql`` (the scaled quantile loss over :data:`QUANTILES`) and
        ``fit_seconds`` (0 for the origins forecast without a fit). The last three
        probabilistic columns are NaN when the forecaster gives no intervals (or takes no
        ``level`` and ``quantiles``).

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
    >>> table.index.tolist(), table.columns.tolist()[2:9]
    ([1, 2, 'mean'], ['mae', 'rmse', 'smape', 'mase', 'coverage', 'msis', 'sql'])
    """
    cv = _Windows.of(y, X, horizon, n_origins, step, word="origins", static=static)
    m = season_length or season_length_for(cv.y.attrs["freq"])
    cv.check_trainable(m + 1)
    level, quantiles = list(level or []), list(quantiles or [])
    scored = _gives_levels(forecaster)  # the bounds the metrics need, besides those asked
    more_levels = [MSIS_LEVEL] if scored and MSIS_LEVEL not in level else []
    more_quantiles = [q for q in QUANTILES if scored and q not in quantiles]
    table = _cross_validate(
        cv,
        forecaster,
        refit=refit,
        level=level + more_levels or None,
        quantiles=quantiles + more_quantiles or None,
    )
    summary = _summarize(table, cv.y, m)
    if not return_table:
        return summary
    extra = [name for value in more_levels for name in level_columns(value)]
    return summary, table.drop(columns=extra + [quantile_column(q) for q in more_quantiles])


def summarize(
    table: pd.DataFrame, y: pd.Series | pd.DataFrame, *, season_length: int | None = None
) -> pd.DataFrame:
    """The metrics of a :func:`cross_validation` table, one row per window, as
    :func:`backtest` reports them.

    Each metric is computed per series and window (the scaled ones against the series'
    history up to the window's cutoff), then averaged over the series of each window.

    Parameters
    ----------
    table : DataFrame
        As :func:`cross_validation` returns it (its ``attrs["fit_seconds"]`` are reported when
        present): the id (for many series) and time columns, ``cutoff``, ``y``, ``forecast``,
        and optionally ``lower``/``upper``, ``lo-95``/``hi-95`` and ``q-0.1`` ... ``q-0.9``.
    y : Series or one-column DataFrame
        The series the table was made from.
    season_length : int or None, default=None
        Seasonal period ``m`` of the scaled metrics; None infers it from the frequency.

    Returns
    -------
    DataFrame of shape (n_windows + 1, 10)
        As :func:`backtest` returns it; a metric whose columns the table lacks is NaN.

    Raises
    ------
    DataError
        If a series of the table is not in ``y``, or the table has no ``cutoff`` column.
    """
    y, _ = check_series(y, missing=True)
    return _summarize(table, y, season_length or season_length_for(y.attrs["freq"]))


def _summarize(table: pd.DataFrame, y: pd.Series, m: int) -> pd.DataFrame:
    """:func:`summarize` of a checked ``y``."""
    if "cutoff" not in table.columns:
        raise DataError("The table has no 'cutoff' column: pass what cross_validation returns.")
    keys = list(table.columns[: table.columns.get_loc("cutoff")])
    history = _histories(y)
    window = table.groupby(keys[:-1] or (lambda _: 0), sort=False)["cutoff"].rank(method="dense")
    rows = []
    for _, part in table.groupby(window.to_numpy().astype(int), sort=True):
        per_series = []
        train_size = 0
        for key, series in part.groupby(keys[:-1] or (lambda _: 0), sort=False):
            key = (key[0] if isinstance(key, tuple) else key) if keys[:-1] else None
            if key not in history:
                raise DataError(
                    f"Series {key!r} of the table is not in y: pass the y it came from."
                )
            stamps, values = history[key]
            train = values[stamps <= series["cutoff"].iloc[0]]
            train_size += len(train)
            per_series.append(_series_scores(series, train, m))
        scores = pd.DataFrame(per_series).mean()
        rows.append(
            {"cutoff": part["cutoff"].iloc[-1], "train_size": float(train_size), **scores.to_dict()}
        )
    summary = pd.DataFrame(rows, index=pd.Index(range(1, len(rows) + 1), name="origin"))
    seconds = table.attrs.get("fit_seconds")
    summary["fit_seconds"] = (
        seconds if seconds is not None and len(seconds) == len(rows) else np.nan
    )
    mean = summary.drop(columns="cutoff").mean().to_frame("mean").T
    return pd.concat([summary, mean.rename_axis("origin")])[summary.columns]


def _histories(y: pd.Series) -> dict:
    """Id (None for one series) -> (timestamps, values) of each series of ``y``."""
    if not isinstance(y.index, pd.MultiIndex):
        return {None: (y.index.to_numpy(), y.to_numpy())}
    groups = group_rows(y.index.get_level_values(0))
    stamps = y.index.get_level_values(-1).to_numpy()[groups.order]
    values = y.to_numpy()[groups.order]
    bounds = np.cumsum(groups.lengths)[:-1]
    parts = zip(np.split(stamps, bounds), np.split(values, bounds), strict=True)
    return dict(zip(groups.keys, parts, strict=True))


def _gives_levels(forecaster) -> bool:
    """Whether ``forecaster.predict`` takes ``level`` and ``quantiles`` and has intervals."""
    try:
        names = inspect.signature(forecaster.predict).parameters
    except (TypeError, ValueError):
        return False
    params = forecaster.get_params() if hasattr(forecaster, "get_params") else {}
    interval = params.get("interval", DEFAULT_INTERVAL)
    return {"level", "quantiles"} <= set(names) and interval is not None


@dataclass
class _Window:
    """One window's forecasts: arrays of shape (n_series, horizon) in the order of ``y``."""

    test_pos: np.ndarray  # (n_series, horizon) positions of the forecast rows in y
    columns: dict[str, np.ndarray]
    fit_seconds: float | None  # None: forecast without a fit


@dataclass
class _Windows:
    """The windows at the end of every series of ``y``, each ``step`` after the previous."""

    y: pd.Series
    X: pd.DataFrame | None
    horizon: int
    n_windows: int
    step: int
    lengths: np.ndarray  # (n_series,)
    multi: bool
    names: list  # [id, time] or [time]
    word: str = "windows"  # what the user calls them, for messages
    static: pd.DataFrame | None = None  # one row per series, given to every fit

    @classmethod
    def of(cls, y, X, horizon, n_windows, step, word="windows", static=None) -> _Windows:
        horizon = check_positive_int(horizon, "horizon")
        n_windows = check_positive_int(n_windows, "n_windows")
        step = horizon if step is None else check_positive_int(step, "step", none=True)
        y, X = check_series(y, X, missing=True)  # the forecaster masks or refuses NaN
        multi = isinstance(y.index, pd.MultiIndex)
        defaults = ["id", "timestamp"] if multi else ["timestamp"]
        names = [n if n is not None else d for n, d in zip(y.index.names, defaults, strict=True)]
        windows = cls(y, X, horizon, n_windows, step, _lengths(y), multi, names, word, static)
        windows.check_trainable(2)
        return windows

    @property
    def held_out(self) -> int:
        return self.horizon + (self.n_windows - 1) * self.step

    def check_trainable(self, least: int) -> None:
        shortest = int(self.lengths.min())
        if shortest - self.held_out < least:
            raise DataError(
                f"The shortest series has {shortest} time steps, but {self.n_windows} "
                f"{self.word} {self.step} apart with horizon={self.horizon} hold out "
                f"{self.held_out}, leaving too little to train on: use fewer {self.word}, a "
                "smaller step or a longer series."
            )

    def forecasts(self, forecaster, *, refit: bool, **asked) -> Iterator[_Window]:
        """Fit (once, or before each window) and forecast each window, oldest first."""
        params = forecaster.get_params() if hasattr(forecaster, "get_params") else {}
        asked = {k: v for k, v in asked.items() if v is not None}
        model = None
        for k in range(self.n_windows):
            back = self.horizon + (self.n_windows - 1 - k) * self.step
            train_pos, test_pos = _cut(self.lengths, back, self.horizon)
            y_train = self.y.iloc[train_pos]
            X_train = None if self.X is None else self.X.iloc[train_pos]
            X_future = None if self.X is None else self.X.iloc[test_pos.ravel()]
            seconds = None
            fitting = refit or model is None
            with timed("origin", origin=k + 1, origins=self.n_windows, fitted=fitting):
                if fitting:
                    model = clone(forecaster)
                    if "horizon" in params and params["horizon"] is None:
                        model.set_params(horizon=self.horizon)
                    start = time.perf_counter()
                    inputs = {"X": X_train, "static": self.static}
                    model.fit(y_train, **{k: v for k, v in inputs.items() if v is not None})
                    seconds = time.perf_counter() - start
                    pred = model.predict(horizon=self.horizon, X_future=X_future, **asked)
                else:
                    pred = model.predict(
                        horizon=self.horizon, X_future=X_future, y=y_train, X=X_train, **asked
                    )
            columns = _forecasts(pred, self.y, self.horizon)
            yield _Window(test_pos, columns, seconds)

    def table(self, window: _Window) -> pd.DataFrame:
        """One window in long format (see :func:`cross_validation`)."""
        index = self.y.index
        stamps = (index.get_level_values(-1) if self.multi else index).to_numpy()
        values = self.y.to_numpy()
        test = window.test_pos.ravel()
        cutoff = np.repeat(stamps[window.test_pos[:, 0] - 1], self.horizon)
        data = {}
        if self.multi:
            data[self.names[0]] = index.get_level_values(0).to_numpy()[test]
        data[self.names[-1]] = stamps[test]
        data["cutoff"] = cutoff
        data["y"] = values[test]
        data.update({name: v.ravel() for name, v in window.columns.items()})
        return pd.DataFrame(data)


def _series_scores(part: pd.DataFrame, train: np.ndarray, m: int) -> dict:
    """Metrics of one series' window (NaN where the table has no such column, or where the
    window has no actual value): steps without an actual value are left out, and the scale of
    the scaled metrics is read off the interpolated history."""
    seen = part["y"].notna().to_numpy()
    nan = float("nan")
    if not seen.any():
        return dict.fromkeys(("mae", "rmse", "smape", "mase", "coverage", "msis", "sql"), nan)
    part = part[seen]
    truth, forecast = part["y"].to_numpy(), part["forecast"].to_numpy()
    observed = ~np.isnan(train)
    if not observed.all() and observed.any():
        at = np.arange(len(train))
        train = np.interp(at, at[observed], train[observed])

    def bounds(*names):
        if not all(name in part.columns for name in names):
            return None
        found = [part[name].to_numpy(dtype=np.float64) for name in names]
        return None if any(np.isnan(b).any() for b in found) else found

    interval, wide = bounds(LOWER, UPPER), bounds(*level_columns(MSIS_LEVEL))
    quantiles = bounds(*(quantile_column(q) for q in QUANTILES))
    return {
        "mae": metrics.mae(truth, forecast),
        "rmse": metrics.rmse(truth, forecast),
        "smape": metrics.smape(truth, forecast),
        "mase": metrics.mase(truth, forecast, train, m=m),
        "coverage": nan if interval is None else metrics.coverage(truth, *interval),
        "msis": nan if wide is None else metrics.msis(truth, *wide, train, m=m, level=MSIS_LEVEL),
        "sql": nan
        if quantiles is None
        else metrics.scaled_quantile_loss(truth, np.stack(quantiles, -1), QUANTILES, train, m),
    }


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
    ``y``.

    Raises
    ------
    DataError
        If the forecaster returned other than ``horizon`` rows for a series.
    """
    columns = list(pred.columns)
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
