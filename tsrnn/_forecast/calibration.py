"""The split-conformal calibration of a forecaster fit: held-out windows and their scores.

:func:`hold_out` cuts every series short of its last windows and prepares the calibration
fit (the same plan, other seeds); once its networks are trained, :func:`calibrate` forecasts
the held-out windows, picks the combination with Theta that errs less on them, and pools their
signed errors, each in the unit of its series' bounds at its step, into the sorted ratios any
level or quantile is read from (:func:`tsrnn._forecast.conformal.pooled_ratios`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from .._data.checks import MIN_OBSERVATIONS
from ..errors import DataError
from ..estimator import RNNRegressor
from .conformal import (
    GRID,
    Ratios,
    centred,
    counted_ratios,
    counts_below,
    sorted_ratios,
    step_scale,
    unit_sums,
    unit_weights,
)
from .ensemble import deseasonalised, ensemble_forecast, with_theta
from .hardest import largest_errors, series_errors
from .jobs import PanelJob, encode_series, network_job, network_seeds
from .plan import Plan
from .scaling import SeriesScaling
from .theta import fit_theta, theta_at
from .windows import Panel

__all__ = [
    "Calibration",
    "HeldOut",
    "Scores",
    "bound_errors",
    "bound_sums",
    "calibrate",
    "calibration_scores",
    "choose",
    "held_out",
    "held_out_cuts",
    "hold_out",
    "no_window_error",
    "pool",
    "ratio_counts",
    "score_sums",
    "windows_per_series",
]

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
        Empty where the networks train elsewhere (a Dask cluster's ranks).
    panel : Panel or None
        The encoded training parts, as one Panel.
    """

    keep: np.ndarray
    cut: np.ndarray
    counts: np.ndarray
    scaling: SeriesScaling
    encoded: list
    jobs: list[PanelJob] = field(default_factory=list)
    panel: Panel | None = None


@dataclass
class Calibration:
    """What the calibration windows gave.

    Attributes
    ----------
    ratios : Ratios or None
        The pooled signed ratios: the bounds of any level or quantile (None without
        intervals).
    half_widths : ndarray of shape (horizon,)
        Half-width per step of the ``interval`` bounds, in units of each series' bounds
        (:meth:`SeriesScaling.units`; NaN without intervals).
    coverage : float
        The nominal coverage of ``interval``.
    n : int
        Windows calibrated on.
    errors : dict of str to float
        Mean absolute scaled error of the networks alone (``"none"``) and, when tried,
        combined with Theta (``"theta"``).
    combine : {"none", "theta"}
        The combination chosen.
    scores : ndarray of shape (n, horizon) or None
        The chosen forecast's signed errors in units of the bounds, when they were gathered
        (always in one process; on a dataset, while there are few: :func:`pool`).
    series_errors : Series or None
        The chosen forecast's mean absolute error on each series' windows, in units of the
        series' spread (:func:`tsrnn._forecast.hardest.series_errors`), indexed by id,
        largest first: every series with a window in one process, the
        :data:`~tsrnn._forecast.hardest.HARDEST` largest on a dataset (None without intervals,
        or once loaded from a model file).
    """

    ratios: Ratios | None
    half_widths: np.ndarray
    coverage: float
    n: int
    errors: dict[str, float]
    combine: str
    scores: np.ndarray | None = None
    series_errors: pd.Series | None = None

    @property
    def scored(self) -> str:
        """Which errors of :class:`Scores` the chosen combination's are: ``"theta"`` or
        ``"alone"``."""
        return "theta" if self.combine == "theta" and "theta" in self.errors else "alone"

    @classmethod
    def none(cls, horizon: int, combine: str) -> Calibration:
        """No calibration (``interval=None``): NaN quantiles, the networks alone unless
        ``combine="theta"``."""
        chosen = "theta" if combine == "theta" else "none"
        return cls(None, np.full(horizon, np.nan), float("nan"), 0, {}, chosen)

    @classmethod
    def of(
        cls,
        ratios: Ratios,
        interval: float,
        n: int,
        errors: dict,
        combine: str,
        scores: np.ndarray | None = None,
    ) -> Calibration:
        """The calibration with ``ratios``, its ``interval`` half-widths read from them."""
        low, high = ratios.quantile([(1 - interval) / 2, (1 + interval) / 2])
        return cls(
            ratios=ratios,
            half_widths=(high - low) / 2 * ratios.scale,
            coverage=float(interval),
            n=n,
            errors=errors,
            combine=combine,
            scores=scores,
        )


