"""``RNNForecaster``: dated series in, dated forecasts with prediction intervals out.

One global network learns from the windows of every series. The estimator holds its
parameters and one fitted state, a :class:`~tsrnn._forecast.fitted.Fitted`; the engine of
:mod:`tsrnn._forecast` does the work and never reads the estimator::

    fit(y, X, static) ── _forecast.fit.fit_series ──▶ Fitted ── _adopt ──▶ fitted_ and its views
        inputs checked and coded (inputs) ──▶ each series scaled, its season taken out
        (scaling) ──▶ one Panel of all series, windows drawn by (series, origin) (windows)
        ──▶ the networks, a budget of gradient steps (jobs, steps) ──▶ split-conformal
        calibration on held-out windows (calibration, conformal)
    predict(...) ── _forecast.predict.forecast(fitted_, ...) ──▶ forecasts, season and scale
        put back, bounds from the calibration

A fit on a dataset of a Dask cluster (:func:`tsrnn.parallel.fit_dataset`) builds the same
:class:`~tsrnn._forecast.fitted.Fitted` where the data live, and model files
(:mod:`tsrnn.persist`) write and read it (:mod:`tsrnn._forecast.state`).

Intervals and quantiles are split-conformal: the pipeline is first fitted on every series
without its last ``horizon + calibration_size - 1`` values; its signed errors on them, each
divided by its series' unit at its step (:meth:`SeriesScaling.units`) and a step scale, are
pooled and sorted, and ``predict(level=[80, 95], quantiles=[0.1, 0.9])`` reads any level or
quantile from them without a refit (asymmetric bounds, quantiles that never cross).

Every network of a fit (the calibration ones and the final ones) is a job
(:mod:`tsrnn._train.executor`): they train one after another in this process, or side by
side (or data-parallel) on a Dask cluster inside :func:`tsrnn.train_on_dask`.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions

from ._data.calendar import season_length_for
from ._forecast.covariates import InputColumns
from ._forecast.fit import fit_series
from ._forecast.fitted import Fitted
from ._forecast.inputs import predict_inputs
from ._forecast.plan import FORWARDED
from ._forecast.predict import forecast
from ._forecast.scaling import SCALERS
from ._forecast.state import FORMAT_VERSION, fitted_from_state, forecaster_state
from ._forecast.windows import NORMALIZE
from .errors import NotFittedError, check_params, check_positive_int
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
    fitted_ : Fitted
        Everything the fit learned, in one object (``tsrnn._forecast.fitted``): the other
        attributes are views of it.
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
        without interval, once loaded (files keep the ratios), or after a fit on a Dask
        dataset of more than 20,000 of them, whose ratios are counted where they live).
    half_widths_ : ndarray of shape (horizon_,)
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
    calibration_series_errors_ : Series or None
        The same error of the combination used, per series: its mean over the series'
        calibration windows, indexed by id, largest first (the hardest series first). Every
        series with a window after a fit in memory; the 10 largest after a fit on a Dask
        dataset (the client keeps no per-series state). None for one series, without
        interval, or once loaded (model files do not keep it).
    theta_ : Theta or None
        The Theta method's state of each series when combined.
    timings_ : dict of str to float
        After a fit on a Dask dataset only: seconds of ``"training"`` and ``"calibration"``.

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
        return self._adopt(fit_series(self.get_params(), y, X, static))

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
        fitted = self.fitted_
        y, X, table = predict_inputs(fitted, y, X, static, missing=self.missing == "mask")
        return forecast(fitted, horizon, wanted=wanted, X_future=X_future, y=y, X=X, table=table)

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
        return InputColumns.of(self.fitted_.covariates)

    # ------------------------------------------------------------------ the fitted state

    def _adopt(self, fitted: Fitted) -> RNNForecaster:
        """Take ``fitted`` as this forecaster's fit: ``fitted_`` and the fitted attributes, its
        views (:meth:`Fitted.attributes`). The one door of a fit made in one process, on a
        dataset of a Dask cluster (:func:`tsrnn.parallel.fit_dataset`) or read from a model
        file (:mod:`tsrnn.persist`)."""
        vars(self).update(fitted.attributes())
        return self

    def _to_state(self) -> tuple[dict, dict[str, np.ndarray], dict[str, RNNRegressor]]:
        """What a fit learned, as metadata, arrays and regressors (:mod:`tsrnn._forecast.state`)."""
        self._check_fitted()
        return forecaster_state(self.fitted_)

    @classmethod
    def _from_state(
        cls,
        params: dict,
        meta: dict,
        arrays: dict[str, np.ndarray],
        regressors: dict[str, RNNRegressor],
        format_version: int = FORMAT_VERSION,
    ) -> RNNForecaster:
        """Rebuild a fitted forecaster from :meth:`_to_state`'s pieces and its ``get_params()``,
        as a model file of ``format_version`` holds them."""
        model = cls(**params)
        fitted = fitted_from_state(
            model.get_params(), meta, arrays, regressors, format_version=format_version
        )
        return model._adopt(fitted)

    # ------------------------------------------------------------------ internals

    def _check_params(self) -> None:
        check_params(self)

    def _check_fitted(self) -> None:
        if not hasattr(self, "fitted_"):
            raise NotFittedError(
                "This RNNForecaster instance is not fitted yet: call 'fit' with a series "
                "before 'predict'."
            )
