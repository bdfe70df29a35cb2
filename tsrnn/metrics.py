"""Forecast accuracy metrics as plain numpy functions.

Every function takes the true values and the forecasts as array-likes of the same shape and
returns one float averaged over all of their entries. The scaled metrics (:func:`mase`,
:func:`msis`, :func:`scaled_quantile_loss`) also need the training series, whose in-sample
seasonal-naive error is their scale, so that series of any size can be averaged.

Point forecasts: :func:`mae`, :func:`rmse`, :func:`smape`, :func:`mase`. Intervals and
quantiles (probabilistic forecasts): :func:`coverage`, :func:`interval_score` (Winkler's),
:func:`msis` (the M4 competition's), :func:`quantile_loss` (pinball) and
:func:`scaled_quantile_loss`. A coverage alone cannot tell a good interval from a wide one; the
interval score and the quantile loss weigh the width against the misses.
"""

from __future__ import annotations

import numpy as np

from .errors import DataError, ParameterError, check_positive_int

__all__ = [
    "coverage",
    "interval_score",
    "mae",
    "mase",
    "msis",
    "quantile_loss",
    "rmse",
    "scaled_quantile_loss",
    "smape",
]


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape:
        raise DataError(
            f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}: pass one "
            "forecast per true value."
        )
    if y_true.size == 0:
        raise DataError("y_true is empty: pass at least one value to score.")
    if not (np.isfinite(y_true).all() and np.isfinite(y_pred).all()):
        raise DataError("y_true or y_pred holds NaN or inf: score finite values only.")
    return y_true, y_pred


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error, ``mean(|y - ŷ|)``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
    y_pred : array-like of the same shape

    Returns
    -------
    float

    Examples
    --------
    >>> mae([1.0, 2.0, 3.0], [2.0, 2.0, 5.0])
    1.0
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error, ``sqrt(mean((y - ŷ)²))``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
    y_pred : array-like of the same shape

    Returns
    -------
    float

    Examples
    --------
    >>> rmse([0.0, 0.0], [3.0, 4.0])  # sqrt((9 + 16) / 2)
    3.5355339059327378
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


def smape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Symmetric mean absolute percentage error in percent, ``mean(200 |y - ŷ| / (|y| + |ŷ|))``.

    Ranges from 0 to 200; a pair where both values are 0 counts as 0 (a perfect forecast).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
    y_pred : array-like of the same shape

    Returns
    -------
    float

    Examples
    --------
    >>> smape([100.0], [110.0])  # 200 * 10 / 210
    9.523809523809524
    """
    y_true, y_pred = _pair(y_true, y_pred)
    denominator = np.abs(y_true) + np.abs(y_pred)
    safe = np.where(denominator == 0, 1.0, denominator)
    ratio = np.where(denominator == 0, 0.0, np.abs(y_true - y_pred) / safe)
    return float(200.0 * np.mean(ratio))


def mase(y_true: np.ndarray, y_pred: np.ndarray, y_train: np.ndarray, m: int = 1) -> float:
    """Mean absolute scaled error: the MAE divided by the in-sample seasonal-naive MAE.

    ``mase = mean(|y - ŷ|) / mean(|y_train[t] - y_train[t - m]|)``, the denominator taken over
    the training series (Hyndman & Koehler, 2006). Below 1, the forecast beats the one-season-ago
    forecast's in-sample error.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
    y_pred : array-like of the same shape
    y_train : array-like of shape (n_train,)
        The series the forecast was made from, oldest first.
    m : int, default=1
        Seasonal period: 1 scales by the naive (random walk) error, 12 by the
        same-month-last-year error of monthly data.

    Returns
    -------
    float

    Raises
    ------
    DataError
        If ``y_train`` has at most ``m`` values or is constant at lag ``m`` (zero scale).

    Examples
    --------
    >>> mase([5.0, 6.0], [4.0, 8.0], y_train=[1.0, 2.0, 4.0], m=1)  # 1.5 / 1.5
    1.0
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred))) / _naive_scale(y_train, m, "MASE")


def _naive_scale(y_train, m: int, metric: str) -> float:
    """The in-sample seasonal-naive MAE of ``y_train``, ``mean(|y[t] - y[t - m]|)``."""
    m = check_positive_int(m, "m")
    y_train = np.asarray(y_train, dtype=np.float64).ravel()
    if len(y_train) <= m:
        raise DataError(
            f"y_train has {len(y_train)} values; the seasonal-naive scale with m={m} needs at "
            f"least {m + 1}: pass the whole training series."
        )
    scale = float(np.mean(np.abs(y_train[m:] - y_train[:-m])))
    if not np.isfinite(scale) or scale == 0:
        raise DataError(
            f"The in-sample seasonal-naive error of y_train at m={m} is {scale}, so {metric} is "
            "undefined: use an unscaled metric or a different m."
        )
    return scale


def _bounds(y_true, lower, upper) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y_true, lower = _pair(y_true, lower)
    _, upper = _pair(y_true, upper)
    return y_true, lower, upper


def _alpha(level: float) -> float:
    """``1 - level / 100`` of a central interval's ``level`` in percent."""
    if isinstance(level, bool) or not 0 < level < 100:
        raise ParameterError(f"level must be a percentage in (0, 100), e.g. 95; got {level!r}.")
    return (100.0 - float(level)) / 100.0


