"""What a forecaster fit learned, in one object that either data path builds and all else reads.

A fit in one process (:func:`tsrnn._forecast.fit.fit_series`) and a fit on a dataset of a Dask
cluster (:func:`tsrnn._dataset.fit.fit_dataset`) each build one :class:`Fitted`; the
forecaster adopts it in one method (``RNNForecaster._adopt``), and prediction
(:mod:`tsrnn._forecast.predict`), the workers' forecasts of their buckets and model files
(:mod:`tsrnn._forecast.state`) read it. As scikit-learn's histogram gradient boosting, whose
grower and predictors never see the estimator, nothing of the engine reads the forecaster:
the forecaster's fitted attributes (``models_``, ``scaling_``, ``horizon_``, ...) are views
of its :class:`Fitted` (:meth:`Fitted.attributes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..estimator import RNNRegressor
from .calibration import Calibration
from .covariates import Covariates
from .plan import Plan
from .scaling import SeriesScaling
from .theta import Theta

__all__ = ["Fitted", "KeptSeries"]


@dataclass
class KeptSeries:
    """What a fit in one process keeps of each series: the default history of ``predict``.

    Attributes
    ----------
    ids : list
        Series ids in order (``[None]`` for a single series).
    last : list
        Last timestamp (or integer) of each series.
    scaling : SeriesScaling
        Per-series scaling and seasonal indices.
    y, observed : ndarray of shape (n_series, span)
        Last encoded values of each series and where they were observed (``span``: the
        longest lookback).
    X : ndarray of shape (n_series, span, n_features)
        Last scaled input rows of each series.
    static : ndarray of shape (n_series, n_static)
        Each series' static values (codes for categorical columns), unscaled.
    theta : Theta or None
        The Theta method's state of each series when combined.
    """

    ids: list
    last: list
    scaling: SeriesScaling
    y: np.ndarray
    observed: np.ndarray
    X: np.ndarray
    static: np.ndarray
    theta: Theta | None = None

    def rows_of(self, ids: list) -> np.ndarray:
        """Row of each of ``ids`` (-1 for an id the fit never saw)."""
        return _index(self.ids).get_indexer(_index(ids))


@dataclass
class Fitted:
    """Everything a forecaster fit learned.

    Attributes
    ----------
    plan : Plan
        The resolved sizes and the networks of the ensemble.
    models : list of RNNRegressor
        The final networks, in the order of ``plan.networks``.
    calibration : Calibration
        What the calibration windows gave: the ratios of any level, the ``interval``
        half-widths, the combination chosen.
    covariates : Covariates
        The input columns (exogenous, static, calendar), their scaling and vocabularies.
    freq : str or int
        Frequency of the series (offset alias) or integer step of a ``RangeIndex``.
    multi : bool
        Fitted on many series (a ``MultiIndex`` (id, timestamp)).
    index_names : list
        Names of the index levels.
    name : str or None
        The target's name.
    series : KeptSeries or None
        What the fit keeps of each series; None after a fit on a dataset of a Dask cluster,
        which keeps no series.
    timings : dict of str to float
        Seconds of the stages of a fit on a dataset (empty otherwise; not saved).
    """

    plan: Plan
    models: list[RNNRegressor]
    calibration: Calibration
    covariates: Covariates
    freq: str | int
    multi: bool
    index_names: list
    name: str | None
    series: KeptSeries | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def attributes(self) -> dict[str, Any]:
        """The forecaster's fitted attributes, as views of this fit (see
        :class:`~tsrnn.RNNForecaster`'s Attributes)."""
        plan, calibration, covariates, kept = (
            self.plan,
            self.calibration,
            self.covariates,
            self.series,
        )
        out = {
            "fitted_": self,
            "freq_": self.freq,
            "season_length_": plan.season_length,
            "horizon_": plan.horizon,
            "lookback_": plan.lookback,
            "long_lookback_": plan.long_lookback,
            "patch_size_": plan.patch_size,
            "network_inputs_": list(plan.networks),
            "batch_size_": plan.batch,
            "steps_": plan.steps,
            "multi_": self.multi,
            "index_names_": list(self.index_names),
            "name_": self.name,
            "feature_names_in_": np.asarray(covariates.names, dtype=object),
            "x_loc_": covariates.loc,
            "x_scale_": covariates.scale,
            "categories_": covariates.categories,
            "static_names_": covariates.static_names,
            "models_": self.models,
            "calibration_": calibration.ratios,
            "calibration_scores_": calibration.scores,
            "half_widths_": calibration.half_widths,
            "coverage_calibration_": calibration.coverage,
            "n_calibration_": calibration.n,
            "calibration_errors_": calibration.errors,
            "calibration_series_errors_": self._series_errors(),
            "combine_": calibration.combine,
            "series_ids_": None if kept is None else kept.ids,
            "last_index_": None if kept is None else kept.last,
            "scaling_": None if kept is None else kept.scaling,
            "history_y_": None if kept is None else kept.y,
            "history_observed_": None if kept is None else kept.observed,
            "history_X_": None if kept is None else kept.X,
            "static_": np.zeros((0, len(covariates.static_names))) if kept is None else kept.static,
            "theta_": None if kept is None else kept.theta,
        }
        if self.timings:
            out["timings_"] = dict(self.timings)
        return out

    def _series_errors(self) -> pd.Series | None:
        """The calibration's errors per series, their index named as the ids (None for one
        series)."""
        errors = self.calibration.series_errors
        if errors is None or not self.multi:
            return None
        return errors.rename_axis(self.index_names[0])


def _index(ids: list) -> pd.Index:
    return pd.Index(pd.Series(ids, dtype=object))
