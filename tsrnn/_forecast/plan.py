"""What a forecaster fit resolved before training: sizes and the networks of the ensemble.

:class:`Plan` holds no data, only the settings every piece of the engine needs (how series are
scaled, how windows are encoded, what each network reads, the budget); the forecaster builds
it from its parameters and fitted sizes, and the same plan serves the calibration fit, the
final fit and prediction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = ["NetworkInput", "Plan", "n_channels"]


class NetworkInput(NamedTuple):
    """What one network of the ensemble reads.

    Attributes
    ----------
    lookback : int
        Steps of history.
    patch : int
        Steps read as one input step.
    scale_channel : bool
        Whether it also reads the log of its window's scale.
    """

    lookback: int
    patch: int
    scale_channel: bool


def n_channels(n_feat: int, scale_channel: bool, patch: int) -> int:
    """Input width of a network: value, observed [, log scale] [, future flag, exog] per step.

    Parameters
    ----------
    n_feat : int
        Exogenous columns.
    scale_channel : bool
    patch : int

    Returns
    -------
    int

    Examples
    --------
    >>> n_channels(0, False, 1), n_channels(2, True, 3)
    (2, 18)
    """
    return (2 + int(scale_channel) + (1 + n_feat if n_feat else 0)) * patch


@dataclass(frozen=True)
class Plan:
    """The resolved settings of one forecaster fit.

    Attributes
    ----------
    horizon : int
        Steps ahead the networks are trained for.
    out : int
        Steps each network emits: ``horizon`` (direct) or 1 (recursive).
    normalize : {"last", "window", "none"}
    scaler : str
    season_length : int
    deseasonalize : bool
    networks : tuple of NetworkInput
        One entry per network of the ensemble.
    batch : int
        Windows per batch.
    steps : int
        Gradient steps per network.
    params : dict
        The parameters every :class:`~tsrnn.RNNRegressor` gets (``random_state`` aside).
    """

    horizon: int
    out: int
    normalize: str
    scaler: str
    season_length: int
    deseasonalize: bool
    networks: tuple[NetworkInput, ...]
    batch: int = 32
    steps: int = 1
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def span(self) -> int:
        """History the ensemble reads: its longest lookback."""
        return max(network.lookback for network in self.networks)

    def n_steps(self, network: NetworkInput, n_feat: int) -> int:
        """Recurrent steps of ``network``'s windows (the future steps too, with exog)."""
        return math.ceil((network.lookback + (self.out if n_feat else 0)) / network.patch)
