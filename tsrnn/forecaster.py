"""``RNNForecaster``: a dated series in, a dated forecast with prediction intervals out.

The forecaster turns series into windows, normalises each window, trains
:class:`tsrnn.RNNRegressor` networks on them and turns their outputs back into dated values::

    y ──check_series──▶ scale per series (scaler) ──▶ windows of `lookback` steps, never
    crossing a series boundary ──▶ normalise each window (normalize) ──▶ RNNRegressor(s)
    predict ──▶ de-normalise ──▶ unscale ──▶ forecast ± conformal quantile of the step ahead

Prediction intervals are split-conformal: a first network is trained without the last
``calibration_size`` windows of each series, its absolute errors on those windows (divided by
each window's scale) are divided by their step's mean error and pooled across steps into one
conformal quantile, scaled back per step ahead (so intervals widen with the step), and the
networks used for forecasting are then trained on every window.

This module is longer than the ~600-line guide: over a third is numpydoc, and fitting,
calibration, window encoding, prediction and the persistence hooks all read the same fitted
attributes of one estimator, so splitting them would scatter its state.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions

from ._series import check_series, future_index
from .errors import DataError, NotFittedError, ParameterError
from .estimator import RNNRegressor
from .windowing import make_windows

__all__ = ["RNNForecaster", "season_length_for"]

_NORMALIZE = ("window", "last", "none")
_SCALERS = ("standard", "minmax", "none")
# Observations per season for calendar frequencies (the base alias of the offset).
_PER_YEAR = {"YS": 1, "YE": 1, "Y": 1, "BYS": 1, "BYE": 1}
_SEASONS = {
    "QS": 4, "QE": 4, "Q": 4, "BQS": 4, "BQE": 4,
    "MS": 12, "ME": 12, "M": 12, "BMS": 12, "BME": 12, "SMS": 24, "SME": 24,
    "W": 52, "D": 7, "B": 5, "C": 5,
}  # fmt: skip
_SECONDS = {"h": 3600, "min": 60, "s": 1}
# Gradient steps per network when epochs=None (the epochs follow from the number of windows).
_AUTO_STEPS = 1500
_AUTO_EPOCHS = (10, 400)


def season_length_for(freq: str | int) -> int:
    """Observations per season implied by a frequency: 12 for months, 24 for hours, ...

    Sub-daily data get the daily cycle (48 for ``"30min"``), daily data the week (7), weekly
    data the year (52); yearly and integer-indexed data get 1 (no season).

    Parameters
    ----------
    freq : str or int
        A pandas offset alias (``"MS"``, ``"30min"``...) or an integer step.

    Returns
    -------
    int
    """
    if isinstance(freq, (int, np.integer)):
        return 1
    offset = pd.tseries.frequencies.to_offset(freq)
    base, n = offset.rule_code.split("-")[0], max(int(offset.n), 1)
    if base in _SEASONS:
        per = _SEASONS[base]
        return per // n if per % n == 0 and per // n > 1 else 1
    if base in _SECONDS:
        per = 86400 / (_SECONDS[base] * n)
        return int(per) if per == int(per) and per > 1 else 1
    return 1


class RNNForecaster(BaseEstimator):
    """Forecast dated series with recurrent networks, with conformal prediction intervals.

    Parameters
    ----------
    lookback : int or None, default=None
        Steps of history each forecast reads. ``None`` picks ``max(2 * horizon,
        2 * season_length, 8)`` (two horizons or two seasons, the usual input size of neural
        forecasters), capped at ``(n - horizon) // 2`` for the shortest series so that it still
        yields at least half its length in training windows.
    horizon : int or None, default=None
        Steps ahead the networks are trained for, and the default of ``predict``. ``None`` picks
        one season (``season_length``), or 8 steps without a season. With
        ``strategy="direct"``, forecasts past ``horizon`` feed the first ``horizon`` forecasts
        back as history.
    strategy : {"direct", "recursive"}, default="direct"
        ``"direct"``: one network emits all ``horizon`` values at once (no error feedback).
        ``"recursive"``: a one-step network is fed its own forecasts.
    normalize : {"last", "window", "none"}, default="last"
        How the level (and so a trend) is taken out of each window before the network sees
        it; RNNs extrapolate raw levels badly, since a trending series leaves the range seen
        in training. ``"last"``: subtract the window's last value, so inputs and targets are
        changes relative to the last observation, in units of the series' ``scaler``: a trend
        is a constant offset per step, a stationary series reverts through the shape of the
        window, and the forecast starts where the data end. ``"window"``: the same, then divide
        by the window's mean absolute step change (scale-free per window; in backtests on the
        bundled series it suited the long stationary one best but the short trending one worst).
        ``"none"``: feed the scaled levels.
    season_length : int or None, default=None
        Observations per season; ``None`` infers it from the frequency (see
        :func:`season_length_for`). Only used for the defaults of ``lookback`` and ``horizon``.
    scaler : {"standard", "minmax", "none"}, default="standard"
        Scaling of the target (per series) and of each column of ``X``, fitted on the data
        given to ``fit`` only.
    interval : float or None, default=0.9
        Nominal coverage of the prediction intervals, in ``(0, 1)``. ``None`` skips the
        calibration network (a faster fit) and returns NaN bounds.
    calibration_size : int or None, default=None
        Windows per series, at the end, held out to calibrate the intervals. ``None`` uses
        ``max(horizon, 20%)`` of each series' windows, at most 200, and fewer on a short series
        so that half its windows remain to train on (see ``coverage_calibration_``).
    n_models : int, default=3
        Networks trained from different seeds whose forecasts are averaged. Averaging a few
        seeds removes much of a small network's seed-to-seed variance, at ``n_models`` times
        the fit time.
    cell, hidden_size, num_layers, dropout, optimizer, learning_rate, weight_decay, batch_size, \
