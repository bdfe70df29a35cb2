"""A fitted :class:`~tsrnn.RNNForecaster` as plain pieces for its model file, and back.

:func:`forecaster_state` turns what a fit learned into JSON-able metadata, numpy arrays and
the fitted :class:`~tsrnn.RNNRegressor` networks; :mod:`tsrnn.persist` writes them as
safetensors + a JSON header, and :func:`fitted_attributes` gives back the fitted attributes a
forecaster built from the saved parameters takes. Nothing here unpickles: every value is a
number, a string, a list or an array.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..estimator import RNNRegressor
from .conformal import Ratios
from .plan import NetworkInput, n_channels
from .scaling import SeriesScaling
from .theta import Theta

__all__ = ["fitted_attributes", "forecaster_state"]


def forecaster_state(model: Any) -> tuple[dict, dict[str, np.ndarray], dict[str, RNNRegressor]]:
    """Everything a fitted forecaster learned, as JSON-able metadata, arrays and regressors.

    Parameters
    ----------
    model : RNNForecaster
        A fitted forecaster (its fitted attributes are read by name).

    Returns
    -------
    meta : dict
        Frequency, resolved sizes, what each network reads (``network_inputs``: lookback,
        patch, scale channel), series ids, last timestamps (ISO strings or ints), index and
        column names, scaler numbers, conformal quantiles. A model fitted on a dataset of a
        Dask cluster keeps no series: ``series_ids`` and ``last_index`` are None and there are
        no arrays.
    arrays : dict of str to ndarray
        The per-series scaling (``scaling_log`` (n_series,), ``scaling_loc``,
        ``scaling_scale``, ``scaling_spread``, ``scaling_season`` (n_series, m)), the history
        (``history_y``, ``history_observed`` (n_series, span), ``history_X``
        (n_series, span, n_features)), span the longest lookback, and Theta's state
        (``theta_level``, ... (n_series,)) when the fit combines with it.
    regressors : dict of str to RNNRegressor
        ``"model_0"``, ``"model_1"``, ... the fitted networks.
    """
    keeps_none = model.series_ids_ is None  # fitted on a dataset of a Dask cluster
    meta = {
        "freq": model.freq_,
        "season_length": model.season_length_,
        "horizon": model.horizon_,
        "lookback": model.lookback_,
        "long_lookback": model.long_lookback_,
        "patch_size": model.patch_size_,
        "network_inputs": [[int(lb), int(p), bool(s)] for lb, p, s in model.network_inputs_],
        "steps": model.steps_,
        "batch_size": model.batch_size_,
        "multi": model.multi_,
        "series_ids": None if keeps_none else [_jsonable(i) for i in model.series_ids_],
        "last_index": None if keeps_none else [_jsonable(t) for t in model.last_index_],
        "index_names": list(model.index_names_),
        "name": model.name_,
        "feature_names": [str(c) for c in model.feature_names_in_],
        "x_loc": model.x_loc_.tolist(),
        "x_scale": model.x_scale_.tolist(),
        "quantiles": [None if np.isnan(q) else float(q) for q in model.quantiles_],
        "coverage_calibration": (
            None if np.isnan(model.coverage_calibration_) else model.coverage_calibration_
        ),
        "n_calibration": model.n_calibration_,
        "combine": model.combine_,
        "calibration_errors": model.calibration_errors_,
        "categories": {name: list(values) for name, values in model.categories_.items()},
        "static_names": list(model.static_names_),
    }
    regressors = {f"model_{k}": m for k, m in enumerate(model.models_)}
    ratios = getattr(model, "calibration_", None)
    calibration = {}
    if ratios is not None:
        meta.update(calibration_n=int(ratios.n), calibration_symmetric=bool(ratios.symmetric))
        calibration = {"calibration_values": ratios.values, "calibration_scale": ratios.scale,
                       "calibration_ranks": ratios.ranks.astype(np.int64)}  # fmt: skip
        if ratios.unit is not None:
            calibration["calibration_unit"] = np.asarray(ratios.unit, dtype=np.float64)
    if keeps_none:
        return meta, calibration, regressors
    s = model.scaling_
    arrays = {
        "scaling_log": s.log.astype(np.uint8),
        "scaling_loc": s.loc,
        "scaling_scale": s.scale,
        "scaling_season": s.season,
        "scaling_spread": s.spread,
        "scaling_floor": s.floor,
        **({} if s.noise is None else {"scaling_noise": s.noise, "scaling_alpha": s.alpha}),
        "history_y": model.history_y_,
        "history_observed": model.history_observed_,
        "history_X": model.history_X_,
        "static": np.asarray(model.static_, dtype=np.float64),
    }
    arrays.update(calibration)
    if model.theta_ is not None:
        t = model.theta_
        arrays.update(theta_level=t.level, theta_slope=t.slope, theta_alpha=t.alpha,
                      theta_length=t.length)  # fmt: skip
    return meta, arrays, regressors


def fitted_attributes(
    meta: dict,
    arrays: dict[str, np.ndarray],
    regressors: dict[str, RNNRegressor],
) -> dict[str, Any]:
    """The fitted attributes of a forecaster, from the pieces of its model file.

    Parameters
    ----------
    meta, arrays, regressors
        As returned by :func:`forecaster_state` (a format 1 file has no ``network_inputs``:
        one lookback, and each network's kind is told by its input width).

    Returns
    -------
    dict of str to object
        Attribute name (``freq_``, ``models_``, ...) -> value, for
        ``RNNForecaster(**saved_params)`` to take.
    """
    datetime = not isinstance(meta["freq"], int)
    models = [regressors[f"model_{k}"] for k in range(len(regressors))]
    lookback, patch = int(meta["lookback"]), int(meta["patch_size"])
    if "network_inputs" in meta:
        inputs = meta["network_inputs"]
    else:  # format 1: one lookback; a network's kind is told by its input width
        wide = n_channels(len(meta["feature_names"]), True, patch)
        inputs = [[lookback, patch, m.n_channels_in_ == wide] for m in models]
    cov = meta["coverage_calibration"]
    per_series = dict.fromkeys(
        ("series_ids_", "last_index_", "scaling_", "history_y_", "history_observed_",
         "history_X_", "theta_"),
    )  # fmt: skip
    per_series["static_"] = np.zeros((0, 0))
    if meta["series_ids"] is not None:
        per_series = _per_series(meta, arrays, datetime)
    return {
        "freq_": meta["freq"],
        "season_length_": int(meta["season_length"]),
        "horizon_": int(meta["horizon"]),
        "lookback_": lookback,
        "long_lookback_": int(meta.get("long_lookback", lookback)),
        "patch_size_": patch,
        "network_inputs_": [NetworkInput(int(lb), int(p), bool(s)) for lb, p, s in inputs],
        "steps_": int(meta["steps"]),
        "batch_size_": int(meta["batch_size"]),
        "multi_": bool(meta["multi"]),
        "index_names_": list(meta["index_names"]),
        "name_": meta["name"],
        "feature_names_in_": np.asarray(meta["feature_names"], dtype=object),
        "x_loc_": np.asarray(meta["x_loc"], dtype=np.float64),
        "x_scale_": np.asarray(meta["x_scale"], dtype=np.float64),
        "quantiles_": np.asarray(
            [np.nan if q is None else q for q in meta["quantiles"]], dtype=np.float64
        ),
        "coverage_calibration_": float("nan") if cov is None else float(cov),
        "n_calibration_": int(meta["n_calibration"]),
        "combine_": str(meta["combine"]),
        "calibration_errors_": dict(meta["calibration_errors"]),
        "models_": models,
        "calibration_": _ratios(meta, arrays),
        "calibration_scores_": None,  # not saved: the ratios give every bound
        "categories_": {
            str(k): [str(v) for v in vs] for k, vs in meta.get("categories", {}).items()
        },
        "static_names_": [str(c) for c in meta.get("static_names", [])],
        **per_series,
    }


def _ratios(meta: dict, arrays: dict[str, np.ndarray]) -> Ratios | None:
    """The calibration ratios of a model file of format 4 (None in older files)."""
    if "calibration_values" not in arrays:
        return None
    return Ratios(
        np.asarray(arrays["calibration_values"], dtype=np.float64),
        np.asarray(arrays["calibration_ranks"], dtype=np.int64),
        int(meta["calibration_n"]),
        np.asarray(arrays["calibration_scale"], dtype=np.float64),
        bool(meta["calibration_symmetric"]),
        _optional(arrays, "calibration_unit"),
    )


def _per_series(meta: dict, arrays: dict[str, np.ndarray], datetime: bool) -> dict[str, Any]:
    """The fitted attributes of each series: ids, last stamps, scaling, history, Theta."""
    theta = None
    if "theta_level" in arrays:
        theta = Theta(
            *(np.asarray(arrays[f"theta_{n}"], dtype=np.float64)
              for n in ("level", "slope", "alpha", "length"))
        )  # fmt: skip
    return {
        "series_ids_": list(meta["series_ids"]),
        "last_index_": [pd.Timestamp(t) if datetime else int(t) for t in meta["last_index"]],
        "scaling_": SeriesScaling(
            log=np.asarray(arrays["scaling_log"]).astype(bool),
            loc=np.asarray(arrays["scaling_loc"], dtype=np.float64),
            scale=np.asarray(arrays["scaling_scale"], dtype=np.float64),
            season=np.asarray(arrays["scaling_season"], dtype=np.float64),
            spread=np.asarray(arrays["scaling_spread"], dtype=np.float64),
            floor=_optional(arrays, "scaling_floor"),  # format 2: no floor
            noise=_optional(arrays, "scaling_noise"),  # format 3 and older: the spread
            alpha=_optional(arrays, "scaling_alpha"),
        ),
        "history_y_": np.asarray(arrays["history_y"], dtype=np.float64),
        "history_observed_": np.asarray(arrays["history_observed"], dtype=np.float64),
        "history_X_": np.asarray(arrays["history_X"], dtype=np.float64),
        "static_": np.asarray(
            arrays.get("static", np.zeros((len(meta["series_ids"]), 0))), dtype=np.float64
        ),
        "theta_": theta,
    }


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
