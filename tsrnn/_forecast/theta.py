"""The standard Theta method for many series at once, to combine with the networks' forecasts.

The Theta method (Assimakopoulos & Nikolopoulos 2000; shown by Hyndman & Billah 2003 to be
simple exponential smoothing with a drift of half the series' linear-regression slope) forecasts
a deseasonalised series as::

    f(n + h) = l_n + (b / 2) * (h - 1 + 1 / a - (1 - a) ** n / a)

with ``l_n`` the smoothed level, ``a`` its smoothing weight (chosen per series by the one-step
squared error over a grid) and ``b`` the slope of the least-squares line through the series.
Combining forecasts of different kinds beats each of them on average (the M3 and M4 lesson), and
Theta's half slope damps the trends a global network, trained on the growth of the past,
carries on too strongly. Every series is smoothed in one pass over time, vectorised across
series and smoothing weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Theta", "fit_theta", "smoothing_noise", "theta_at"]

_ALPHAS = np.linspace(0.05, 1.0, 20)


@dataclass
class Theta:
    """Fitted Theta state of each series.

    Attributes
    ----------
    level : ndarray of shape (n_series,)
        Smoothed level at the last observation.
    slope : ndarray of shape (n_series,)
        Least-squares slope per step of each series.
    alpha : ndarray of shape (n_series,)
        Smoothing weight of each series.
    length : ndarray of shape (n_series,)
        Observations each state was fitted on.
    """

    level: np.ndarray
    slope: np.ndarray
    alpha: np.ndarray
    length: np.ndarray

    def forecast(self, horizon: int, rows: np.ndarray | None = None) -> np.ndarray:
        """Forecasts of the next ``horizon`` steps.

        Parameters
        ----------
        horizon : int
        rows : ndarray of shape (n,) or None
            Series to forecast (all by default).

        Returns
        -------
        ndarray of shape (n, horizon)
        """
        rows = np.arange(len(self.level)) if rows is None else rows
        a, n = self.alpha[rows][:, None], self.length[rows][:, None]
        h = np.arange(1, horizon + 1)[None]
        drift = h - 1 + 1 / a - (1 - a) ** n / a
        return self.level[rows][:, None] + self.slope[rows][:, None] / 2 * drift


def _padded(series: list) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([len(s) for s in series])
    values = np.zeros((len(series), int(lengths.max())))
    values[np.arange(values.shape[1])[None, :] < lengths[:, None]] = np.concatenate(series)
    return values, lengths


def _slopes(series: list, lengths: np.ndarray) -> np.ndarray:
    """Least-squares slope per step of each series (what ``np.polyfit(t, s, 1)[0]`` gives)."""
    flat = np.concatenate(series).astype(np.float64)
    starts = np.cumsum(lengths) - lengths
    owner = np.repeat(np.arange(len(series)), lengths)
    t = np.arange(len(flat)) - starts[owner]
    t_dev = t - (lengths[owner] - 1) / 2
    y_dev = flat - (np.add.reduceat(flat, starts) / lengths)[owner]
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.add.reduceat(t_dev * y_dev, starts) / np.add.reduceat(t_dev**2, starts)
    return np.where(lengths > 1, slope, 0.0)


def _smooth(values: np.ndarray, lengths: np.ndarray, alpha: np.ndarray, at=None) -> tuple:
    """Smooth every series with every weight in one pass over time.

    values : (n, T) padded; alpha : (n, k) weights per series; at : (rows, steps) or None,
    positions whose level is wanted. Returns the level at each series' last value (n, k), the
    one-step squared errors (n, k), and the levels at ``at`` (len(rows), k) or None.
    """
    steps = values.shape[1]
    level = np.repeat(values[:, :1], alpha.shape[1], axis=1)  # (n, k)
    last = level.copy()
    sse = np.zeros_like(level)
    picked = None
    if at is not None:
        at_rows, at_steps = at
        picked = np.empty((len(at_rows), alpha.shape[1]))
        order = np.argsort(at_steps, kind="stable")
        bounds = np.searchsorted(at_steps[order], np.arange(steps + 1))
    for t in range(steps):
        if t:
            seen = (t < lengths)[:, None]
            error = values[:, t : t + 1] - level
            sse += np.where(seen, error**2, 0.0)
            level = np.where(seen, level + alpha * error, level)
        ends = lengths - 1 == t
        last[ends] = level[ends]
        if at is not None:
            wanted = order[bounds[t] : bounds[t + 1]]
            picked[wanted] = level[at_rows[wanted]]
    return last, sse, picked


def fit_theta(series: list) -> Theta:
    """Fit the Theta method to each series.

    Parameters
    ----------
    series : list of ndarray of shape (n_k,)
        Deseasonalised series, at least 2 values each.

    Returns
    -------
    Theta

    Examples
    --------
    >>> theta = fit_theta([np.arange(10.0), np.full(6, 3.0)])
    >>> np.round(theta.forecast(2), 2).tolist()
    [[9.5, 10.0], [3.0, 3.0]]
    """
    values, lengths = _padded(series)
    grid = np.broadcast_to(_ALPHAS, (len(series), len(_ALPHAS)))
    last, sse, _ = _smooth(values, lengths, grid)
    best = np.argmin(sse, axis=1)
    level = last[np.arange(len(series)), best]
    slope = _slopes(series, lengths)
    return Theta(level, slope, _ALPHAS[best], lengths.astype(np.float64))


def theta_at(series: list, theta: Theta, origins: list) -> Theta:
    """The states of a fitted Theta at later origins, smoothing on with its weights and slope.

    Parameters
    ----------
    series : list of ndarray of shape (n_k,)
        The series, now longer than they were fitted on.
    theta : Theta
        Fitted on the first ``theta.length`` values of each series.
    origins : list of ndarray of int
        Values seen at each origin of series ``k`` (at least ``theta.length[k]``).

    Returns
    -------
    Theta
        One state per (series, origin), series by series.
    """
    values, lengths = _padded(series)
    rows = np.concatenate([np.full(len(o), k) for k, o in enumerate(origins)])
    seen = np.concatenate(origins).astype(int)
    _, _, levels = _smooth(values, lengths, theta.alpha[:, None], at=(rows, seen - 1))
    return Theta(levels[:, 0], theta.slope[rows], theta.alpha[rows], seen.astype(np.float64))


def smoothing_noise(series: list) -> tuple[np.ndarray, np.ndarray]:
    """The one-step error of simple exponential smoothing of each series, and its weight.

    Each series is smoothed with the weight (on the grid of :func:`fit_theta`) that gives the
    least one-step squared error; ``sigma`` is the root mean of those errors. Under simple
    exponential smoothing the error ``h`` steps ahead has the standard deviation
    ``sigma * sqrt(1 + (h - 1) * alpha ** 2)`` (Hyndman et al. 2008, table 6.1): it grows fast
    for a series that wanders (``alpha`` near 1) and hardly at all for one that stays near its
    level.

    Parameters
    ----------
    series : list of ndarray of shape (n_k,)

    Returns
    -------
    alpha : ndarray of shape (n_series,)
    sigma : ndarray of shape (n_series,)
        0 for a series of one value.

    Examples
    --------
    >>> alpha, sigma = smoothing_noise([np.array([1.0, 3.0, 1.0, 3.0, 1.0]), np.arange(6.0)])
    >>> alpha.round(2).tolist(), sigma.round(2).tolist()  # a series that swings, a line
    ([0.15, 1.0], [1.36, 1.0])
    """
    values, lengths = _padded(series)
    grid = np.broadcast_to(_ALPHAS, (len(series), len(_ALPHAS)))
    _, sse, _ = _smooth(values, lengths, grid)
    best = np.argmin(sse, axis=1)
    sigma = np.sqrt(sse[np.arange(len(series)), best] / np.maximum(lengths - 1, 1))
    return _ALPHAS[best], sigma
