"""What a forecaster fit resolved before training: sizes and the networks of the ensemble.

:class:`Plan` holds no data, only the settings every piece of the engine needs (how series are
scaled, how windows are encoded, what each network reads, the budget); the forecaster builds
it from its parameters and fitted sizes, and the same plan serves the calibration fit, the
final fit and prediction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from .._data.calendar import season_length_for

__all__ = [
    "FORWARDED",
    "NetworkInput",
    "Plan",
    "coded_columns",
    "known_columns",
    "n_channels",
    "plan_for",
]

#: Parameters of the forecaster passed on to every RNNRegressor.
FORWARDED = (
    "cell", "hidden_size", "num_layers", "dropout", "optimizer", "learning_rate",
    "weight_decay", "batch_size", "loss", "clip_grad_norm", "device", "n_threads", "verbose",
)  # fmt: skip
# Default budget: about 50 passes over the windows, at least 300 and at most 2,000 steps.
_AUTO_PASSES, _MIN_STEPS, _MAX_STEPS = 50, 300, 2000
_MIN_BATCH = 32
# Default patch: the recurrence runs about this many steps over the lookback.
_RNN_STEPS = 12


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
    lookback, long_lookback, patch_size : int
        The short and long lookbacks of the ensemble, and the patch of the short one.
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
    known : tuple of bool
        Per exogenous column, whether its future values are known (False: a past-only
        column, ``hist_exog``, whose future rows the networks never see); empty: all known.
    categories : tuple of (int, int)
        ``(column, n_categories)`` of each exogenous column holding category codes, which
        the networks read through embeddings.
    """

    horizon: int
    lookback: int
    long_lookback: int
    patch_size: int
    out: int
    normalize: str
    scaler: str
    season_length: int
    deseasonalize: bool
    networks: tuple[NetworkInput, ...]
    batch: int = 32
    steps: int = 1
    params: dict[str, Any] = field(default_factory=dict)
    known: tuple[bool, ...] = ()
    categories: tuple[tuple[int, int], ...] = ()

    def network_params(self, network: NetworkInput, n_feat: int, seed: int) -> dict[str, Any]:
        """The parameters of the :class:`~tsrnn.RNNRegressor` of ``network`` seeded ``seed``:
        ``params``, and the input channels of each categorical column (one per patch step)."""
        params = {**self.params, "random_state": seed}
        if self.categories:
            width = n_channels(n_feat, network.scale_channel, 1)
            first = 3 + int(network.scale_channel)  # value, observed [, scale], future flag
            params["categorical"] = [
                [[q * width + first + column for q in range(network.patch)], int(n)]
                for column, n in self.categories
            ]
        return params

    @property
    def span(self) -> int:
        """History the ensemble reads: its longest lookback."""
        return max(network.lookback for network in self.networks)

    def n_steps(self, network: NetworkInput, n_feat: int) -> int:
        """Recurrent steps of ``network``'s windows (the future steps too, with exog)."""
        return math.ceil((network.lookback + (self.out if n_feat else 0)) / network.patch)


def plan_for(
    params: Mapping[str, Any],
    freq: str | int,
    longest: int,
    n_windows: int,
    columns: Sequence[str] = (),
    categories: Mapping[str, Sequence[str]] | None = None,
) -> Plan:
    """Resolve a forecaster's ``None`` defaults against the data's frequency and shape.

    Parameters
    ----------
    params : mapping
        The forecaster's ``get_params()``.
    freq : str or int
        The series' frequency.
    longest : int
        Length of the longest series.
    n_windows : int
        Training windows of all series: the sum of ``length - 1``.
    columns : sequence of str, default=()
        The exogenous columns, in order (those in ``params["hist_exog"]`` are past-only).
    categories : mapping of str to sequence of str or None, default=None
        The vocabulary of each categorical column among ``columns``.

    Returns
    -------
    Plan
        Season length, horizon, lookbacks (at most ``longest - 1``), the ensemble's networks
        (the third and fourth of every four read the long lookback, every odd one its
        window's scale), the batch (at most a quarter of the windows, at least 32) and the
        budget of steps.

    Examples
    --------
    >>> from tsrnn import RNNForecaster
    >>> plan = plan_for(RNNForecaster().get_params(), "MS", longest=144, n_windows=143)
    >>> plan.horizon, plan.lookback, plan.long_lookback, plan.batch, plan.steps
    (12, 24, 48, 36, 300)
    >>> [tuple(network) for network in plan.networks]
    [(24, 2, False), (24, 2, True), (48, 4, False), (48, 4, True)]
    """
    season = int(params["season_length"] or season_length_for(freq))
    horizon = int(params["horizon"] or (season if season > 1 else 8))
    cap = max(int(longest) - 1, 1)
    lookback = int(params["lookback"] or min(max(2 * horizon, 2 * season, 8), cap))
    long_lookback = max(lookback, min(int(params["long_lookback"] or 2 * lookback), cap))

    def patch_for(n: int) -> int:
        return int(params["patch_size"] or max(1, round(n / _RNN_STEPS)))

    def network(k: int) -> NetworkInput:
        n = long_lookback if (k // 2) % 2 == 1 else lookback
        return NetworkInput(n, patch_for(n), params["normalize"] == "window" and k % 2 == 1)

    # A few windows need no large batch: at most a quarter of them (at least 32) per batch.
    batch = int(min(params["batch_size"], max(_MIN_BATCH, math.ceil(n_windows / 4))))
    if params["steps"] is not None:
        steps = int(params["steps"])
    else:
        per_pass = max(math.ceil(n_windows / batch), 1)
        steps = (
            int(params["epochs"]) * per_pass
            if params["epochs"] is not None
            else int(np.clip(_AUTO_PASSES * per_pass, _MIN_STEPS, _MAX_STEPS))
        )
    return Plan(
        horizon=horizon,
        lookback=lookback,
        long_lookback=long_lookback,
        patch_size=patch_for(lookback),
        out=horizon if params["strategy"] == "direct" else 1,
        normalize=params["normalize"],
        scaler=params["scaler"],
        season_length=season,
        deseasonalize=params["deseasonalize"],
        networks=tuple(network(k) for k in range(params["n_models"])),
        batch=batch,
        steps=steps,
        params={name: params[name] for name in FORWARDED},
        known=known_columns(columns, params.get("hist_exog")),
        categories=coded_columns(columns, categories),
    )


def coded_columns(
    columns: Sequence[str], categories: Mapping[str, Sequence[str]] | None
) -> tuple[tuple[int, int], ...]:
    """``(position, n_categories)`` of each categorical column among ``columns``.

    Examples
    --------
    >>> coded_columns(["price", "store"], {"store": ["a", "b", "c"]})
    ((1, 3),)
    """
    categories = categories or {}
    return tuple(
        (k, len(categories[str(c)])) for k, c in enumerate(columns) if str(c) in categories
    )


def known_columns(columns: Sequence[str], hist_exog: Sequence[str] | None) -> tuple[bool, ...]:
    """Per column, whether it is known in the future (not one of ``hist_exog``)."""
    past_only = {str(c) for c in hist_exog or ()}
    return tuple(str(c) not in past_only for c in columns)
