"""Forecasts of the ensemble from encoded history, and their combination with Theta's.

Everything here is on the *encoded* scale (after each series' scaling and deseasonalising);
:meth:`tsrnn._forecast.scaling.SeriesScaling.decode` takes the result back to the data's units.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..estimator import RNNRegressor
from .plan import NetworkInput
from .scaling import interpolated
from .theta import Theta
from .windows import encode

__all__ = ["deseasonalised", "ensemble_forecast", "tensor", "with_theta"]


def ensemble_forecast(
    models: Sequence[RNNRegressor],
    inputs: Sequence[NetworkInput],
    past: torch.Tensor | np.ndarray,
    observed: torch.Tensor | np.ndarray,
    past_X: torch.Tensor | np.ndarray | None,
    future_X: torch.Tensor | np.ndarray | None,
    *,
    horizon: int,
    out: int,
    normalize: str,
) -> np.ndarray:
    """Encoded forecasts of ``horizon`` steps from encoded windows: the ensemble's mean.

    Each network reads the window it was trained on (its own lookback, patch and scale
    channel). Forecasts past ``out`` steps (a recursive network, or a horizon beyond the
    trained one) are fed back as observed history.

    Parameters
    ----------
    models : sequence of RNNRegressor
        The fitted networks.
    inputs : sequence of NetworkInput
        What each network reads.
    past, observed : Tensor or ndarray of shape (n, span)
        Encoded history and its mask, ``span`` at least the longest lookback.
    past_X : Tensor or ndarray of shape (n, span, n_feat) or None
    future_X : Tensor or ndarray of shape (n, horizon, n_feat) or None
    horizon, out : int
        Steps wanted, and steps each network emits.
    normalize : str

    Returns
    -------
    ndarray of shape (n, horizon), float64
    """
    span = past.shape[1]
    past, observed = tensor(past), tensor(observed)
    past_X, future_X = tensor(past_X), tensor(future_X)
    steps = []
    done = 0
    while done < horizon:
        block_X = None
        if future_X is not None:
            block_X = future_X[:, done : done + out]
            if block_X.shape[1] < out:  # past the requested horizon: pad, output unused
                pad = block_X[:, -1:].expand(-1, out - block_X.shape[1], -1)
                block_X = torch.cat([block_X, pad], dim=1)
        encoded = {}  # each kind of network gets the window it was trained on
        for lookback, patch, scale_channel in set(inputs):
            encoded[lookback, patch, scale_channel] = encode(
                past[:, -lookback:],
                observed[:, -lookback:],
                normalize,
                block_X,
                None if past_X is None else past_X[:, -lookback:],
                patch,
                scale_channel,
            )
        step = torch.zeros(len(past), out)
        for model, kind in zip(models, inputs, strict=True):
            x, level, scale = encoded[tuple(kind)]  # the window's scale depends on its lookback
            step += model._predict_tensor(x) * scale[:, None] + level[:, None]
        step /= len(models)  # (n, out)
        steps.append(step)
        past = torch.cat([past, step], dim=1)[:, -span:]
        observed = torch.cat([observed, torch.ones_like(step)], dim=1)[:, -span:]
        if past_X is not None:
            past_X = torch.cat([past_X, block_X], dim=1)[:, -span:]
        done += out
    return torch.cat(steps, dim=1)[:, :horizon].numpy().astype(np.float64)


def with_theta(z: np.ndarray, theta: Theta | None, log: np.ndarray) -> np.ndarray:
    """The networks' encoded forecasts averaged with Theta's (unchanged without ``theta``).

    Parameters
    ----------
    z : ndarray of shape (n, horizon)
        Encoded forecasts of the networks.
    theta : Theta or None
        One state per row of ``z``.
    log : ndarray of shape (n,) of bool
        Which rows are log-scaled (Theta then forecasts the exp of the encoded series).

    Returns
    -------
    ndarray of shape (n, horizon)
    """
    if theta is None:
        return z
    raw = theta.forecast(z.shape[1])
    last = theta.level[:, None]
    positive = np.maximum(raw, 0.01 * np.abs(last))  # a log series' forecast stays > 0
    encoded = np.where(log[:, None], np.log(np.maximum(positive, 1e-300)), raw)
    return 0.5 * (z + encoded)


def deseasonalised(encoded: list, log: np.ndarray) -> list:
    """Deseasonalised series on their own scale (the exp of a log-scaled one) for Theta,
    missing values interpolated."""
    return [
        np.exp(z) if is_log else z
        for z, is_log in zip(map(interpolated, encoded), log, strict=True)
    ]


def tensor(a):
    """``a`` as a float32 tensor (None and tensors pass as they are)."""
    if a is None or isinstance(a, torch.Tensor):
        return a
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
