"""A fit (:class:`~tsrnn._forecast.fitted.Fitted`) as plain pieces for its model file, and back.

:func:`forecaster_state` turns what a fit learned into JSON-able metadata, numpy arrays and
the fitted :class:`~tsrnn.RNNRegressor` networks; :mod:`tsrnn.persist` writes them as
safetensors + a JSON header, and :func:`fitted_from_state` gives back the :class:`Fitted` a
forecaster built from the saved parameters adopts. Nothing here unpickles: every value is a
number, a string, a list or an array. The layout of the pieces is the model file's: files of
every format (:data:`tsrnn.persist.FORMAT_VERSION` and older) read back as they were written.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..estimator import RNNRegressor
from .calibration import Calibration
from .conformal import Ratios
from .covariates import Covariates
from .fitted import Fitted, KeptSeries
from .plan import FORWARDED, NetworkInput, Plan, coded_columns, known_columns, n_channels
from .scaling import SeriesScaling
from .theta import Theta

__all__ = ["FORMAT_VERSION", "fitted_from_state", "forecaster_state"]

#: Version of the layout of these pieces, which :mod:`tsrnn.persist` writes into model files;
#: :func:`fitted_from_state` reads this one and older.
#: 5: categorical inputs (an embedding table per categorical column, the vocabularies) and
#: static covariates (each series' row), and a ``categorical`` parameter of every network.
#: 4: the calibration ratios of any level and quantile, and each series' unit of its bounds
#: (older releases would read the ratios in other units, so they refuse such files). 3: a
#: forecaster may keep no series (fitted on a dataset of a Dask cluster). 2: what each network
#: reads. 1: one lookback.
FORMAT_VERSION = 5


def forecaster_state(
    fitted: Fitted,
) -> tuple[dict, dict[str, np.ndarray], dict[str, RNNRegressor]]:
    """Everything a fit learned, as JSON-able metadata, arrays and regressors.

    Parameters
    ----------
    fitted : Fitted

    Returns
    -------
    meta : dict
        Frequency, resolved sizes, what each network reads (``network_inputs``: lookback,
        patch, scale channel), series ids, last timestamps (ISO strings or ints), index and
        column names, scaler numbers, the ``interval`` half-widths (``quantiles``). A fit on
        a dataset of a Dask cluster keeps no series: ``series_ids`` and ``last_index`` are
        None and there are no per-series arrays.
    arrays : dict of str to ndarray
        The calibration ratios, the per-series scaling (``scaling_log`` (n_series,),
        ``scaling_loc``, ``scaling_scale``, ``scaling_spread``, ``scaling_season``
        (n_series, m)), the history (``history_y``, ``history_observed`` (n_series, span),
        ``history_X`` (n_series, span, n_features)), span the longest lookback, the static
        rows, and Theta's state (``theta_level``, ... (n_series,)) when the fit combines
        with it.
    regressors : dict of str to RNNRegressor
        ``"model_0"``, ``"model_1"``, ... the fitted networks.
    """
    plan, calibration = fitted.plan, fitted.calibration
    covariates, kept = fitted.covariates, fitted.series
    coverage = calibration.coverage
    meta = {
        "freq": fitted.freq,
        "season_length": plan.season_length,
        "horizon": plan.horizon,
        "lookback": plan.lookback,
        "long_lookback": plan.long_lookback,
        "patch_size": plan.patch_size,
        "network_inputs": [[int(lb), int(p), bool(s)] for lb, p, s in plan.networks],
        "steps": plan.steps,
        "batch_size": plan.batch,
        "multi": fitted.multi,
        "series_ids": None if kept is None else [_jsonable(i) for i in kept.ids],
        "last_index": None if kept is None else [_jsonable(t) for t in kept.last],
        "index_names": list(fitted.index_names),
        "name": fitted.name,
        "feature_names": list(covariates.names),
        "x_loc": np.asarray(covariates.loc).tolist(),
        "x_scale": np.asarray(covariates.scale).tolist(),
        "quantiles": [None if np.isnan(q) else float(q) for q in calibration.half_widths],
        "coverage_calibration": None if np.isnan(coverage) else coverage,
        "n_calibration": calibration.n,
        "combine": calibration.combine,
        "calibration_errors": calibration.errors,
        "categories": {name: list(values) for name, values in covariates.categories.items()},
        "static_names": covariates.static_names,
    }
    regressors = {f"model_{k}": m for k, m in enumerate(fitted.models)}
    arrays: dict[str, np.ndarray] = {}
    ratios = calibration.ratios
    if ratios is not None:
        meta.update(calibration_n=int(ratios.n), calibration_symmetric=bool(ratios.symmetric))
        arrays.update(
            calibration_values=ratios.values,
            calibration_scale=ratios.scale,
            calibration_ranks=ratios.ranks.astype(np.int64),
        )
        if ratios.unit is not None:
            arrays["calibration_unit"] = np.asarray(ratios.unit, dtype=np.float64)
    if kept is None:
        return meta, arrays, regressors
    s = kept.scaling
    arrays.update(
        scaling_log=s.log.astype(np.uint8),
        scaling_loc=s.loc,
        scaling_scale=s.scale,
        scaling_season=s.season,
        scaling_spread=s.spread,
        scaling_floor=s.floor,
        **({} if s.noise is None else {"scaling_noise": s.noise, "scaling_alpha": s.alpha}),
        history_y=kept.y,
        history_observed=kept.observed,
        history_X=kept.X,
        static=np.asarray(kept.static, dtype=np.float64),
    )
    if kept.theta is not None:
        t = kept.theta
        arrays.update(
            theta_level=t.level, theta_slope=t.slope, theta_alpha=t.alpha, theta_length=t.length
        )
    return meta, arrays, regressors


def fitted_from_state(
    params: dict,
    meta: dict,
    arrays: dict[str, np.ndarray],
    regressors: dict[str, RNNRegressor],
    *,
    format_version: int = FORMAT_VERSION,
) -> Fitted:
    """The fit of a model file, from its pieces.

    Parameters
    ----------
    params : dict
        The forecaster's saved ``get_params()``.
    meta, arrays, regressors
        As returned by :func:`forecaster_state` (a format 1 file has no ``network_inputs``:
        one lookback, and each network's kind is told by its input width).
    format_version : int, default=FORMAT_VERSION
        The file's format: the ratios of a format 4 file without the unit's weights are in the
        unit 3618c46 wrote them in, those of older files in the spread alone.

    Returns
    -------
    Fitted
    """
    models = [regressors[f"model_{k}"] for k in range(len(regressors))]
    lookback, patch = int(meta["lookback"]), int(meta["patch_size"])
    if "network_inputs" in meta:
        inputs = meta["network_inputs"]
    else:  # format 1: one lookback; a network's kind is told by its input width
        wide = n_channels(len(meta["feature_names"]), True, patch)
        inputs = [[lookback, patch, m.n_channels_in_ == wide] for m in models]
    names = [str(c) for c in meta["feature_names"]]
    categories = {str(k): [str(v) for v in vs] for k, vs in meta.get("categories", {}).items()}
    known = known_columns(names, params.get("hist_exog"))
    horizon = int(meta["horizon"])
    plan = Plan(
        horizon=horizon,
        lookback=lookback,
        long_lookback=int(meta.get("long_lookback", lookback)),
        patch_size=patch,
        out=horizon if params["strategy"] == "direct" else 1,
        normalize=params["normalize"],
        scaler=params["scaler"],
        season_length=int(meta["season_length"]),
        deseasonalize=params["deseasonalize"],
        networks=tuple(NetworkInput(int(lb), int(p), bool(s)) for lb, p, s in inputs),
        batch=int(meta["batch_size"]),
        steps=int(meta["steps"]),
        params={name: params[name] for name in FORWARDED},
        known=known,
        categories=coded_columns(names, categories),
    )
    covariates = Covariates(
        names,
        np.asarray(meta["x_loc"], dtype=np.float64),
        np.asarray(meta["x_scale"], dtype=np.float64),
        known,
        categories,
        [str(c) for c in meta.get("static_names", [])],
    )
    coverage = meta["coverage_calibration"]
    calibration = Calibration(
        ratios=_ratios(meta, arrays, format_version),
        half_widths=np.asarray(
            [np.nan if q is None else q for q in meta["quantiles"]], dtype=np.float64
        ),
        coverage=float("nan") if coverage is None else float(coverage),
        n=int(meta["n_calibration"]),
        errors=dict(meta["calibration_errors"]),
        combine=str(meta["combine"]),
        scores=None,  # not saved: the ratios give every bound
    )
    kept = None
    if meta["series_ids"] is not None:
        kept = _kept(meta, arrays, datetime=not isinstance(meta["freq"], int))
    return Fitted(
        plan=plan,
        models=models,
        calibration=calibration,
        covariates=covariates,
        freq=meta["freq"],
        multi=bool(meta["multi"]),
        index_names=list(meta["index_names"]),
        name=meta["name"],
        series=kept,
    )


#: The unit's weights of a format 4 file written before they were saved (3618c46, where every
#: bound was in its series' exponential-smoothing error, grown with the step).
_FIRST_FORMAT_4_UNIT = (0.0, 1.0, 1.0)


def _ratios(meta: dict, arrays: dict[str, np.ndarray], format_version: int) -> Ratios | None:
    """The calibration ratios of a model file (None in files that keep none)."""
    if "calibration_values" not in arrays:
        return None
    unit = _optional(arrays, "calibration_unit")
    if unit is None and format_version == 4:
        unit = np.array(_FIRST_FORMAT_4_UNIT)
    return Ratios(
        np.asarray(arrays["calibration_values"], dtype=np.float64),
        np.asarray(arrays["calibration_ranks"], dtype=np.int64),
        int(meta["calibration_n"]),
        np.asarray(arrays["calibration_scale"], dtype=np.float64),
        bool(meta["calibration_symmetric"]),
        unit,
    )


def _kept(meta: dict, arrays: dict[str, np.ndarray], datetime: bool) -> KeptSeries:
    """What the fit kept of each series: ids, last stamps, scaling, history, static, Theta."""
    theta = None
    if "theta_level" in arrays:
        theta = Theta(
            *(
                np.asarray(arrays[f"theta_{n}"], dtype=np.float64)
                for n in ("level", "slope", "alpha", "length")
            )
        )
    ids = list(meta["series_ids"])
    return KeptSeries(
        ids=ids,
        last=[pd.Timestamp(t) if datetime else int(t) for t in meta["last_index"]],
        scaling=SeriesScaling(
            log=np.asarray(arrays["scaling_log"]).astype(bool),
            loc=np.asarray(arrays["scaling_loc"], dtype=np.float64),
            scale=np.asarray(arrays["scaling_scale"], dtype=np.float64),
            season=np.asarray(arrays["scaling_season"], dtype=np.float64),
            spread=np.asarray(arrays["scaling_spread"], dtype=np.float64),
            floor=_optional(arrays, "scaling_floor"),  # format 2: no floor
            noise=_optional(arrays, "scaling_noise"),  # format 3 and older: the spread
            alpha=_optional(arrays, "scaling_alpha"),
        ),
        y=np.asarray(arrays["history_y"], dtype=np.float64),
        observed=np.asarray(arrays["history_observed"], dtype=np.float64),
        X=np.asarray(arrays["history_X"], dtype=np.float64),
        static=np.asarray(arrays.get("static", np.zeros((len(ids), 0))), dtype=np.float64),
        theta=theta,
    )


def _optional(arrays: dict, name: str) -> np.ndarray | None:
    return np.asarray(arrays[name], dtype=np.float64) if name in arrays else None


def _jsonable(value):
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value
