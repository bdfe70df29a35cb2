"""Forecast accuracy metrics as plain numpy functions.

Every function takes the true values and the forecasts as array-likes of the same shape and
returns one float averaged over all of their entries. :func:`mase` also needs the training
series, whose in-sample seasonal-naive error is its scale.
"""

from __future__ import annotations

import numpy as np

from .errors import DataError, check_positive_int

__all__ = ["mae", "mase", "rmse", "smape"]


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
            f"The in-sample seasonal-naive error of y_train at m={m} is {scale}, so MASE is "
            "undefined: use mae or a different m."
        )
    return float(np.mean(np.abs(y_true - y_pred))) / scale
