"""``RNNForecaster``: dated series in, dated forecasts with prediction intervals out.

One global network learns from the windows of every series; the pieces it is built from live
in modules named for them::

    y ──check_series──▶ split by series (_group) ──▶ scale + deseasonalise each series
    (_forecast.scaling) ──▶ one Panel of all series ──▶ batches of (series, origin)
    windows, left-padded with an observed mask where a series is short (_forecast.windows)
    ──▶ RNNRegressor networks, a budget of gradient steps (_train.train_steps)
    ──▶ forecast ──▶ season and scale put back, bounds from the calibration (_forecast.conformal)

Intervals and quantiles are split-conformal: the pipeline is first fitted on every series
without its last ``horizon + calibration_size - 1`` values; its signed errors on them, each
divided by its series' unit at its step (:meth:`SeriesScaling.units`) and a step scale, are
pooled and sorted, and ``predict(level=[80, 95], quantiles=[0.1, 0.9])`` reads any level or
quantile from them without a refit (asymmetric bounds, quantiles that never cross).

Every network of a fit (the calibration ones and the final ones) is a job
(:mod:`tsrnn._train.executor`): they train one after another in this process, or side by side (or
data-parallel) on a Dask cluster inside :func:`tsrnn.train_on_dask`.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ._data.calendar import future_stamps, season_length_for
from ._data.groups import split_series
from ._forecast.calibration import Calibration, calibrate, check_observations, hold_out
from ._forecast.covariates import Covariates, InputColumns, exog_columns, fit_columns, with_calendar
from ._forecast.ensemble import ensemble_forecast, levels, with_theta
from ._forecast.inputs import (
    category_seasons,
    fit_inputs,
    fitted_inputs,
    predict_inputs,
    rows_of,
    static_of,
)
from ._forecast.jobs import prepare
from ._forecast.plan import FORWARDED, Plan, fitted_plan, known_columns, plan_for
from ._forecast.predict import (
    Fitted,
    Forecast,
    decoded,
    forecast_frame,
    forecast_histories,
    keep_history,
    known_history,
    newer_history,
)
from ._forecast.scaling import SCALERS
from ._forecast.state import fitted_attributes, forecaster_state
from ._forecast.theta import fit_theta
from ._forecast.windows import NORMALIZE
from ._train.executor import fit_jobs
from .errors import DataError, NotFittedError, check_params, check_positive_int
from .estimator import RNNRegressor
from .intervals import DEFAULT_INTERVAL, probabilities

__all__ = ["RNNForecaster", "season_length_for"]


class RNNForecaster(BaseEstimator):
    """Forecast dated series with one global recurrent network, with conformal intervals.

    Parameters
    ----------
    lookback : int or None, default=None
        Steps of history each network reads (see ``long_lookback``). ``None`` picks
        ``max(2 * horizon, 2 * season_length, 8)``, at most the longest series' length.
        Series shorter than the lookback are left-padded (an *observed* input channel marks
        the padding), so one short series never shortens the history the others are read
        with.
    long_lookback : int or None, default=None
        Steps of history the third and fourth of every four networks (the seventh and eighth,
        ...) read instead, for an ensemble over lookbacks as in N-BEATS: networks that see the
        season and the trend over different spans. ``None``: twice ``lookback``. At most the
        longest series' length minus one is used, and never less than ``lookback`` (pass
        ``long_lookback=lookback`` for one length).
    horizon : int or None, default=None
        Steps ahead the networks are trained for, and the default of ``predict``. ``None`` picks
        one season (``season_length``), or 8 steps without a season. With
        ``strategy="direct"``, forecasts past ``horizon`` feed the first ``horizon`` forecasts
        back as history.
    strategy : {"direct", "recursive"}, default="direct"
        ``"direct"``: one network emits all ``horizon`` values at once (no error feedback).
        ``"recursive"``: a one-step network is fed its own forecasts.
    normalize : {"last", "window", "none"}, default="window"
        How the level is taken out of each window before the network sees it (RNNs
        extrapolate raw levels badly). ``"last"``: subtract the window's last value, so inputs
        and targets are changes from the last observation: a trend is an offset per step and
        the forecast starts where the data end. ``"window"``: also divide inputs and targets
        by the window's mean absolute step change, so a smooth series (changes of 0.5% a
        step) and a volatile one (30%) give the network inputs of the same size; the loss is
        weighted by that scale, so the objective stays the error on the encoded values
        (relative errors for log-scaled series). Every other network of the ensemble (the
        second, fourth, ...) also reads the log of that scale as an input channel: it tells
        a smooth series from a volatile one. In our runs that helped on some sets of series
        and hurt on others, and the ensemble of both kinds did better than choosing a kind
        on held-out windows. ``"none"``: feed the scaled levels.
    season_length : int or None, default=None
        Observations per season; ``None`` infers it from the frequency (see
        :func:`season_length_for`).
    scaler : {"auto", "log", "standard", "minmax", "none"}, default="auto"
        Scaling of each series before its windows are cut. ``"auto"``: the log of a strictly
        positive series (changes become relative, so series of any level share one model and
        errors are on the scale that sMAPE and MASE judge), a standard score otherwise.
        ``"log"`` insists on positive values. The exogenous columns get a standard score
        (``"none"``: no scaling; ``"minmax"``: to [0, 1]).
    deseasonalize : bool, default=True
        Take classical seasonal indices out of each series whose autocorrelation at the season
        lag is significant (90%, the Theta method's test; series of at least three seasons),
        and put them back on the forecasts.
    patch_size : int or None, default=None
        Consecutive steps the network reads as one input step (segments, as in SegRNN), so
        the recurrence over a long lookback runs fewer, richer steps: faster, and the
        gradient travels fewer steps. ``None``: ``round(lookback / 12)``, at least 1, for
        each network's lookback.
    combine : {"auto", "none", "theta"}, default="auto"
        ``"theta"``: average the networks' forecast (on the encoded scale: a geometric mean
        for log-scaled series) with the standard Theta method's forecast of each
        deseasonalised series (``tsrnn._forecast.theta``); ``"none"``: the networks alone.
        ``"auto"``: whichever of the two errs less on the calibration windows (mean absolute
        error in units of each series' step change); without intervals (``interval=None``)
        the networks alone. Combining forecasts of different kinds is the M3/M4 lesson; the
        intervals are calibrated on what is chosen.
    hist_exog : list of str or None, default=None
        Columns of ``X`` observed in the history only: read over the lookback, never asked
        of ``X_future`` (0 in the steps ahead, in training too).
    calendar : {"auto"} or None, default=None
        ``"auto"``: cyclic calendar inputs chosen from the frequency (hour, weekday, day of
        the year, week, month or quarter; none for yearly data), needing no future file.
    holidays : str or None, default=None
        A country code of the ``holidays`` package (``"US"``, ``"DE"``, ``"US-CA"``): an input
        that is 1 on its public holidays, from the stamps (daily or finer data; install
        ``tsrnn[holidays]``).
    missing : {"mask", "raise"}, default="mask"
        NaN targets and missing timestamps (gaps, inserted as NaN): ``"mask"`` keeps them out
        of the inputs' observed channel and the loss (scaling, season and Theta read their
        interpolation); ``"raise"`` refuses them.
    interval : float or None, default=0.9
        Nominal coverage of the ``lower`` and ``upper`` columns of ``predict``, in ``(0, 1)``;
        any other level or quantile can be asked of ``predict`` too. ``None`` skips the
        calibration fit (half the time) and returns NaN bounds.
    calibration_size : int or None, default=None
        Held-out windows per series for the intervals (their origins are the last
        ``calibration_size`` ones whose every step is observed). ``None`` aims at about 200
        windows in all: one per series when there are 200 series or more, up to a fifth of a
        single series' length.
    n_models : int, default=4
        Networks trained from different seeds whose forecasts are averaged. With
        ``normalize="window"`` every other one also reads its windows' scale, and the third
        and fourth of every four read ``long_lookback`` steps.
    cell, hidden_size, num_layers, dropout, optimizer, learning_rate, weight_decay, batch_size, \
