"""Per-series scaling for the forecaster: the log or a standard score, and the season taken out.

Each series is scaled on its own (the log of a positive series, else a standard score) and,
where a seasonality test finds a season, classical seasonal indices are subtracted
(:func:`fit_scaling`); :class:`SeriesScaling` holds what was learned of every series and puts
it back on forecasts. Missing values are read through their interpolation (:func:`interpolated`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from .theta import smoothing_noise

__all__ = [
    "SCALERS",
    "SeriesScaling",
    "fit_scaling",
    "interpolated",
    "is_seasonal",
    "seasonal_indices",
]

SCALERS = ("auto", "log", "standard", "minmax", "none")
# Series deseasonalised at once by fit_scaling (a block of them is one padded matrix).
_BLOCK = 2048


def is_seasonal(z: np.ndarray, m: int) -> bool:
    """Whether the autocorrelation at lag ``m`` is significant at 90% (the Theta method's test).

    Parameters
    ----------
    z : ndarray of shape (n,)
    m : int
        Season length; series shorter than ``3 * m`` are never called seasonal.

    Returns
    -------
    bool

    Examples
    --------
    >>> t = np.arange(48)
    >>> is_seasonal(np.sin(2 * np.pi * t / 12), 12), is_seasonal(t * 1.0, 12)
    (True, False)
    """
    n = len(z)
    if m <= 1 or n < 3 * m:
        return False
    zc = z - z.mean()
    den = float(np.dot(zc, zc))
    if den <= 0:
        return False
    acf = np.array([np.dot(zc[k:], zc[:-k]) / den for k in range(1, m + 1)])
    limit = 1.645 * np.sqrt((1 + 2 * np.sum(acf[:-1] ** 2)) / n)
    return bool(abs(acf[-1]) > limit)


def seasonal_indices(z: np.ndarray, m: int) -> np.ndarray:
    """Additive seasonal indices of classical decomposition (centred moving average).

    Parameters
    ----------
    z : ndarray of shape (n,), with ``n >= 2 * m``
    m : int

    Returns
    -------
    ndarray of shape (m,)
        Index of each phase, ``index[p]`` for positions ``p, p + m, ...`` of ``z``; mean 0.
    """
    weights = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    trend = np.convolve(z, weights, mode="valid")
    offset = (len(weights) - 1) // 2
    detrended = z[offset : offset + len(trend)] - trend
    phase = np.arange(offset, offset + len(trend)) % m
    sums = np.bincount(phase, weights=detrended, minlength=m)
    index = sums / np.maximum(np.bincount(phase, minlength=m), 1)
    return index - index.mean()


@dataclass
class SeriesScaling:
    """How each series was scaled and deseasonalised, to undo it on the forecasts.

    Attributes
    ----------
    log : ndarray of shape (n_series,), bool
        ``z = log(x)`` for these series, else ``z = (x - loc) / scale``.
    loc, scale : ndarray of shape (n_series,)
    season : ndarray of shape (n_series, m)
        Seasonal index of each phase counted from the step after the series' end: column
        ``j`` applies to the future steps ``j, j + m, ...`` (all zeros without a season).
    spread : ndarray of shape (n_series,)
        Mean absolute one-step change of each encoded series: the unit of the calibration
        errors that choose the combination with Theta.
    floor : ndarray of shape (n_series,) or None
        The least value a forecast or bound of each series may take: 0 for a series that was
        never negative (counts, sales), else -inf. None: -inf for all.
    noise, alpha : ndarray of shape (n_series,) or None
        The one-step error of simple exponential smoothing of each encoded series and its
        smoothing weight (:func:`tsrnn._forecast.theta.smoothing_noise`): with ``spread``,
        what the unit of its bounds is made of (:meth:`units`). None in a model file of
        format 3 or older.
    """

    log: np.ndarray
    loc: np.ndarray
    scale: np.ndarray
    season: np.ndarray
    spread: np.ndarray
    floor: np.ndarray | None = None
    noise: np.ndarray | None = None
    alpha: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.floor is None:
            self.floor = np.full(len(self.log), -np.inf)

    def features(self, rows: np.ndarray, horizon: int) -> np.ndarray:
        """What the unit of each series' bounds at each step is made of, as logs.

        Parameters
        ----------
        rows : ndarray of shape (n,)
        horizon : int

        Returns
        -------
        ndarray of shape (n, horizon, 3)
            ``log spread``, ``log noise`` and ``log sqrt(1 + j * alpha ** 2)`` at step
            ``j + 1`` (how the error of simple exponential smoothing grows with the step).
            Without ``noise`` (a model file of format 3 or older): ``log spread``, 0, 0.
        """
        n = len(rows)
        out = np.zeros((n, horizon, 3))
        out[:, :, 0] = np.log(self.spread[rows])[:, None]
        if self.noise is not None and self.alpha is not None:
            out[:, :, 1] = np.log(self.noise[rows])[:, None]
            steps = np.arange(horizon)[None, :]
            out[:, :, 2] = 0.5 * np.log1p(steps * self.alpha[rows][:, None] ** 2)
        return out

    def units(self, rows: np.ndarray, horizon: int, weights: np.ndarray | None) -> np.ndarray:
        """The unit of each series' bounds at each step ahead, on the encoded scale.

        ``exp(features @ weights)``: a product of powers of the series' spread, its noise and
        the growth of the smoothing error with the step (:meth:`features`), with the weights
        the calibration fitted (:func:`tsrnn._forecast.conformal.unit_weights`). A pooled
        calibration ratio times this unit is a bound's distance from the forecast.

        Parameters
        ----------
        rows : ndarray of shape (n,)
        horizon : int
        weights : ndarray of shape (3,) or None
            None: the spread alone (``[1, 0, 0]``, what model files of format 3 used).

        Returns
        -------
        ndarray of shape (n, horizon)
        """
        weights = np.array([1.0, 0.0, 0.0]) if weights is None else np.asarray(weights)
        return np.exp(self.features(rows, horizon) @ weights)

    def encode(self, values: list, rows: np.ndarray, shifts: np.ndarray | None = None) -> list:
        """Scaled, deseasonalised series, computed on all rows at once.

        Parameters
        ----------
        values : list of ndarray of shape (n_k,)
            Series whose scaling is row ``rows[k]`` of this one.
        rows : ndarray of shape (n,)
        shifts : ndarray of shape (n,) or None
            Steps from the end of each fitted series to the end of the given one (0, the
            default, for the fitted history itself), so that the season's phase continues.

        Returns
        -------
        list of ndarray of shape (n_k,)
            Views into one encoded array (no copy per series).
        """
        lengths = np.array([len(v) for v in values], dtype=np.int64)
        shifts = np.zeros(len(values), dtype=np.int64) if shifts is None else np.asarray(shifts)
        flat = np.concatenate(values).astype(np.float64, copy=False)
        owner = np.repeat(np.asarray(rows), lengths)  # (n_rows,) scaling row of each value
        ends = np.cumsum(lengths)
        # Phase counted from the step after the fitted end: position - length + shift.
        back = np.repeat(ends - shifts, lengths) - np.arange(len(flat))
        phase = (-back) % self.season.shape[1]
        log = self.log[owner]
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(
                log, np.log(np.where(log, flat, 1.0)), (flat - self.loc[owner]) / self.scale[owner]
            )
        z -= self.season[owner, phase]
        return np.split(z, ends[:-1])

    def decode(self, z: np.ndarray, rows: np.ndarray, shifts: np.ndarray) -> np.ndarray:
        """Values of forecasts ``z`` (n, horizon) of encoded series, the season put back."""
        m = self.season.shape[1]
        horizon = z.shape[1]
        phase = (shifts[:, None] + np.arange(horizon)[None]) % m
        full = z + self.season[rows[:, None], phase]
        log = self.log[rows][:, None]
        with np.errstate(over="ignore"):
            return np.where(
                log,
                np.exp(np.minimum(full, 700.0)),
                full * self.scale[rows][:, None] + self.loc[rows][:, None],
            )


def fit_scaling(
    values: list,
    kind: str,
    season_length: int,
    deseasonalize: bool,
    positive: np.ndarray | None = None,
) -> SeriesScaling:
    """Fit the scaling and seasonal indices of each series.

    Parameters
    ----------
    values : list of ndarray of shape (n_k,)
        The series, oldest first.
    kind : {"auto", "log", "standard", "minmax", "none"}
        ``"auto"``: the log of a strictly positive series (its changes become relative, so
        series of any level share one model, and a trend that grows by a percentage stays
        linear), a standard score otherwise.
    season_length : int
    deseasonalize : bool
        Subtract classical seasonal indices from series whose autocorrelation at the season
        lag is significant (see :func:`is_seasonal`).
    positive : ndarray of shape (n_series,) of bool or None, default=None
        Which series ``"auto"`` log-scales; None: those whose values are all > 0. A fit on
        the first part of each series passes the whole series' answer, so that it scales
        them as the fit on the whole series will.

    Returns
    -------
    SeriesScaling
    """
    n_series = len(values)
    m = max(int(season_length), 1)
    lengths = np.array([len(v) for v in values], dtype=np.int64)
    flat = np.concatenate(values).astype(np.float64, copy=False) if n_series else np.empty(0)
    starts = np.cumsum(lengths) - lengths
    owner = np.repeat(np.arange(n_series), lengths)
    is_positive = np.minimum.reduceat(flat, starts) > 0 if n_series else np.zeros(0, bool)
    if kind == "log" and not is_positive.all():
        raise DataError(
            f"scaler='log' needs positive values, but series {int(np.argmin(is_positive))} has a "
            "value <= 0: use scaler='auto' or 'standard'."
        )
    log = np.ones(n_series, dtype=bool) if kind == "log" else np.zeros(n_series, dtype=bool)
    if kind == "auto":
        log = is_positive if positive is None else np.asarray(positive, dtype=bool).copy()
    loc, scale = np.zeros(n_series), np.ones(n_series)
    if kind in ("auto", "standard"):
        loc = np.add.reduceat(flat, starts) / lengths if n_series else loc
        deviation = (flat - loc[owner]) ** 2
        scale = np.sqrt(np.add.reduceat(deviation, starts) / lengths) if n_series else scale
    elif kind == "minmax":
        loc = np.minimum.reduceat(flat, starts)
        scale = np.maximum.reduceat(flat, starts) - loc
    loc, scale = np.where(log, 0.0, loc), np.where(log | (scale <= 0), 1.0, scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(
            log[owner], np.log(np.where(log[owner], flat, 1.0)), (flat - loc[owner]) / scale[owner]
        )
    season = np.zeros((n_series, m))
    if deseasonalize and m > 1:
        _deseasonalize(z, lengths, starts, m, season)
    steps = np.abs(np.diff(z, prepend=z[:1]))
    steps[starts] = 0.0  # no step between two series
    spread = np.zeros(n_series)
    if n_series:
        spread = np.where(
            lengths > 1, np.add.reduceat(steps, starts) / np.maximum(lengths - 1, 1), 0.0
        )
    nonnegative = np.minimum.reduceat(flat, starts) >= 0 if n_series else np.zeros(0, bool)
    lowest = np.where(nonnegative, 0.0, -np.inf)
    alpha, noise = smoothing_noise(np.split(z, starts[1:])) if n_series else (spread, spread)
    return SeriesScaling(log, loc, scale, season, _floored(spread), lowest, _floored(noise), alpha)


def _floored(unit: np.ndarray) -> np.ndarray:
    """Units of at least a tenth of their median (a constant series still gets bounds)."""
    return np.maximum(unit, max(0.1 * float(np.median(unit)), 1e-6) if len(unit) else 1e-6)


def _deseasonalize(
    z: np.ndarray, lengths: np.ndarray, starts: np.ndarray, m: int, season: np.ndarray
) -> None:
    """Test every series for a season and take its indices out, in place, by blocks of series.

    What :func:`is_seasonal` and :func:`seasonal_indices` do for one series, for thousands at
    once: each block is a matrix of its series, left-aligned and zero-padded; the
    autocorrelations come from one FFT per block, the centred moving average from cumulative
    sums. ``season[k]`` receives series ``k``'s indices by phase from the step after its end.
    """
    candidates = np.flatnonzero(lengths >= 3 * m)
    candidates = candidates[np.argsort(lengths[candidates], kind="stable")]
    width = m + 1 if m % 2 == 0 else m  # taps of the centred moving average
    offset = (width - 1) // 2
    for block in np.array_split(candidates, max(1, math.ceil(len(candidates) / _BLOCK))):
        if not len(block):
            continue
        n = lengths[block]
        T = int(n.max())
        cols = np.arange(T)
        inside = cols[None, :] < n[:, None]
        Z = np.zeros((len(block), T))
        Z[inside] = z[(starts[block][:, None] + cols[None, :])[inside]]
        mean = Z.sum(axis=1) / n
        Zc = np.where(inside, Z - mean[:, None], 0.0)
        size = 1 << int(2 * T - 1).bit_length()
        power = np.abs(np.fft.rfft(Zc, size, axis=1)) ** 2
        acf = np.fft.irfft(power, size, axis=1)[:, : m + 1]  # acf[:, k] = sum zc[t] zc[t + k]
        den = acf[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            r = acf[:, 1:] / den[:, None]
        limit = 1.645 * np.sqrt((1 + 2 * np.sum(r[:, :-1] ** 2, axis=1)) / n)
        seasonal = (den > 0) & (np.abs(r[:, -1]) > limit)
        if not seasonal.any():
            continue
        block, n, Z = block[seasonal], n[seasonal], Z[seasonal]
        S = np.concatenate([np.zeros((len(block), 1)), np.cumsum(Z, axis=1)], axis=1)
        span = T - width + 1
        trend = S[:, width : width + span] - S[:, :span]
        if m % 2 == 0:
            trend -= 0.5 * (Z[:, :span] + Z[:, width - 1 : width - 1 + span])
        trend /= m
        valid = np.arange(span)[None, :] <= (n - width)[:, None]
        detrended = np.where(valid, Z[:, offset : offset + span] - trend, 0.0)
        folded = math.ceil((offset + span) / m) * m  # columns folded by phase (position % m)
        sums = np.zeros((len(block), folded))
        sums[:, offset : offset + span] = detrended
        counts = np.zeros((len(block), folded))
        counts[:, offset : offset + span] = valid
        sums = sums.reshape(len(block), -1, m).sum(axis=1)
        counts = counts.reshape(len(block), -1, m).sum(axis=1)
        index = sums / np.maximum(counts, 1)
        index -= index.mean(axis=1, keepdims=True)
        season[block] = index[np.arange(len(block))[:, None], (n[:, None] + np.arange(m)) % m]
        rows = np.repeat(np.arange(len(block)), n)
        at = np.concatenate([np.arange(k) for k in n])
        z[np.repeat(starts[block], n) + at] -= index[rows, at % m]


def interpolated(values: np.ndarray) -> np.ndarray:
    """``values`` with each NaN replaced by the linear interpolation of its observed
    neighbours (the nearest observed value before the first or after the last).

    Parameters
    ----------
    values : ndarray of shape (n,)
        At least one value observed.

    Returns
    -------
    ndarray of shape (n,)
        ``values`` itself when nothing is missing.

    Examples
    --------
    >>> interpolated(np.array([np.nan, 1.0, np.nan, 3.0, np.nan])).tolist()
    [1.0, 1.0, 2.0, 3.0, 3.0]
    """
    missing = np.isnan(values)
    if not missing.any():
        return values
    at = np.arange(len(values))
    filled = values.copy()
    filled[missing] = np.interp(at[missing], at[~missing], values[~missing])
    return filled