def coverage(y_true: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of the true values inside their interval, ``mean(lower <= y <= upper)``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
    lower, upper : array-like of the same shape
        The interval's bounds.

    Returns
    -------
    float
        In [0, 1]; an interval of level 80 % should give about 0.8.

    Examples
    --------
    >>> coverage([1.0, 2.0, 3.0, 4.0], [0.0, 2.5, 3.0, 0.0], [2.0, 3.0, 3.0, 3.0])
    0.5
    """
    y_true, lower, upper = _bounds(y_true, lower, upper)
    return float(np.mean((y_true >= lower) & (y_true <= upper)))


def interval_score(
    y_true: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: float = 95
) -> float:
    """Winkler's interval score of a central interval, lower is better.

    ``mean((u - l) + (2 / a) (l - y) 1{y < l} + (2 / a) (y - u) 1{y > u})`` with
    ``a = 1 - level / 100`` (Gneiting & Raftery, 2007): the width, plus each miss's distance
    weighted by ``2 / a``. It is a proper score, so it is lowest for the true quantiles
    ``a / 2`` and ``1 - a / 2``: a too wide interval pays in width, a too narrow one in misses.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
    lower, upper : array-like of the same shape
    level : float, default=95
        Nominal level of the interval in percent.

    Returns
    -------
    float
        In the units of ``y_true``.

    Examples
    --------
    >>> # widths 2 and 2; the second misses by 1 below: (2 + 2 + 40 * 1) / 2
    >>> interval_score([1.0, -1.0], [0.0, 0.0], [2.0, 2.0], level=95)
    22.0
    """
    y_true, lower, upper = _bounds(y_true, lower, upper)
    weight = 2.0 / _alpha(level)
    misses = np.maximum(lower - y_true, 0) + np.maximum(y_true - upper, 0)
    return float(np.mean(upper - lower + weight * misses))


def msis(
    y_true: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    y_train: np.ndarray,
    m: int = 1,
    level: float = 95,
) -> float:
    """Mean scaled interval score (the M4 competition's): :func:`interval_score` divided by
    the in-sample seasonal-naive MAE of ``y_train`` (the scale of :func:`mase`).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        The test values of one series.
    lower, upper : array-like of the same shape
    y_train : array-like of shape (n_train,)
        The series the forecast was made from, oldest first.
    m : int, default=1
        Seasonal period of the scale.
    level : float, default=95
        Nominal level in percent (M4: 95).

    Returns
    -------
    float

    Raises
    ------
    DataError
        If ``y_train`` has at most ``m`` values or is constant at lag ``m``.

    Examples
    --------
    >>> msis([1.0, -1.0], [0.0, 0.0], [2.0, 2.0], y_train=[0.0, 2.0, 0.0], m=1)  # 22 / 2
    11.0
    """
    score = interval_score(y_true, lower, upper, level)
    return score / _naive_scale(y_train, m, "MSIS")


def quantile_loss(y_true: np.ndarray, y_pred: np.ndarray, q: float) -> float:
    """Pinball loss of a forecast of quantile ``q``, ``mean(max(q (y - ŷ), (q - 1) (y - ŷ)))``.

    Lowest in expectation for the true ``q`` quantile; twice the loss at ``q = 0.5`` is the
    MAE.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
    y_pred : array-like of the same shape
        Forecasts of the ``q`` quantile.
    q : float
        Probability in (0, 1).

    Returns
    -------
    float

    Examples
    --------
    >>> quantile_loss([10.0, 10.0], [8.0, 12.0], q=0.9)  # (0.9 * 2 + 0.1 * 2) / 2
    1.0
    """
    y_true, y_pred = _pair(y_true, y_pred)
    q = _probability(q)
    error = y_true - y_pred
    return float(np.mean(np.maximum(q * error, (q - 1) * error)))


def _probability(q) -> float:
    if isinstance(q, bool) or not 0 < q < 1:
        raise ParameterError(f"A quantile must be a probability in (0, 1); got {q!r}.")
    return float(q)


def scaled_quantile_loss(
    y_true: np.ndarray,
    y_quantiles: np.ndarray,
    quantiles: list[float],
    y_train: np.ndarray,
    m: int = 1,
) -> float:
    """Scaled quantile loss: the mean over ``quantiles`` of twice the pinball loss, divided by
    the in-sample seasonal-naive MAE of ``y_train``.

    Over the quantiles 0.1, ..., 0.9 it approximates the CRPS of the forecast distribution
    (GluonTS's ``mean_wQuantileLoss`` scales by the sum of ``|y|`` instead); with the one
    quantile 0.5 it is the MASE of the median.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        The test values of one series.
    y_quantiles : array-like of shape (n_samples, n_quantiles)
        Column ``j`` forecasts quantile ``quantiles[j]``.
    quantiles : list of float
        Probabilities in (0, 1).
    y_train : array-like of shape (n_train,)
    m : int, default=1
        Seasonal period of the scale.

    Returns
    -------
    float

    Examples
    --------
    >>> # 2 * pinball: 0.2 * 2 at q=0.1, 1 * 1 at q=0.5, 1.8 * 0 at q=0.9; scale 1
    >>> scaled_quantile_loss([3.0], [[1.0, 2.0, 3.0]], [0.1, 0.5, 0.9], y_train=[0.0, 1.0])
    0.4666666666666666
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_quantiles = np.asarray(y_quantiles, dtype=np.float64)
    quantiles = [_probability(q) for q in quantiles]
    if y_quantiles.shape != (*y_true.shape, len(quantiles)):
        raise DataError(
            f"y_quantiles has shape {y_quantiles.shape}; with y_true of shape {y_true.shape} "
            f"and {len(quantiles)} quantiles pass shape {(*y_true.shape, len(quantiles))}."
        )
    losses = [quantile_loss(y_true, y_quantiles[..., j], q) for j, q in enumerate(quantiles)]
    return 2.0 * float(np.mean(losses)) / _naive_scale(y_train, m, "the scaled quantile loss")