clip_grad_norm, validation_fraction, patience, device, verbose
        Passed to each :class:`~tsrnn.RNNRegressor` (see there); the forecaster's defaults
        differ in ``batch_size=32`` (short series have few windows) and ``clip_grad_norm=1.0``.
        ``validation_fraction`` takes the last rows of the stacked windows (the most recent
        windows of the last series).
    loss : {"mae", "mse", "huber"}, default="mae"
        Training loss on the normalised targets. MAE matches the scale-free absolute errors
        (MASE, sMAPE) forecasts are judged by and is robust to outliers and level shifts.
    n_threads : int or None, default=1
        Torch threads per network. Small recurrent networks gain nothing from a second thread
        and OpenMP threads spin-wait on a busy machine (a 144-point fit took 33 s with 2 threads
        against 4 s with 1 on a 2-core machine); ``None`` leaves torch's setting alone.
    epochs : int or None, default=None
        Epochs per network; ``None`` gives about 1,500 gradient steps (between 10 and 400
        epochs), so short series get more passes and long ones fewer.
    random_state : int, RandomState instance or None, default=None
        Seeds every network; the same seed and data give the same forecast.

    Attributes
    ----------
    freq_ : str or int
        Frequency of the series (offset alias) or integer step of a ``RangeIndex``.
    horizon_, lookback_, season_length_, epochs_ : int
        The values used, after resolving ``None`` defaults.
    series_ids_ : list
        Series ids in order (``[None]`` for a single series).
    y_loc_, y_scale_ : ndarray of shape (n_series,)
        Target scaler of each series: ``scaled = (y - loc) / scale``.
    x_loc_, x_scale_ : ndarray of shape (n_features,)
        Scaler of the exogenous columns (empty without ``X``).
    feature_names_in_ : ndarray of shape (n_features,)
        Columns of ``X`` seen in ``fit`` (empty without ``X``).
    history_y_ : ndarray of shape (n_series, lookback_)
        Last scaled values of each series, the default history for ``predict``.
    history_X_ : ndarray of shape (n_series, lookback_, n_features)
        Last scaled rows of ``X`` of each series.
    last_index_ : list
        Last timestamp (or integer) of each series.
    quantiles_ : ndarray of shape (horizon_,)
        Conformal quantile of the scaled absolute error per step ahead (NaN without interval).
    coverage_calibration_ : float
        The quantile level used: ``ceil((n + 1) * interval) / n`` for the ``n`` pooled ratios
        (calibration windows x steps ahead, each error divided by its step's mean error).
    models_ : list of RNNRegressor
        The fitted networks.

    Examples
    --------
    >>> from tsrnn import RNNForecaster
    >>> from tsrnn.datasets import load
    >>> y = load("airpassengers")
    >>> f = RNNForecaster(horizon=12, epochs=2, hidden_size=8, random_state=0).fit(y)
    >>> f.predict().columns.tolist(), len(f.predict())
    (['forecast', 'lower', 'upper'], 12)
    """

    _parameter_constraints: ClassVar[dict] = {
        "lookback": [Interval(Integral, 1, None, closed="left"), None],
        "horizon": [Interval(Integral, 1, None, closed="left"), None],
        "strategy": [StrOptions({"direct", "recursive"})],
        "normalize": [StrOptions(set(_NORMALIZE))],
        "season_length": [Interval(Integral, 1, None, closed="left"), None],
        "scaler": [StrOptions(set(_SCALERS))],
        "interval": [Interval(Real, 0, 1, closed="neither"), None],
        "calibration_size": [Interval(Integral, 1, None, closed="left"), None],
        "n_models": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        lookback: int | None = None,
        horizon: int | None = None,
        strategy: str = "direct",
        normalize: str = "last",
        season_length: int | None = None,
        scaler: str = "standard",
        interval: float | None = 0.9,
        calibration_size: int | None = None,
        n_models: int = 3,
        cell: str = "lstm",
        hidden_size: int = 32,
        num_layers: int = 1,
        dropout: float = 0.0,
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        epochs: int | None = None,
        batch_size: int = 32,
        loss: str = "mae",
        clip_grad_norm: float | None = 1.0,
        validation_fraction: float | None = None,
        patience: int | None = None,
        device: str = "auto",
        n_threads: int | None = 1,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.lookback = lookback
        self.horizon = horizon
        self.strategy = strategy
        self.normalize = normalize
        self.season_length = season_length
        self.scaler = scaler
        self.interval = interval
        self.calibration_size = calibration_size
        self.n_models = n_models
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.loss = loss
        self.clip_grad_norm = clip_grad_norm
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ public API

    def fit(self, y: pd.Series | pd.DataFrame, X: pd.DataFrame | None = None) -> RNNForecaster:
        """Train the networks (and calibrate the intervals) on the series ``y``.

        Parameters
        ----------
        y : Series or one-column DataFrame of shape (n_timesteps,)
            Indexed by a ``DatetimeIndex`` of regular frequency or a ``RangeIndex``; or many
            series in long format: a Series with a ``MultiIndex`` (series id, timestamp), e.g.
            ``df.set_index(["id", "timestamp"])["value"]``. One global network is trained on
            the windows of every series; no window crosses from one series into another.
        X : DataFrame of shape (n_timesteps, n_features) or None, default=None
            Exogenous variables on the index of ``y``; ``predict`` then needs their future
            values (``X_future``).

        Returns
        -------
        self : RNNForecaster
        """
        self._check_params()
        y, X = check_series(y, X)
        series, xs, last = _split(y, X)
        self.freq_ = y.attrs["freq"]
        self.season_length_ = self.season_length or season_length_for(self.freq_)
        default_h = self.season_length_ if self.season_length_ > 1 else 8
        self.horizon_ = int(self.horizon or default_h)
        shortest = min(len(s) for s in series)
        self.lookback_ = int(self.lookback or self._default_lookback(shortest))
        span = self.lookback_ + self.horizon_
        if shortest < span:
            raise DataError(
                f"The shortest series has {shortest} time steps, but lookback={self.lookback_} + "
                f"horizon={self.horizon_} needs at least {span}: use a longer series or a "
                "smaller lookback or horizon."
            )
        self._set_meta(y, X, last)
        self.y_loc_, self.y_scale_ = _fit_scaler(self.scaler, series)
        scaled = [
            (s - lo) / sc for s, lo, sc in zip(series, self.y_loc_, self.y_scale_, strict=True)
        ]
        if X is not None:
            self.x_loc_, self.x_scale_ = _fit_scaler(self.scaler, [x for x in xs], axis=0)
            xs = [(x - self.x_loc_) / self.x_scale_ for x in xs]
        else:
            self.x_loc_ = self.x_scale_ = np.zeros(0)
            xs = [None] * len(series)
        windows = [self._windows(s, x) for s, x in zip(scaled, xs, strict=True)]
        n_windows = sum(len(w[0]) for w in windows)
        steps_per_epoch = math.ceil(n_windows / self.batch_size)
        self.epochs_ = int(self.epochs or np.clip(math.ceil(_AUTO_STEPS / steps_per_epoch),
                                                  *_AUTO_EPOCHS))  # fmt: skip
        seeds = check_random_state(self.random_state).randint(np.iinfo(np.int32).max, size=2)
        self.quantiles_ = np.full(self.horizon_, np.nan)
        self.coverage_calibration_ = float("nan")
        if self.interval is not None:
            self._calibrate(windows, scaled, xs, int(seeds[1]))
        inputs, targets = _stack(windows)
        self.models_ = self._train(inputs, targets, int(seeds[0]))
        self.history_y_ = np.stack([s[-self.lookback_ :] for s in scaled])
        n_feat = len(self.feature_names_in_)
        self.history_X_ = (
            np.stack([x[-self.lookback_ :] for x in xs])
            if X is not None
            else np.zeros((len(scaled), self.lookback_, n_feat))
        )
        return self

    def predict(
        self,
        horizon: int | None = None,
        X_future: pd.DataFrame | None = None,
        y: pd.Series | pd.DataFrame | None = None,
        X: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Forecast the next ``horizon`` steps of each series, with prediction intervals.

        Parameters
        ----------
        horizon : int or None, default=None
            Steps ahead; ``None`` means ``horizon_`` (the fit-time horizon).
        X_future : DataFrame of shape (horizon, n_features) or None, default=None
            Exogenous values of the forecast steps; required when ``fit`` had ``X``. For many
            series, ``horizon`` rows per series on a ``MultiIndex`` (id, timestamp).
        y : Series or DataFrame or None, default=None
            Newer history to forecast from instead of the one seen in ``fit`` (same series
            ids and frequency; no refit). At least ``lookback_`` steps per series.
        X : DataFrame or None, default=None
            Exogenous values on the index of ``y``; required with ``y`` when ``fit`` had ``X``.

        Returns
        -------
        DataFrame of shape (horizon, 3) or (n_series * horizon, 3)
            Columns ``forecast``, ``lower``, ``upper``, indexed by the future timestamps (the
            series' frequency continued), or by a ``MultiIndex`` (id, timestamp) for many
            series.
        """
        self._check_fitted()
        horizon = self.horizon_ if horizon is None else horizon
        if not isinstance(horizon, (int, np.integer)) or isinstance(horizon, bool) or horizon < 1:
            raise ParameterError(f"horizon must be a positive integer; got {horizon!r}.")
        horizon = int(horizon)
        hist_y, hist_X, rows, last = self._history(y, X)
        future_X = self._future_exog(X_future, horizon, rows, last)
        mean, spread = self._forecast(self.models_, hist_y, hist_X, future_X, horizon)
        quantiles = self._quantiles_for(horizon)
        lower, upper = mean - quantiles * spread, mean + quantiles * spread
        loc, scale = self.y_loc_[rows][:, None], self.y_scale_[rows][:, None]
        frames = []
        for k, row in enumerate(rows):
            index = future_index(last[k], self.freq_, horizon, self.index_names_[-1])
            frame = pd.DataFrame(
                {
                    "forecast": mean[k] * scale[k] + loc[k],
                    "lower": lower[k] * scale[k] + loc[k],
                    "upper": upper[k] * scale[k] + loc[k],
                },
                index=index,
            )
            frames.append((self.series_ids_[row], frame))
        if not self.multi_:
            return frames[0][1]
        keys = [key for key, _ in frames]
        out = pd.concat([f for _, f in frames], keys=keys, names=self.index_names_)
        return out

    # ------------------------------------------------------------------ persistence hooks

    def _to_state(self) -> tuple[dict, dict[str, np.ndarray], dict[str, RNNRegressor]]:
        """Everything learned, as JSON-able metadata, numpy arrays and fitted regressors.

        Returns
        -------
        meta : dict
            Frequency, resolved sizes, series ids, last timestamps (ISO strings or ints),
            index and column names, scaler numbers, conformal quantiles.
        arrays : dict of str to ndarray
            ``history_y`` (n_series, lookback_) and ``history_X`` (n_series, lookback_,
            n_features).
        regressors : dict of str to RNNRegressor
            ``"model_0"``, ``"model_1"``, ... the fitted networks.
        """
        self._check_fitted()
        meta = {
            "freq": self.freq_,
            "season_length": self.season_length_,
            "horizon": self.horizon_,
            "lookback": self.lookback_,
            "epochs": self.epochs_,
            "multi": self.multi_,
            "series_ids": [_jsonable(i) for i in self.series_ids_],
            "last_index": [_jsonable(t) for t in self.last_index_],
            "index_names": list(self.index_names_),
            "name": self.name_,
            "feature_names": [str(c) for c in self.feature_names_in_],
            "y_loc": self.y_loc_.tolist(),
            "y_scale": self.y_scale_.tolist(),
            "x_loc": self.x_loc_.tolist(),
            "x_scale": self.x_scale_.tolist(),
            "quantiles": [None if np.isnan(q) else float(q) for q in self.quantiles_],
            "coverage_calibration": (
                None if np.isnan(self.coverage_calibration_) else self.coverage_calibration_
            ),
        }
        arrays = {"history_y": self.history_y_, "history_X": self.history_X_}
        regressors = {f"model_{k}": m for k, m in enumerate(self.models_)}
        return meta, arrays, regressors

    @classmethod
    def _from_state(
        cls,
        params: dict,
        meta: dict,
        arrays: dict[str, np.ndarray],
        regressors: dict[str, RNNRegressor],
    ) -> RNNForecaster:
        """Rebuild a fitted forecaster from :meth:`_to_state`'s pieces (and its params).

        Parameters
        ----------
        params : dict
            ``get_params()`` of the saved forecaster.
        meta, arrays, regressors
            As returned by :meth:`_to_state`.

        Returns
        -------
        RNNForecaster
        """
        self = cls(**params)
        self.freq_ = meta["freq"]
        self.season_length_ = int(meta["season_length"])
        self.horizon_ = int(meta["horizon"])
        self.lookback_ = int(meta["lookback"])
        self.epochs_ = int(meta["epochs"])
        self.multi_ = bool(meta["multi"])
        self.series_ids_ = list(meta["series_ids"])
        datetime = not isinstance(self.freq_, int)
        self.last_index_ = [pd.Timestamp(t) if datetime else int(t) for t in meta["last_index"]]
        self.index_names_ = list(meta["index_names"])
        self.name_ = meta["name"]
        self.feature_names_in_ = np.asarray(meta["feature_names"], dtype=object)
        self.y_loc_ = np.asarray(meta["y_loc"], dtype=np.float64)
        self.y_scale_ = np.asarray(meta["y_scale"], dtype=np.float64)
        self.x_loc_ = np.asarray(meta["x_loc"], dtype=np.float64)
        self.x_scale_ = np.asarray(meta["x_scale"], dtype=np.float64)
        self.quantiles_ = np.asarray(
            [np.nan if q is None else q for q in meta["quantiles"]], dtype=np.float64
        )
        cov = meta["coverage_calibration"]
        self.coverage_calibration_ = float("nan") if cov is None else float(cov)
        self.history_y_ = np.asarray(arrays["history_y"], dtype=np.float64)
        self.history_X_ = np.asarray(arrays["history_X"], dtype=np.float64)
        self.models_ = [regressors[f"model_{k}"] for k in range(len(regressors))]
        return self

    # ------------------------------------------------------------------ fitting internals

    def _check_params(self) -> None:
        try:
            self._validate_params()
        except InvalidParameterError as exc:
            raise ParameterError(str(exc)) from None

    def _check_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise NotFittedError(
                "This RNNForecaster instance is not fitted yet: call 'fit' with a series "
                "before 'predict'."
            )

    def _default_lookback(self, shortest: int) -> int:
        wanted = max(2 * self.horizon_, 2 * self.season_length_, 8)
        cap = max((shortest - self.horizon_) // 2, 1)
        return min(wanted, cap)

    def _set_meta(self, y: pd.Series, X: pd.DataFrame | None, last: list) -> None:
        self.multi_ = isinstance(y.index, pd.MultiIndex)
        if self.multi_:
            self.series_ids_ = list(pd.unique(y.index.get_level_values(0)))
            self.index_names_ = list(y.index.names)
        else:
            self.series_ids_ = [None]
            self.index_names_ = [y.index.name]
        self.name_ = None if y.name is None else str(y.name)
        self.last_index_ = last
        self.feature_names_in_ = np.asarray(
            [] if X is None else [str(c) for c in X.columns], dtype=object
        )

    def _regressor(self, seed: int) -> RNNRegressor:
        return RNNRegressor(
            cell=self.cell,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            dropout=self.dropout,
            optimizer=self.optimizer,
            learning_rate=self.learning_rate,
            weight_decay=self.weight_decay,
            epochs=self.epochs_,
            batch_size=self.batch_size,
            loss=self.loss,
            clip_grad_norm=self.clip_grad_norm,
            validation_fraction=self.validation_fraction,
            patience=self.patience,
            device=self.device,
            n_threads=self.n_threads,
            random_state=seed,
            verbose=self.verbose,
        )

    def _train(self, inputs: np.ndarray, targets: np.ndarray, seed: int) -> list[RNNRegressor]:
        seeds = np.random.RandomState(seed).randint(np.iinfo(np.int32).max, size=self.n_models)
        return [self._regressor(int(s)).fit(inputs, targets) for s in seeds]

    def _out_steps(self) -> int:
        return self.horizon_ if self.strategy == "direct" else 1

    def _windows(self, values: np.ndarray, exog: np.ndarray | None) -> tuple:
        """Network inputs and normalised targets of every window of one scaled series.

        Returns ``(inputs (n_windows, n_steps, n_channels), targets (n_windows, out_steps))``.
        """
        out = self._out_steps()
        past, future = make_windows(values, self.lookback_, out)
        future = future.reshape(len(past), out)
        future_X = None
        if exog is not None:
            spans = sliding_window_view(exog, self.lookback_ + out, axis=0)
            future_X = np.swapaxes(spans, 1, 2)  # (n_windows, lookback + out, n_features)
        inputs, level, scale = self._encode(np.asarray(past), future_X)
        targets = (future - level[:, None]) / scale[:, None]
        return inputs, targets

    def _encode(self, past: np.ndarray, exog: np.ndarray | None) -> tuple:
        """Normalise windows of scaled values; return (inputs, level, scale).

        past : (n, lookback); exog : (n, lookback + out_steps, n_features) or None.
        """
        n = len(past)
        if self.normalize == "none":
            level, scale = np.zeros(n), np.ones(n)
        else:
            level = past[:, -1]
            scale = np.ones(n)
            if self.normalize == "window":
                step = np.mean(np.abs(np.diff(past, axis=1)), axis=1) if past.shape[1] > 1 else 0
                scale = np.maximum(step, 1e-2)  # floor: 1% of the series' scaler unit
        z = (past - level[:, None]) / scale[:, None]  # (n, lookback)
        if exog is None:
            return z[:, :, None].astype(np.float32), level, scale
        out = exog.shape[1] - past.shape[1]
        y_channel = np.concatenate([z, np.zeros((n, out))], axis=1)  # (n, L + out)
        flag = np.concatenate([np.zeros((n, past.shape[1])), np.ones((n, out))], axis=1)
        inputs = np.concatenate([y_channel[:, :, None], flag[:, :, None], exog], axis=2)
        return inputs.astype(np.float32), level, scale

    def _forecast(
        self,
        models: list[RNNRegressor],
        past: np.ndarray,
        past_X: np.ndarray | None,
        future_X: np.ndarray | None,
        horizon: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scaled forecasts ``(n, horizon)`` from scaled windows, and the scale of each step.

        past : (n, lookback); past_X : (n, lookback, n_feat); future_X : (n, horizon, n_feat).
        The scale of step ``h`` is the scale of the window that produced it.
        """
        out = self._out_steps()
        hist = np.asarray(past, dtype=np.float64)
        hist_X = past_X
        preds, spreads = [], []
        done = 0
        while done < horizon:
            window = hist[:, -self.lookback_ :]
            exog = None
            if hist_X is not None:
                block_X = future_X[:, done : done + out]
                if block_X.shape[1] < out:  # past the requested horizon: pad, output unused
                    pad = np.repeat(block_X[:, -1:], out - block_X.shape[1], axis=1)
                    block_X = np.concatenate([block_X, pad], axis=1)
                exog = np.concatenate([hist_X[:, -self.lookback_ :], block_X], axis=1)
            inputs, level, scale = self._encode(window, exog)
            z = np.mean([m.predict(inputs).reshape(len(window), out) for m in models], axis=0)
            step = z * scale[:, None] + level[:, None]  # (n, out)
            preds.append(step)
            spreads.append(np.repeat(scale[:, None], out, axis=1))
            hist = np.concatenate([hist, step], axis=1)
            if hist_X is not None:
                hist_X = np.concatenate([hist_X, block_X], axis=1)
            done += out
        return np.concatenate(preds, axis=1)[:, :horizon], np.concatenate(spreads, axis=1)[
            :, :horizon
        ]

    def _calibrate(self, windows: list, scaled: list, xs: list, seed: int) -> None:
        """Train on all but the last windows of each series; conformal quantiles per step."""
        n_min = min(len(w[0]) for w in windows)
        gap = self._out_steps() - 1  # training targets must end before calibration targets
        n_cal = self.calibration_size
        if n_cal is None:  # as many as wanted while half the windows are left to train on
            wanted = min(max(self.horizon_, round(0.2 * n_min)), 200)
            n_cal = max(min(wanted, n_min - gap - max((n_min - gap) // 2, 1)), 1)
        n_train = n_min - n_cal - gap
        if n_cal >= n_min or n_train < 1:
            raise DataError(
                f"Calibrating the {self.interval:.0%} intervals holds out the last {n_cal} "
                f"windows of each series but the shortest has {n_min}: pass a longer series, "
                "a smaller calibration_size or lookback, or interval=None."
            )
        inputs, targets = _stack([(w[0][: -n_cal - gap], w[1][: -n_cal - gap]) for w in windows])
        models = self._train(inputs, targets, seed)
        scores = []
        for s, x in zip(scaled, xs, strict=True):
            n_w = len(s) - self.lookback_ - self._out_steps() + 1
            starts = np.arange(n_w - n_cal, n_w)
            ends = starts + self.lookback_
            h = self.horizon_
            keep = ends + h <= len(s)  # calibration windows with every step observed
            starts, ends = starts[keep], ends[keep]
            if not len(starts):
                continue
            past = sliding_window_view(s, self.lookback_)[starts]  # (n, lookback)
            actual = sliding_window_view(s, h)[ends]  # (n, h)
            past_X = future_X = None
            if x is not None:  # (n, lookback | h, n_features)
                past_X = sliding_window_view(x, self.lookback_, axis=0)[starts].swapaxes(1, 2)
                future_X = sliding_window_view(x, h, axis=0)[ends].swapaxes(1, 2)
            pred, spread = self._forecast(models, past, past_X, future_X, h)
            scores.append(np.abs(actual - pred) / spread)
        if not scores:
            raise DataError(
                f"No calibration window has all {self.horizon_} steps observed: raise "
                "calibration_size (at least horizon) or pass interval=None."
            )
        scores = np.concatenate(scores)  # (n_calibration, horizon)
        # Few calibration windows make a per-step conformal quantile the largest error seen.
        # Pool the steps instead: divide each step's errors by that step's mean error, take one
        # conformal quantile of all n * horizon ratios, and scale it back per step.
        step_scale = np.maximum(scores.mean(axis=0), 1e-12)  # (horizon,)
        ratios = (scores / step_scale).ravel()
        n = len(ratios)
        level = min(math.ceil((n + 1) * self.interval) / n, 1.0)
        quantiles = np.quantile(ratios, level, method="higher") * step_scale
        self.quantiles_ = np.maximum.accumulate(quantiles)  # never narrower further ahead
        self.coverage_calibration_ = float(level)

    # ------------------------------------------------------------------ predict internals

    def _quantiles_for(self, horizon: int) -> np.ndarray:
        q = self.quantiles_
        if horizon <= len(q):
            return q[:horizon]
        # Past the calibrated steps, widen like a random walk: q_H * sqrt(h / H).
        extra = q[-1] * np.sqrt(np.arange(len(q) + 1, horizon + 1) / len(q))
        return np.concatenate([q, extra])

    def _history(self, y, X) -> tuple:
        """Scaled history windows (n, lookback), exog (n, lookback, k), rows, last stamps."""
        n_feat = len(self.feature_names_in_)
        if y is None:
            if X is not None:
                raise DataError("X was given without y: pass the newer history y with its X.")
            rows = list(range(len(self.series_ids_)))
            hist_X = self.history_X_ if n_feat else None
            return self.history_y_, hist_X, rows, list(self.last_index_)
        if n_feat and X is None:
            raise DataError(
                f"The model was fitted with X ({n_feat} columns): pass X aligned with y too."
            )
        if not n_feat and X is not None:
            raise DataError("The model was fitted without X: call predict without X.")
        y, X = check_series(y, X)
        if y.attrs["freq"] != self.freq_:
            raise DataError(
                f"y has frequency {y.attrs['freq']!r} but the model was fitted on "
                f"{self.freq_!r}: pass history at the same frequency."
            )
        if isinstance(y.index, pd.MultiIndex) != self.multi_:
            kind = "many series (id, timestamp)" if self.multi_ else "one series"
            raise DataError(f"The model was fitted on {kind}: pass y in the same layout.")
        if X is not None:
            self._check_columns(X, "X")
        series, xs, last = _split(y, X)
        ids = list(pd.unique(y.index.get_level_values(0))) if self.multi_ else [None]
        rows = []
        for key in ids:
            if key not in self.series_ids_:
                raise DataError(
                    f"Series {key!r} was not seen in fit; the model knows "
                    f"{self.series_ids_[:5]!r}...: forecast known series only."
                )
            rows.append(self.series_ids_.index(key))
        hist_y, hist_X = [], []
        for k, (s, x) in enumerate(zip(series, xs, strict=True)):
            if len(s) < self.lookback_:
                raise DataError(
                    f"The history of series {ids[k]!r} has {len(s)} time steps but the model "
                    f"reads lookback={self.lookback_}: pass at least {self.lookback_}."
                )
            row = rows[k]
            hist_y.append((s[-self.lookback_ :] - self.y_loc_[row]) / self.y_scale_[row])
            if x is not None:
                hist_X.append((x[-self.lookback_ :] - self.x_loc_) / self.x_scale_)
        return np.stack(hist_y), (np.stack(hist_X) if n_feat else None), rows, last

    def _check_columns(self, X: pd.DataFrame, what: str) -> None:
        names = [str(c) for c in X.columns]
        if names != list(self.feature_names_in_):
            raise DataError(
                f"{what} has columns {names!r} but the model was fitted with "
                f"{list(self.feature_names_in_)!r}: pass the same columns in the same order."
            )

    def _future_exog(self, X_future, horizon: int, rows: list, last: list) -> np.ndarray | None:
        n_feat = len(self.feature_names_in_)
        if not n_feat:
            if X_future is not None:
                raise DataError("The model was fitted without X: call predict without X_future.")
            return None
        if X_future is None:
            raise DataError(
                f"The model was fitted with X: pass X_future with the {horizon} future rows of "
                f"columns {list(self.feature_names_in_)!r}."
            )
        if isinstance(X_future, pd.Series):
            X_future = X_future.to_frame()
        if not isinstance(X_future, pd.DataFrame):
            raise DataError(f"X_future must be a pandas DataFrame; got {type(X_future).__name__}.")
        self._check_columns(X_future, "X_future")
        blocks = []
        for k, row in enumerate(rows):
            part = X_future
            if self.multi_:
                key = self.series_ids_[row]
                if key not in X_future.index.get_level_values(0):
                    raise DataError(f"X_future has no rows for series {key!r}: add them.")
                part = X_future.xs(key, level=0)
            who = f" for series {self.series_ids_[row]!r}" if self.multi_ else ""
            if len(part) != horizon:
                raise DataError(
                    f"X_future has {len(part)} rows{who} but horizon={horizon}: pass one row "
                    "per forecast step."
                )
            if isinstance(part.index, pd.DatetimeIndex):
                expected = future_index(last[k], self.freq_, horizon, None)
                if not part.index.equals(pd.DatetimeIndex(expected)):
                    raise DataError(
                        f"X_future{who} starts at {part.index[0]} but the forecast starts at "
                        f"{expected[0]}: index it by the {horizon} timestamps after the history."
                    )
            values = part.to_numpy(dtype=np.float64)
            if not np.isfinite(values).all():
                raise DataError(f"X_future{who} holds NaN or inf: fill it first.")
            blocks.append((values - self.x_loc_) / self.x_scale_)
        return np.stack(blocks)


# ---------------------------------------------------------------------- helpers


def _split(y: pd.Series, X: pd.DataFrame | None) -> tuple[list, list, list]:
    """Per-series value arrays, exog arrays (or None) and last timestamps, in id order."""
    if not isinstance(y.index, pd.MultiIndex):
        x = None if X is None else X.to_numpy(dtype=np.float64)
        return [y.to_numpy(dtype=np.float64)], [x], [_last(y.index)]
    codes = y.index.get_level_values(0)
    series, xs, last = [], [], []
    for key in pd.unique(codes):
        mask = np.asarray(codes == key)
        series.append(y.to_numpy(dtype=np.float64)[mask])
        xs.append(None if X is None else X.to_numpy(dtype=np.float64)[mask])
        last.append(_last(y.index[mask].get_level_values(1)))
    return series, xs, last


def _last(index: pd.Index):
    value = index[-1]
    return int(value) if isinstance(value, (int, np.integer)) else pd.Timestamp(value)


def _fit_scaler(kind: str, arrays: list, axis: int | None = None) -> tuple:
    """loc and scale per series (axis=None, one number each) or per column of stacked arrays."""
    if axis is None:
        if kind == "standard":
            loc = np.array([a.mean() for a in arrays])
            scale = np.array([a.std() for a in arrays])
        elif kind == "minmax":
            loc = np.array([a.min() for a in arrays])
            scale = np.array([a.max() - a.min() for a in arrays])
        else:
            loc, scale = np.zeros(len(arrays)), np.ones(len(arrays))
    else:
        stacked = np.concatenate(arrays, axis=0)
        if kind == "standard":
            loc, scale = stacked.mean(axis=0), stacked.std(axis=0)
        elif kind == "minmax":
            loc, scale = stacked.min(axis=0), stacked.max(axis=0) - stacked.min(axis=0)
        else:
            loc, scale = np.zeros(stacked.shape[1]), np.ones(stacked.shape[1])
    scale = np.where(scale > 0, scale, 1.0)  # a constant series or column keeps its units
    return np.asarray(loc, dtype=np.float64), np.asarray(scale, dtype=np.float64)


def _stack(windows: list) -> tuple[np.ndarray, np.ndarray]:
    inputs = np.concatenate([w[0] for w in windows])
    targets = np.concatenate([w[1] for w in windows])
    return inputs, targets


def _jsonable(value):
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value
