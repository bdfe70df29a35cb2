"""The split-conformal calibration of a forecaster fit: held-out windows and their scores.

:func:`hold_out` cuts every series short of its last windows and prepares the calibration
fit (the same plan, other seeds); once its networks are trained, :func:`calibrate` forecasts
the held-out windows, picks the combination with Theta that errs less on them, and pools their
scores into one conformal quantile per step (:func:`tsrnn._forecast.conformal.pooled_quantiles`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import DataError
from ..estimator import RNNRegressor
from .conformal import pooled_quantiles
from .encoding import Panel, SeriesScaling
from .ensemble import ensemble_forecast, levels, with_theta
from .jobs import PanelJob, prepare
from .plan import Plan
from .theta import fit_theta, theta_at

__all__ = ["MIN_OBSERVATIONS", "Calibration", "HeldOut", "calibrate", "hold_out"]

#: Fewest observations of a series a forecast (and a calibration fit) needs.
MIN_OBSERVATIONS = 2
#: Default calibration: about this many held-out windows in all, one per series at least.
CALIBRATION_WINDOWS = 200


@dataclass
class HeldOut:
    """The calibration fit: kept series, their cuts and window counts, scaling, encoded
    training parts and network jobs.

    Attributes
    ----------
    keep : ndarray of shape (n_kept,)
        Series long enough to hold a window out.
    cut : ndarray of shape (n_kept,)
        Values of each kept series the calibration fit sees.
    counts : ndarray of shape (n_kept,)
        Held-out windows of each kept series.
    scaling : SeriesScaling
        Of the kept series' first ``cut`` values.
    encoded : list of ndarray
        Those values, encoded.
    jobs : list of PanelJob
    """

    keep: np.ndarray
    cut: np.ndarray
    counts: np.ndarray
    scaling: SeriesScaling
    encoded: list
    jobs: list[PanelJob]


@dataclass
class Calibration:
    """What the calibration windows gave.

    Attributes
    ----------
    quantiles : ndarray of shape (horizon,)
        Conformal half-width per step, in units of each series' spread.
    coverage : float
        The quantile level used.
    n : int
        Windows calibrated on.
    errors : dict of str to float
        Mean scaled error of the networks alone (``"none"``) and, when tried, combined with
        Theta (``"theta"``).
    combine : {"none", "theta"}
        The combination chosen.
    """

    quantiles: np.ndarray
    coverage: float
    n: int
    errors: dict[str, float]
    combine: str

    @classmethod
    def none(cls, horizon: int, combine: str) -> Calibration:
        """No calibration (``interval=None``): NaN quantiles, the networks alone unless
        ``combine="theta"``."""
        chosen = "theta" if combine == "theta" else "none"
        return cls(np.full(horizon, np.nan), float("nan"), 0, {}, chosen)


def hold_out(
    plan: Plan,
    values: list,
    xs: list | None,
    seed: int,
    *,
    calibration_size: int | None,
    interval: float,
) -> HeldOut:
    """The calibration fit's data: every series without its last windows, and its jobs.

    Parameters
    ----------
    plan : Plan
    values : list of ndarray of shape (n_k,)
    xs : list of ndarray of shape (n_k, n_feat) or None
    seed : int
    calibration_size : int or None
        Held-out windows per series; None: about 200 in all, at most a fifth of a series.
    interval : float
        The nominal coverage (for the message when no series is long enough).

    Returns
    -------
    HeldOut

    Raises
    ------
    DataError
        If no series is long enough to hold out one window.
    """
    h = plan.horizon
    lengths = np.array([len(v) for v in values])
    size = calibration_size
    if size is None:  # about 200 windows in all, at most a fifth of a series
        size = max(1, min(math.ceil(CALIBRATION_WINDOWS / len(values)), int(lengths.max()) // 5))
    # Series k holds out its last h + c_k - 1 values: c_k origins with every step observed.
    counts = np.clip(lengths - h - MIN_OBSERVATIONS + 1, 0, size)
    keep = np.flatnonzero(counts > 0)
    if not len(keep):
        raise DataError(
            f"No series is long enough to hold out a {h}-step window for the "
            f"{interval:.0%} intervals (that needs {h + MIN_OBSERVATIONS} values): "
            "pass longer series, a smaller horizon, or interval=None."
        )
    cut = lengths[keep] - h - counts[keep] + 1
    train_values = [values[k][:c] for k, c in zip(keep, cut, strict=True)]
    train_xs = None if xs is None else [xs[k][:c] for k, c in zip(keep, cut, strict=True)]
    # Each series is scaled as the final fit will scale it: a series positive up to its
    # cut but not after is not log-scaled (its held-out values <= 0 would have no log).
    positive = np.array([bool(np.all(values[k] > 0)) for k in keep])
    scaling, _, encoded, jobs = prepare(plan, train_values, train_xs, seed, positive)
    return HeldOut(keep, cut, counts[keep], scaling, encoded, jobs)


def calibrate(
    plan: Plan,
    values: list,
    xs: list | None,
    held: HeldOut,
    models: list[RNNRegressor],
    *,
    combine: str,
    interval: float,
) -> Calibration:
    """Forecast the held-out windows; pick the combination; conformal quantiles per step.

    Parameters
    ----------
    plan : Plan
    values, xs
        The whole series (and exogenous columns), as given to :func:`hold_out`.
    held : HeldOut
    models : list of RNNRegressor
        The calibration fit's networks, in the order of ``plan.networks``.
    combine : {"auto", "none", "theta"}
        The forecaster's parameter.
    interval : float

    Returns
    -------
    Calibration
    """
    h = plan.horizon
    lengths = np.array([len(v) for v in values])
    keep, cut, counts, scaling = held.keep, held.cut, held.counts, held.scaling
    theta = None
    if combine in ("auto", "theta"):
        theta = fit_theta(levels(held.encoded, scaling.log))
    # Encode the whole held-out part with the calibration scaling (season phases continue).
    sub_rows = np.arange(len(keep))
    full = [values[k] for k in keep]
    shifts = lengths[keep] - cut  # the full series ends this many steps after the cut
    encoded = scaling.encode(full, sub_rows, shifts)
    panel = Panel(encoded, None if xs is None else [xs[k] for k in keep])
    series = torch.from_numpy(np.repeat(sub_rows, counts))
    offsets = np.concatenate([np.arange(c) for c in counts])
    origins = torch.from_numpy(np.repeat(cut, counts) + offsets)
    past, observed, past_X, future_X = panel.past(series, origins, plan.span, h)
    alone = ensemble_forecast(
        models, plan.networks, past, observed, past_X, future_X,
        horizon=h, out=plan.out, normalize=plan.normalize,
    )  # fmt: skip
    actual, weights = panel.ahead(series, origins, h)
    spread = scaling.spread[series.numpy()][:, None]
    complete = weights.numpy().all(axis=1)

    def scores_of(pred: np.ndarray) -> np.ndarray:  # (n_windows, h), in units of spread
        return (np.abs(actual.numpy() - pred) / spread)[complete]

    scores = scores_of(alone)
    chosen = "theta" if combine == "theta" else "none"
    errors = {"none": float(scores.mean()) if len(scores) else np.nan}
    if theta is not None:
        at = [cut[k] + np.arange(counts[k]) for k in range(len(keep))]
        states = theta_at(levels(encoded, scaling.log), theta, at)
        combined = scores_of(with_theta(alone, states, scaling.log[series.numpy()]))
        errors["theta"] = float(combined.mean()) if len(combined) else np.nan
        if combine == "theta" or errors["theta"] < errors["none"]:
            chosen, scores = "theta", combined
    quantiles, coverage = pooled_quantiles(scores, interval)
    return Calibration(quantiles, coverage, len(scores), errors, chosen)
