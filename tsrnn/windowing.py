"""Sliding windows over a series: supervised ``(X, y)`` pairs as views, not copies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .errors import DataError, ParameterError, check_positive_int

__all__ = ["SlidingWindowTransformer", "make_windows"]


def make_windows(
    values: np.ndarray,
    lookback: int,
    horizon: int = 1,
    stride: int = 1,
    *,
    targets: Sequence[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut a series into input windows and the values that follow each of them.

    Window ``i`` covers rows ``i*stride`` to ``i*stride + lookback - 1`` of ``values``; its
    target is the next ``horizon`` rows. Both arrays are read-only *views* of ``values``
    (``numpy.lib.stride_tricks.sliding_window_view``): no window is copied, whatever
    ``lookback`` is. Convert them with ``np.ascontiguousarray`` only when you need a copy.

    Parameters
    ----------
    values : array-like of shape (n_timesteps,) or (n_timesteps, n_columns)
        The series, oldest first. Several columns are several channels per step.
    lookback : int
        Steps per input window.
    horizon : int, default=1
        Steps ahead to predict after each window.
    stride : int, default=1
        Steps between the starts of consecutive windows.
    targets : sequence of int or None, default=None
        Columns of a 2-D ``values`` to predict. The other columns (exogenous variables) are
        inputs only. ``None`` predicts every column.

    Returns
    -------
    X : ndarray of shape (n_windows, lookback) or (n_windows, lookback, n_columns)
        2-D for 1-D ``values``, else 3-D with every column as a channel.
    y : ndarray of shape (n_windows,), (n_windows, horizon) or (n_windows, horizon, n_targets)
        1-D when ``horizon == 1`` and there is one target; the horizon axis is dropped for a
        single target; 3-D for several targets.

    Raises
    ------
    DataError
        If the series is shorter than ``lookback + horizon`` or is not 1-D or 2-D.

    Examples
    --------
    >>> import numpy as np
    >>> X, y = make_windows(np.arange(10.0), lookback=3, horizon=2)
    >>> X.shape, y.shape
    ((6, 3), (6, 2))
    >>> X[0], y[0]
    (array([0., 1., 2.]), array([3., 4.]))
    >>> np.shares_memory(X, y)
    True
    """
    lookback = check_positive_int(lookback, "lookback")
    horizon = check_positive_int(horizon, "horizon")
    stride = check_positive_int(stride, "stride")
    values = np.asarray(values)
    if values.ndim not in (1, 2):
        raise DataError(
            f"values must be 1-D (one series) or 2-D (time steps x columns); got shape "
            f"{values.shape}."
        )
    span = lookback + horizon
    if len(values) < span:
        raise DataError(
            f"The series has {len(values)} time steps, but lookback={lookback} + "
            f"horizon={horizon} needs at least {span}: use a longer series or a smaller "
            "lookback."
        )
    windows = sliding_window_view(values, span, axis=0)[::stride]
    if values.ndim == 1:  # windows: (n_windows, span)
        X, y = windows[:, :lookback], windows[:, lookback:]
        return X, (y[:, 0] if horizon == 1 else y)
    windows = windows.swapaxes(1, 2)  # (n_windows, span, n_columns), still a view
    X = windows[:, :lookback]
    columns = list(range(values.shape[1])) if targets is None else list(targets)
    if not columns or any(not 0 <= c < values.shape[1] for c in columns):
        raise ParameterError(
            f"targets must name columns between 0 and {values.shape[1] - 1}; got {targets!r}."
        )
    y = _take_columns(windows[:, lookback:], columns)  # (n_windows, horizon, n_targets)
    if len(columns) == 1:
        y = y[:, :, 0]
        return X, (y[:, 0] if horizon == 1 else y)
    return X, y


def _take_columns(a: np.ndarray, columns: list[int]) -> np.ndarray:
    """Select columns of the last axis, as a view when they are evenly spaced."""
    if len(columns) == 1:
        return a[..., columns[0] : columns[0] + 1]
    step = columns[1] - columns[0]
    if step > 0 and columns == list(range(columns[0], columns[-1] + 1, step)):
        return a[..., columns[0] : columns[-1] + 1 : step]
    return a[..., columns]  # fancy indexing: a copy of the targets only


class SlidingWindowTransformer(TransformerMixin, BaseEstimator):
    """Turn each row of a table into the window of the ``lookback`` rows that end at it.

    A scikit-learn transformer cannot drop rows (``y`` passes by it untouched), so this one
    keeps **one output row per input row**: output row ``t`` is the window of input rows
    ``t - lookback + 1 .. t``, and the first ``lookback - 1`` rows, which lack a full history,
    are padded by repeating the first row. Row ``t`` of ``y`` therefore stays aligned with row
    ``t`` of the output: give it the value you want to predict from the window that ends at
    ``t`` (e.g. ``y = series.shift(-1)`` for one step ahead, dropping the last row). Slice the
    padded rows away (``[lookback - 1:]``) where they would mislead, or keep them as
    a warm-up in a ``Pipeline``.

    Inside a ``Pipeline`` and ``TimeSeriesSplit``, each call of ``transform`` sees only its own
    rows: the first ``lookback - 1`` rows of a test fold are padded rather than filled from the
    training fold. Prefer :func:`make_windows` before the split when that matters.

    Parameters
    ----------
    lookback : int, default=12
        Rows per window.

    Attributes
    ----------
    n_features_in_ : int
        Columns seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> t = SlidingWindowTransformer(lookback=3)
    >>> t.fit_transform(np.arange(5.0).reshape(-1, 1))[:, :, 0]
    array([[0., 0., 0.],
           [0., 0., 1.],
           [0., 1., 2.],
           [1., 2., 3.],
           [2., 3., 4.]])
    """

    _parameter_constraints: ClassVar[dict] = {"lookback": [int]}

    def __init__(self, lookback: int = 12) -> None:
        self.lookback = lookback

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> SlidingWindowTransformer:
        """Check ``X`` and remember its number of columns.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self
        """
        check_positive_int(self.lookback, "lookback")
        validate_data(self, X, reset=True)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Windows ending at each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, lookback, n_features)
            A read-only view over a padded copy of ``X`` (one extra copy of ``lookback - 1``
            rows plus ``X``, not one per window).
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        padded = np.concatenate([np.repeat(X[:1], self.lookback - 1, axis=0), X])
        return sliding_window_view(padded, self.lookback, axis=0).swapaxes(1, 2)