clip_grad_norm, device, verbose
        Passed to each :class:`~tsrnn.RNNRegressor` (see there) and validated when ``fit``
        starts. A batch draws ``batch_size`` windows (at most a quarter of all windows, at
        least 32): a series uniformly, then one of its origins uniformly, so every series
        weighs the same, as in the mean of a metric.
    loss : {"mae", "mse", "huber"}, default="mae"
        Training loss on the normalised targets. MAE on log changes tracks the relative errors
        (sMAPE, MASE) forecasts are judged by and is robust to outliers and level shifts.
    n_threads : int or None, default=1
        Torch threads per network. Small recurrent networks gain nothing from a second thread
        and OpenMP threads spin-wait on a busy machine; ``None`` leaves torch's setting alone.
    steps : int or None, default=None
        Gradient steps per network. ``None``: about 50 passes over the windows, at least 300
        and at most 2,000 steps, so the cost stops growing with the number of series.
    epochs : int or None, default=None
        If given (and ``steps`` is not), ``epochs`` passes over the windows instead.
    random_state : int, RandomState instance or None, default=None
        Seeds every network; the same seed and data give the same forecast.

    Attributes
    ----------
    freq_ : str or int
        Frequency of the series (offset alias) or integer step of a ``RangeIndex``.
    horizon_, lookback_, long_lookback_, season_length_, patch_size_, batch_size_, steps_ : int
        The values used, after resolving ``None`` defaults (``patch_size_``: the one of
        ``lookback_``).
    network_inputs_ : list of NetworkInput
        What each network of ``models_`` reads: named tuples ``(lookback, patch,
        scale_channel)``, its lookback, patch size and whether it reads its windows' scale.
    series_ids_ : list
        Series ids in order (``[None]`` for a single series).
    scaling_ : SeriesScaling
        Per-series scaling and seasonal indices (``tsrnn._forecast.scaling``).
    x_loc_, x_scale_ : ndarray of shape (n_features,)
        Scaler of the exogenous columns (empty without ``X``).
    feature_names_in_ : ndarray of shape (n_features,)
        Columns the networks read beside the target: ``X``'s, then the static ones, then the
        calendar's (empty without any).
    categories_ : dict of str to list of str
        The values seen in ``fit`` of each categorical column (code ``k + 1`` is value ``k``;
        0 is unknown).
    static_names_ : list of str
        The static covariates' columns (empty without ``static``).
    static_ : ndarray of shape (n_series, n_static)
        Each series' static values (codes for categorical columns), unscaled.
    history_y_, history_observed_ : ndarray of shape (n_series, max(lookback_, long_lookback_))
        Last encoded values of each series and where they were observed: the default
        history for ``predict``.
    history_X_ : ndarray of shape (n_series, max(lookback_, long_lookback_), n_features)
        Last scaled rows of ``X`` of each series.
    last_index_ : list
        Last timestamp (or integer) of each series.
    calibration_ : Ratios or None
        The pooled signed calibration ratios and the weights of each series' unit
        (``tsrnn._forecast.conformal``): the bounds of any level or quantile asked of
        ``predict`` (None without interval).
    calibration_scores_ : ndarray of shape (n_calibration_, horizon_) or None
        Signed errors of the calibration windows in units of each series' bounds (None
        without interval, after a fit on a Dask dataset, or once loaded: files keep the ratios).
    quantiles_ : ndarray of shape (horizon_,)
        Half-width per step of the ``interval`` bounds, in units of each series' bounds
        (NaN without interval).
    coverage_calibration_ : float
        The quantile level used for the pooled calibration ratios.
    n_calibration_ : int
        Held-out windows the intervals were calibrated on (0 without interval).
    models_ : list of RNNRegressor
        The fitted networks, whose forecasts are averaged.
    combine_ : {"none", "theta"}
        The combination used.
    calibration_errors_ : dict of str to float
        Mean scaled error on the calibration windows of the networks alone (``"none"``) and,
        when tried, of the combination (``"theta"``).
    theta_ : Theta or None
        The Theta method's state of each series when combined.

    Examples
    --------
    >>> from tsrnn import RNNForecaster
    >>> from tsrnn.datasets import load
    >>> y = load("airpassengers")
    >>> f = RNNForecaster(horizon=12, steps=20, hidden_size=8, random_state=0).fit(y)
    >>> f.predict().columns.tolist(), len(f.predict())
    (['forecast', 'lower', 'upper'], 12)
    """

    _parameter_constraints: ClassVar[dict] = {
        "lookback": [Interval(Integral, 1, None, closed="left"), None],
        "long_lookback": [Interval(Integral, 1, None, closed="left"), None],
        "horizon": [Interval(Integral, 1, None, closed="left"), None],
        "strategy": [StrOptions({"direct", "recursive"})],
        "normalize": [StrOptions(set(NORMALIZE))],
        "season_length": [Interval(Integral, 1, None, closed="left"), None],
        "scaler": [StrOptions(set(SCALERS))],
        "deseasonalize": ["boolean"],
        "patch_size": [Interval(Integral, 1, None, closed="left"), None],
        "combine": [StrOptions({"auto", "none", "theta"})],
        "missing": [StrOptions({"mask", "raise"})],
        "hist_exog": [list, tuple, None],
        "calendar": [StrOptions({"auto"}), None],
        "holidays": [str, None],
        "interval": [Interval(Real, 0, 1, closed="neither"), None],
        "calibration_size": [Interval(Integral, 1, None, closed="left"), None],
        "n_models": [Interval(Integral, 1, None, closed="left")],
        "steps": [Interval(Integral, 1, None, closed="left"), None],
        "epochs": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        **{name: RNNRegressor._parameter_constraints[name] for name in FORWARDED},
    }

    def __init__(
        self,
        *,
        lookback: int | None = None,
        long_lookback: int | None = None,
        horizon: int | None = None,
        strategy: str = "direct",
        normalize: str = "window",
        season_length: int | None = None,
        scaler: str = "auto",
        deseasonalize: bool = True,
        patch_size: int | None = None,
        combine: str = "auto",
        missing: str = "mask",
        hist_exog: list[str] | None = None,
        calendar: str | None = None,
        holidays: str | None = None,
        interval: float | None = DEFAULT_INTERVAL,
        calibration_size: int | None = None,
        n_models: int = 4,
        cell: str = "lstm",
        hidden_size: int = 64,
        num_layers: int = 1,
        dropout: float = 0.0,
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        steps: int | None = None,
        epochs: int | None = None,
        batch_size: int = 256,
        loss: str = "mae",
        clip_grad_norm: float | None = 1.0,
        device: str = "auto",
        n_threads: int | None = 1,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.lookback = lookback
        self.long_lookback = long_lookback
        self.horizon = horizon
        self.strategy = strategy
        self.normalize = normalize
        self.season_length = season_length
        self.scaler = scaler
        self.deseasonalize = deseasonalize
        self.patch_size = patch_size
        self.combine = combine
        self.missing = missing
        self.hist_exog = hist_exog
        self.calendar = calendar
        self.holidays = holidays
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
        self.steps = steps
        self.epochs = epochs
        self.batch_size = batch_size
        self.loss = loss
        self.clip_grad_norm = clip_grad_norm
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ public API

    def fit(
        self,
        y: pd.Series | pd.DataFrame,
        X: pd.DataFrame | None = None,
        static: pd.DataFrame | None = None,
    ) -> RNNForecaster:
        """Train the networks (and calibrate the intervals) on the series ``y``.

        Parameters
        ----------
        y : Series or one-column DataFrame of shape (n_timesteps,)
            Indexed by a ``DatetimeIndex`` of regular frequency or a ``RangeIndex``; or many
            series in long format: a Series with a ``MultiIndex`` (series id, timestamp), e.g.
            ``df.set_index(["id", "timestamp"])["value"]``: one global network, no window
            across series. Every series needs 2 observations; short ones are padded.
        X : DataFrame of shape (n_timesteps, n_features) or None, default=None
            Exogenous variables on the index of ``y``; ``predict`` then needs the future
            values of those not in ``hist_exog`` (``X_future``). A column of text (or of
            pandas ``category`` dtype) is categorical: the networks read it through a learned
            embedding, and a value not seen in fit reads the unknown one.
        static : DataFrame of shape (n_series, n_static) or None, default=None
            Static covariates of many series, one row per series id (its index), numeric or
            categorical columns (embedded as in ``X``): read beside every step, never asked
            of ``X_future``.

        Returns
        -------
        self : RNNForecaster
        """
        self._check_params()
        y, X, categories, static = fit_inputs(y, X, static, missing=self.missing == "mask")
        X = with_calendar(y, X, y.attrs["freq"], self.calendar == "auto", self.holidays)
        ids, values, xs, last = split_series(y, X)
        lengths = np.array([len(v) for v in values])
        check_observations(ids, values)
        self.freq_ = y.attrs["freq"]
        columns = exog_columns(X, self.hist_exog)
        plan = plan_for(self.get_params(), self.freq_, lengths.max(), int(np.sum(lengths - 1)),
                        columns, categories)  # fmt: skip
        self._set_plan(plan)
        self._set_meta(y, ids, X, last)
        fitted_inputs(self, ids, categories, static)
        if X is not None:
            codes = [c in categories for c in columns]
            self.x_loc_, self.x_scale_ = fit_columns(self.scaler, xs, codes)
            xs = self._covariates().scaled(xs)
        else:
            self.x_loc_ = self.x_scale_ = np.zeros(0)
            xs = None
        seeds = check_random_state(self.random_state).randint(np.iinfo(np.int32).max, size=2)
        found = Calibration.none(self.horizon_, self.combine)  # "auto": calibration picks
        # Every network of the fit (calibration's and the final ones) is one job: in this
        # process they train one after another; on a cluster (tsrnn.parallel) side by side.
        held_out = None
        if self.interval is not None:
            held_out = hold_out(
                plan, values, xs, int(seeds[1]),
                calibration_size=self.calibration_size, interval=self.interval,
            )  # fmt: skip
        self.scaling_, panel, encoded, jobs = prepare(plan, values, xs, int(seeds[0]))
        models = fit_jobs((held_out.jobs if held_out else []) + jobs)
        self.models_ = models[-len(jobs) :]
        if held_out is not None:
            found = calibrate(
                plan, values, xs, held_out, models[: -len(jobs)],
                combine=self.combine, interval=self.interval,
            )  # fmt: skip
        self._set_calibration(found)
        self.theta_ = None
        if self.combine_ == "theta":
            self.theta_ = fit_theta(levels(encoded, self.scaling_.log))
        keep_history(self, panel, plan.span)
        return self

    def predict(
        self,
        horizon: int | None = None,
        X_future: pd.DataFrame | None = None,
        y: pd.Series | pd.DataFrame | None = None,
        X: pd.DataFrame | None = None,
        *,
        static: pd.DataFrame | None = None,
        level: list[float] | None = None,
        quantiles: list[float] | None = None,
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
            Newer history to forecast from instead of the one seen in ``fit`` (same
            frequency; no refit). At least 2 steps per series. A series whose id ``fit`` never
            saw is scaled (and deseasonalised) on its own history and forecast by the same
            networks, with bounds from the pooled calibration.
        X : DataFrame or None, default=None
            Exogenous values on the index of ``y``; required with ``y`` when ``fit`` had ``X``.
        static : DataFrame or None, default=None
            Static covariates of the series of ``y`` that ``fit`` never saw, one row per id
            (those it saw keep their fitted rows); a category not seen in fit reads the
            unknown embedding.
        level : list of float or None, default=None
            Central intervals to add, in percent: ``[80, 95]`` adds ``lo-80``, ``hi-80``,
            ``lo-95``, ``hi-95`` (Nixtla's names), read from the calibration without a refit.
        quantiles : list of float or None, default=None
            Quantiles to add, in (0, 1): ``[0.1, 0.5, 0.9]`` adds ``q-0.1``, ``q-0.5``,
            ``q-0.9``. ``q-0.1`` equals ``lo-80``; quantiles never cross.

        Returns
        -------
        DataFrame of shape (horizon, n_columns) or (n_series * horizon, n_columns)
            Columns ``forecast`` (the mean), ``lower``, ``upper`` (the ``interval`` bounds),
            then those of ``level`` and ``quantiles``, indexed by the future timestamps (the
            series' frequency continued), or by a ``MultiIndex`` (id, timestamp) for many
            series. Bounds of a log-scaled series are multiplicative (above 0); a series that
            was never negative gets no negative value.
        """
        self._check_fitted()
        horizon = check_positive_int(self.horizon_ if horizon is None else horizon, "horizon")
        wanted = probabilities(self.interval, level, quantiles)
        y, X, table = predict_inputs(self, y, X, static)
        if self.series_ids_ is None:  # fitted on a dataset of a Dask cluster: no series kept
            return self._predict_histories(horizon, X_future, y, X, wanted, table)
        if y is not None and self.multi_ and isinstance(y.index, pd.MultiIndex):
            ids = y.index.get_level_values(0)
            new = ~ids.isin(pd.Index(pd.Series(self.series_ids_, dtype=object)))
            if new.any():  # never seen in fit: scaled and forecast from their own history
                frames = [self._predict_histories(horizon, X_future, y[new], rows_of(X, new),
                                                  wanted, table)]  # fmt: skip
                if not new.all():
                    frames.append(self._predict_known(horizon, X_future, y[~new],
                                                      rows_of(X, ~new), wanted))  # fmt: skip
                return pd.concat(frames).loc[pd.Index(pd.unique(ids), dtype=object)]
        return self._predict_known(horizon, X_future, y, X, wanted)

    def _predict_known(self, horizon, X_future, y, X, wanted) -> pd.DataFrame:
        """Forecast the series seen in fit, from their fitted or newer history."""
        history = known_history(self, y, X, None if y is None else self._newer(y, X))
        rows = history.rows
        keys = [self.series_ids_[r] for r in rows]
        future_X = self._covariates().future(
            X_future, horizon, keys, history.last, self.freq_, self.multi_,
            static_of(self, keys, None),
        )  # fmt: skip
        plan = self._plan()
        mean = ensemble_forecast(
            self.models_, self.network_inputs_, history.past, history.observed, history.past_X,
            future_X, horizon=horizon, out=plan.out, normalize=self.normalize,
        )  # fmt: skip
        mean = with_theta(mean, history.theta, self.scaling_.log[rows])
        columns = decoded(self._fitted(), mean, self.scaling_, rows, history.shifts, wanted)
        result = Forecast(columns, future_stamps(history.last, self.freq_, horizon))
        return forecast_frame(
            keys if self.multi_ else None, result, freq=self.freq_, index_names=self.index_names_
        )

    def input_columns(self) -> InputColumns:
        """The columns the fitted model reads beside the target, by role.

        Returns
        -------
        InputColumns
            Named tuple of lists of column names: ``exog`` (the columns of ``X``, past-only
            ones included), ``hist_exog`` (those read over the history only), ``future``
            (those ``X_future`` must hold), ``static`` (one value per series) and
            ``calendar`` (made from the stamps: never given).

        Examples
        --------
        >>> from tsrnn import RNNForecaster
        >>> from tsrnn.datasets import load
        >>> f = RNNForecaster(calendar="auto", steps=2, n_models=1, interval=None)
        >>> f.fit(load("airpassengers")).input_columns().calendar
        ['calendar:month_sin', 'calendar:month_cos']
        """
        self._check_fitted()
        return InputColumns.of(self._covariates())

    # ------------------------------------------------------------------ persistence hooks

    def _to_state(self) -> tuple[dict, dict[str, np.ndarray], dict[str, RNNRegressor]]:
        """What a fit learned, as metadata, arrays and regressors (:mod:`tsrnn._forecast.state`)."""
        self._check_fitted()
        return forecaster_state(self)

    @classmethod
    def _from_state(
        cls,
        params: dict,
        meta: dict,
        arrays: dict[str, np.ndarray],
        regressors: dict[str, RNNRegressor],
    ) -> RNNForecaster:
        """Rebuild a fitted forecaster from :meth:`_to_state`'s pieces and its ``get_params()``."""
        model = cls(**params)
        for name, value in fitted_attributes(meta, arrays, regressors).items():
            setattr(model, name, value)
        return model

    # ------------------------------------------------------------------ internals

    def _check_params(self) -> None:
        check_params(self)

    def _check_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise NotFittedError(
                "This RNNForecaster instance is not fitted yet: call 'fit' with a series "
                "before 'predict'."
            )

    def _set_meta(self, y: pd.Series, ids: list, X: pd.DataFrame | None, last: list) -> None:
        self.multi_ = isinstance(y.index, pd.MultiIndex)
        self.series_ids_ = list(ids)
        self.index_names_ = list(y.index.names)
        self.name_ = None if y.name is None else str(y.name)
        self.last_index_ = last
        self.feature_names_in_ = np.asarray(
            [] if X is None else [str(c) for c in X.columns], dtype=object
        )

    def _set_plan(self, plan: Plan) -> None:
        """The sizes ``fit`` resolved, as fitted attributes."""
        self.season_length_, self.horizon_ = plan.season_length, plan.horizon
        self.lookback_, self.long_lookback_ = plan.lookback, plan.long_lookback
        self.patch_size_, self.network_inputs_ = plan.patch_size, list(plan.networks)
        self.batch_size_, self.steps_ = plan.batch, plan.steps

    def _plan(self) -> Plan:
        """The fitted settings the engine works with (:mod:`tsrnn._forecast`)."""
        return fitted_plan(self)

    def _set_calibration(self, found: Calibration) -> None:
        """What the calibration gave, as fitted attributes."""
        self.calibration_, self.calibration_scores_ = found.ratios, found.scores
        self.quantiles_, self.coverage_calibration_ = found.quantiles, found.coverage
        self.n_calibration_, self.calibration_errors_ = found.n, found.errors
        self.combine_ = found.combine

    def _newer(self, y, X) -> tuple[list, list, list | None, list]:
        return newer_history(
            y, X, freq=self.freq_, multi=self.multi_, covariates=self._covariates()
        )

    def _covariates(self) -> Covariates:
        known = known_columns(self.feature_names_in_, self.hist_exog)
        return Covariates(self.feature_names_in_, self.x_loc_, self.x_scale_, known,
                          self.categories_, self.static_names_)  # fmt: skip

    def _predict_histories(self, horizon: int, X_future, y, X, wanted, table) -> pd.DataFrame:
        """Forecast ``y``'s series from their own history (:mod:`tsrnn._forecast.predict`)."""
        if y is None:
            raise DataError(
                "This RNNForecaster was fitted on a dataset of a Dask cluster and keeps no "
                "series: pass their history (predict(y=...), or --data in the CLI), or "
                "forecast the dataset with tsrnn.parallel.forecast_dataset."
            )
        ids, values, xs, last = self._newer(y, X)
        future_X = self._covariates().future(X_future, horizon, ids, last, self.freq_, self.multi_,
                                             static_of(self, ids, table))  # fmt: skip
        borrowed = category_seasons(self, ids, [len(v) for v in values], last, table)
        result = forecast_histories(
            self._fitted(), values, xs, last, future_X, horizon, wanted, ids, borrowed
        )
        return forecast_frame(
            ids if self.multi_ else None, result, freq=self.freq_, index_names=self.index_names_
        )

    def _fitted(self) -> Fitted:
        """What every series' forecast needs from this fit (:mod:`tsrnn._forecast.predict`)."""
        return Fitted(
            self._plan(), self.models_, getattr(self, "calibration_", None), self.quantiles_,
            self.interval, self.combine_, self.freq_, self._covariates(),
        )  # fmt: skip