def windows_per_series(size: int | None, n_series: int, longest: int) -> int:
    """Held-out windows per series: ``size``, or about 200 in all, at most a fifth of a series.

    Parameters
    ----------
    size : int or None
        The forecaster's ``calibration_size``.
    n_series : int
        Series of the whole fit (over every bucket of a dataset).
    longest : int
        Length of the longest series.

    Returns
    -------
    int
    """
    if size is not None:
        return int(size)
    return max(1, min(math.ceil(CALIBRATION_WINDOWS / n_series), longest // 5))


def held_out_cuts(
    lengths: np.ndarray, horizon: int, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which series hold windows out, where each is cut, and how many windows it holds out.

    Series ``k`` holds out its last ``horizon + c_k - 1`` values: ``c_k`` (at most ``size``)
    origins with every step observed, and at least 2 values before the first.

    Parameters
    ----------
    lengths : ndarray of shape (n_series,)
    horizon, size : int

    Returns
    -------
    keep : ndarray of shape (n_kept,)
        Positions of the series that hold a window out.
    cut : ndarray of shape (n_kept,)
        Values of each kept series the calibration fit sees.
    counts : ndarray of shape (n_kept,)
        Held-out windows of each kept series.

    Examples
    --------
    >>> keep, cut, counts = held_out_cuts(np.array([3, 10, 20]), horizon=4, size=3)
    >>> keep.tolist(), cut.tolist(), counts.tolist()
    ([1, 2], [4, 14], [3, 3])
    """
    counts = np.clip(lengths - horizon - MIN_OBSERVATIONS + 1, 0, size)
    keep = np.flatnonzero(counts > 0)
    return keep, lengths[keep] - horizon - counts[keep] + 1, counts[keep]


def held_out(plan: Plan, values: list, xs: list | None, size: int) -> HeldOut | None:
    """The calibration fit's series (each without its last windows), encoded; no jobs.

    Parameters
    ----------
    plan : Plan
    values : list of ndarray of shape (n_k,)
    xs : list of ndarray of shape (n_k, n_feat) or None
    size : int
        Held-out windows per series (:func:`windows_per_series`).

    Returns
    -------
    HeldOut or None
        None when no series is long enough to hold a window out.
    """
    lengths = np.array([len(v) for v in values], dtype=np.int64)
    keep, cut, counts = held_out_cuts(lengths, plan.horizon, size)
    if not len(keep):
        return None
    train_values = [values[k][:c] for k, c in zip(keep, cut, strict=True)]
    train_xs = None if xs is None else [xs[k][:c] for k, c in zip(keep, cut, strict=True)]
    # Each series is scaled as the final fit will scale it: a series positive up to its
    # cut but not after is not log-scaled (its held-out values <= 0 would have no log).
    positive = np.array([bool(np.all(values[k][~np.isnan(values[k])] > 0)) for k in keep])
    scaling, panel, encoded = encode_series(plan, train_values, train_xs, positive)
    return HeldOut(keep, cut, counts, scaling, encoded, panel=panel)


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
    longest = max(len(v) for v in values)
    size = windows_per_series(calibration_size, len(values), longest)
    held = held_out(plan, values, xs, size)
    if held is None:
        raise no_window_error(plan.horizon, interval)
    seeds = network_seeds(seed, len(plan.networks))
    held.jobs = [
        network_job(plan, held.panel, net, s) for net, s in zip(plan.networks, seeds, strict=True)
    ]
    return held


def no_window_error(horizon: int, interval: float) -> DataError:
    """The error when no series is long enough to hold a calibration window out."""
    return DataError(
        f"No series is long enough to hold out a {horizon}-step window for the "
        f"{interval:.0%} intervals (that needs {horizon + MIN_OBSERVATIONS} values): "
        "pass longer series, a smaller horizon, or interval=None."
    )


@dataclass
class Scores:
    """Calibration scores of held-out windows with every step observed.

    Attributes
    ----------
    alone : ndarray of shape (n_windows, horizon)
        Signed errors (actual minus forecast) of the networks alone, in units of each series'
        spread (the unit that chooses the combination).
    theta : ndarray of shape (n_windows, horizon) or None
        Of the combination with Theta, when tried.
    features : ndarray of shape (n_windows, horizon, 3)
        What the unit of each window's bounds at each step is made of
        (:meth:`SeriesScaling.features`; the first is the log of the series' spread).
    series : ndarray of shape (n_windows,) or None
        The position of each window's series among the series scored.
    """

    alone: np.ndarray
    theta: np.ndarray | None
    features: np.ndarray
    series: np.ndarray | None = None

    def kept(self, which: str) -> np.ndarray:
        """The errors of ``which`` (``"alone"``, or ``"theta"`` when scored), (n_windows,
        horizon), in units of the spread."""
        return self.theta if which == "theta" and self.theta is not None else self.alone

    def unit_sums(self, which: str) -> tuple[np.ndarray, np.ndarray]:
        """:func:`tsrnn._forecast.conformal.unit_sums` of the errors of ``which``."""
        return unit_sums(self.features, self.kept(which) * np.exp(self.features[:, :, 0]))

    def ratios(self, which: str, unit: np.ndarray) -> np.ndarray:
        """The signed errors of ``which`` in units of the bounds of weights ``unit``.

        Returns
        -------
        ndarray of shape (n_windows, horizon)
        """
        f = self.features
        return self.kept(which) * np.exp(f[:, :, 0] - f @ unit)


def calibration_scores(
    plan: Plan,
    values: list,
    xs: list | None,
    held: HeldOut,
    models: list[RNNRegressor],
    *,
    combine: str,
) -> Scores:
    """Forecast the held-out windows of ``values`` with the calibration networks; score them.

    Parameters
    ----------
    plan : Plan
    values, xs
        The whole series (and exogenous columns), as given to :func:`held_out`.
    held : HeldOut
    models : list of RNNRegressor
        The calibration fit's networks, in the order of ``plan.networks``.
    combine : {"auto", "none", "theta"}
        The forecaster's parameter: with ``"auto"`` or ``"theta"``, the combination with
        Theta is scored too.

    Returns
    -------
    Scores
    """
    h = plan.horizon
    lengths = np.array([len(v) for v in values])
    keep, cut, counts, scaling = held.keep, held.cut, held.counts, held.scaling
    theta = None
    if combine in ("auto", "theta"):
        theta = fit_theta(deseasonalised(held.encoded, scaling.log))
    # Encode the whole held-out part with the calibration scaling (season phases continue).
    sub_rows = np.arange(len(keep))
    full = [values[k] for k in keep]
    shifts = lengths[keep] - cut  # the full series ends this many steps after the cut
    encoded = scaling.encode(full, sub_rows, shifts)
    panel = Panel(encoded, None if xs is None else [xs[k] for k in keep], plan.known)
    series = torch.from_numpy(np.repeat(sub_rows, counts))
    offsets = np.concatenate([np.arange(c) for c in counts])
    origins = torch.from_numpy(np.repeat(cut, counts) + offsets)
    past, observed, past_X, future_X = panel.past(series, origins, plan.span, h)
    alone = ensemble_forecast(
        models,
        plan.networks,
        past,
        observed,
        past_X,
        future_X,
        horizon=h,
        out=plan.out,
        normalize=plan.normalize,
    )
    actual, weights = panel.ahead(series, origins, h)
    spread = scaling.spread[series.numpy()][:, None]
    complete = weights.numpy().all(axis=1)
    features = scaling.features(series.numpy(), h)[complete]

    def scores_of(pred: np.ndarray) -> np.ndarray:  # (n_windows, h), signed, units of spread
        return ((actual.numpy() - pred) / spread)[complete]

    combined = None
    if theta is not None:
        at = [cut[k] + np.arange(counts[k]) for k in range(len(keep))]
        states = theta_at(deseasonalised(encoded, scaling.log), theta, at)
        combined = scores_of(with_theta(alone, states, scaling.log[series.numpy()]))
    return Scores(scores_of(alone), combined, features, keep[series.numpy()][complete])


def choose(errors: dict[str, float], combine: str) -> str:
    """The combination kept: Theta's when asked for, or with ``"auto"`` when it errs less."""
    if combine == "theta" or ("theta" in errors and errors["theta"] < errors["none"]):
        return "theta"
    return "none"


def score_sums(scores: Scores | None, horizon: int) -> dict[str, Any]:
    """What the choice of the combination and the unit of the bounds need of one part's scores:
    ``n`` windows, the sums of the absolute scores of the networks ``alone`` and of the
    combination with ``theta`` (None when not tried), in units of the spread, and the
    least-squares sums of their units (``unit_alone``, ``unit_theta``: :meth:`Scores.unit_sums`)."""
    if scores is None:
        return {"n": 0, "alone": 0.0, "theta": None, "unit_alone": None, "unit_theta": None}
    sums = {
        "n": len(scores.alone),
        "alone": float(np.abs(scores.alone).sum()),
        "unit_alone": scores.unit_sums("alone"),
        "theta": None,
        "unit_theta": None,
    }
    if scores.theta is not None:
        sums["theta"] = float(np.abs(scores.theta).sum())
        sums["unit_theta"] = scores.unit_sums("theta")
    return sums


def bound_sums(scores: Scores | None, which: str, unit: np.ndarray, horizon: int) -> np.ndarray:
    """Per-step sums of one part's absolute errors in units of the bounds, (horizon,)."""
    if scores is None:
        return np.zeros(horizon)
    return np.abs(scores.ratios(which, unit)).sum(axis=0)


def bound_errors(scores: Scores | None, which: str, unit: np.ndarray, horizon: int) -> np.ndarray:
    """One part's signed errors in units of the bounds, (n_windows, horizon)."""
    if scores is None:
        return np.empty((0, horizon))
    return scores.ratios(which, unit)


def ratio_counts(
    scores: Scores | None, which: str, unit: np.ndarray, scale: np.ndarray, grid: int
) -> np.ndarray:
    """How many of one part's ratios (errors over the step scale) are at or below each of
    :func:`~tsrnn._forecast.conformal.ratio_edges` ``(grid)``, (2 * grid + 1,)."""
    errors = bound_errors(scores, which, unit, len(scale))
    return counts_below(np.sort((errors / scale).ravel()), grid)


def _here(function: Callable, parts: list, **kwargs: Any) -> list:
    return [function(part, **kwargs) for part in parts]


def _total_here(function: Callable, parts: list, **kwargs: Any) -> np.ndarray:
    return np.sum(_here(function, parts, **kwargs), axis=0)


def pool(
    parts: list,
    *,
    horizon: int,
    combine: str,
    interval: float,
    apply: Callable[..., list] = _here,
    total: Callable[..., np.ndarray] = _total_here,
    few: int | None = None,
) -> Calibration:
    """Reduce the calibration scores of one or many parts to a :class:`Calibration`.

    Picks the combination on the mean absolute scores, fits the unit of each series' bounds on
    the chosen one's errors, and pools its signed errors in those units, each step's over its
    step scale: every figure is a sum over the parts, so the buckets of a dataset are reduced
    where they live and a fit in one process is the case of one part.

    Parameters
    ----------
    parts : list
        :class:`Scores` (or None for a part without windows), or futures of them.
    horizon : int
    combine : {"auto", "none", "theta"}
    interval : float
    apply : callable, default: here
        ``apply(function, parts, **kwargs)``: ``function`` of each part, where it lives.
    total : callable, default: summed here
        ``total(function, parts, **kwargs)``: the sum over the parts of ``function``'s arrays
        (the counts below the grid, one array of the grid's size a part), where they live.
    few : int or None, default=None
        Gather and sort the ratios while there are at most ``few`` (None: always); beyond,
        count them below a grid of bounds, part by part, and read the order statistics off
        the counts (:func:`~tsrnn._forecast.conformal.counted_ratios`, within 0.3 %).

    Returns
    -------
    Calibration

    Raises
    ------
    DataError
        If no part holds a window.
    """
    h = horizon
    sums = apply(score_sums, parts, horizon=h)
    n = sum(s["n"] for s in sums)
    if not n:
        raise no_window_error(h, interval)
    scored = [s for s in sums if s["n"]]
    errors = {"none": sum(s["alone"] for s in scored) / (n * h)}
    if all(s["theta"] is not None for s in scored):
        errors["theta"] = sum(s["theta"] for s in scored) / (n * h)
    chosen = choose(errors, combine)
    which = "theta" if chosen == "theta" and "theta" in errors else "alone"
    units = [s[f"unit_{which}"] for s in scored]
    unit = unit_weights(sum(u[0] for u in units), sum(u[1] for u in units))
    scale = step_scale(
        np.sum(apply(bound_sums, parts, which=which, unit=unit, horizon=h), axis=0) / n
    )
    scores = None
    if few is None or n * h <= few:
        scores = np.concatenate(apply(bound_errors, parts, which=which, unit=unit, horizon=h))
        ratios = sorted_ratios(np.sort((scores / scale).ravel()), scale, unit=unit)
    else:
        counts = total(ratio_counts, parts, which=which, unit=unit, scale=scale, grid=GRID)
        ratios = counted_ratios(counts, n * h, scale, unit=unit)
    return Calibration.of(centred(ratios), interval, n, errors, chosen, scores)


def calibrate(
    plan: Plan,
    values: list,
    xs: list | None,
    held: HeldOut,
    models: list[RNNRegressor],
    *,
    combine: str,
    interval: float,
    ids: list | None = None,
) -> Calibration:
    """Forecast the held-out windows; pick the combination; conformal quantiles per step.

    :func:`calibration_scores` then :func:`pool`, in this process; with ``ids`` (those of
    ``values``), each series' error too (``series_errors``).

    Returns
    -------
    Calibration
    """
    scores = calibration_scores(plan, values, xs, held, models, combine=combine)
    found = pool([scores], horizon=plan.horizon, combine=combine, interval=interval)
    if ids is not None:
        errors = series_errors(scores.kept(found.scored), scores.series, len(values))
        found.series_errors = largest_errors(errors, ids)
    return found
