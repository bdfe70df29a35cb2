"""Windows for the networks: one Panel of encoded series, padded windows gathered by index.

Many short series are turned into one :class:`Panel`, the concatenation of every series after
its own scaling (:mod:`tsrnn._forecast.scaling`). Training windows are never materialised:
:meth:`Panel.windows` gathers a batch of ``(series, origin)`` pairs on the fly from the one
concatenated tensor, so memory stays that of the data whatever the number of windows, and a
series shorter than the lookback is left-padded with zeros and an *observed* mask channel set
to 0 there::

    origin t of series k (t values seen):   ... x[t-3] x[t-2] x[t-1] | x[t] ... x[t+out-1]
    channel 0 (value - x[t-1]) / scale:         v      v      0      |  targets, masked past
    channel 1 (observed):                       1      1      1      |  the end of the series
    padding before the series' start:       0, observed 0

With exogenous columns, the window runs ``out`` steps past the origin: channel 0 is 0 there, a
*future* flag channel is 1, and the exogenous values (known ahead) fill the remaining channels.
"""

from __future__ import annotations

import numpy as np
import torch

from .scaling import interpolated

__all__ = ["MIN_SCALE", "NORMALIZE", "Panel", "encode"]

NORMALIZE = ("last", "window", "none")
#: Smallest window scale of ``normalize="window"`` (encoded units: a 0.1% change for a log-scaled
#: series). A flat window is read at this scale: its forecast stays flat.
MIN_SCALE = 1e-3


def encode(
    past: torch.Tensor,
    observed: torch.Tensor,
    normalize: str,
    future_exog: torch.Tensor | None = None,
    past_exog: torch.Tensor | None = None,
    patch: int = 1,
    scale_channel: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Network inputs of windows of encoded values; return ``(inputs, level, scale)``.

    Parameters
    ----------
    past : Tensor of shape (n, lookback)
        Encoded values, zeros where not observed.
    observed : Tensor of shape (n, lookback)
        1 where a value was observed, 0 on the left padding of a short series.
    normalize : {"last", "window", "none"}
        ``"last"``: subtract the last value (targets become changes from it); ``"window"``:
        also divide by the window's mean absolute step change (at least ``MIN_SCALE``), so
        that smooth and volatile series give inputs of the same size; ``"none"``: leave the
        level.
    future_exog, past_exog : Tensor of shape (n, out, n_feat) and (n, lookback, n_feat) or None
    patch : int, default=1
        Steps read by the network at once: the window is left-padded (observed 0) to a
        multiple of ``patch`` and each group of ``patch`` steps becomes one input step, so the
        recurrence runs ``patch`` times fewer steps (segment RNNs, as in SegRNN).
    scale_channel : bool, default=False
        Add a channel holding ``log(scale)`` at every step, after the observed mask: with
        ``normalize="window"`` it tells a smooth series from a volatile one, which the
        scale-free values no longer do.

    Returns
    -------
    inputs : Tensor of shape (n, ceil((lookback [+ out]) / patch), patch * n_channels)
        ``n_channels`` is 2 (value, observed) [+ 1 (log scale)] [+ 1 (future flag) +
        ``n_feat`` with exogenous columns].
    level, scale : Tensor of shape (n,)
        ``target = (value - level) / scale``.

    Examples
    --------
    >>> past = torch.tensor([[1.0, 1.1, 1.3, 1.4]])
    >>> inputs, level, scale = encode(past, torch.ones(1, 4), "window", scale_channel=True)
    >>> inputs.shape, round(float(level), 2), round(float(scale), 3)
    (torch.Size([1, 4, 3]), 1.4, 0.133)
    >>> inputs[0, :, 0].round(decimals=2).tolist()  # changes from 1.4, in units of the scale
    [-3.0, -2.25, -0.75, 0.0]
    """
    n = len(past)
    if normalize == "none":
        level, scale = past.new_zeros(n), past.new_ones(n)
    else:
        level = past[:, -1]
        scale = past.new_ones(n)
        if normalize == "window":
            both = observed[:, 1:] * observed[:, :-1]
            steps = (past.diff(dim=1).abs() * both).sum(1) / both.sum(1).clamp(min=1)
            scale = steps.clamp(min=MIN_SCALE)
    z = (past - level[:, None]) / scale[:, None] * observed
    channels = [z, observed]
    if scale_channel:
        channels.append(torch.log(scale)[:, None].expand_as(z))
    if future_exog is None:
        return _patched(torch.stack(channels, dim=2), patch), level, scale
    out = future_exog.shape[1]
    pad = past.new_zeros(n, out)
    ahead = [pad, pad] + ([torch.log(scale)[:, None].expand_as(pad)] if scale_channel else [])
    y_part = torch.stack([torch.cat(c, 1) for c in zip(channels, ahead, strict=True)], dim=2)
    flag = torch.cat([past.new_zeros(n, past.shape[1]), past.new_ones(n, out)], 1)[:, :, None]
    exog = torch.cat([past_exog, future_exog], 1)
    return _patched(torch.cat([y_part, flag, exog], dim=2), patch), level, scale


def _patched(inputs: torch.Tensor, patch: int) -> torch.Tensor:
    """(n, steps, c) -> (n, ceil(steps / patch), patch * c), zeros on the left."""
    if patch == 1:
        return inputs
    n, steps, c = inputs.shape
    pad = (-steps) % patch
    if pad:
        inputs = torch.cat([inputs.new_zeros(n, pad, c), inputs], dim=1)
    return inputs.reshape(n, (steps + pad) // patch, patch * c)


class Panel:
    """Encoded series concatenated into one tensor, windows gathered by index.

    A missing value (NaN) is not observed: the observed channel of the inputs is 0 there, as
    on the left padding of a short series, and a target there weighs nothing in the loss. Its
    place holds the interpolation of its neighbours, so that a window's level (its last
    value) stays defined.

    Parameters
    ----------
    series : list of ndarray of shape (n_k,)
        Encoded values of each series, NaN where missing.
    exog : list of ndarray of shape (n_k, n_feat) or None
        Scaled exogenous rows of each series (aligned with ``series``).
    known : sequence of bool, default=()
        Per exogenous column, whether its future values are known; a past-only column reads
        0 in the steps ahead of a window (as at predict time), so that training never sees
        its future. Empty: all known.
    """

    def __init__(self, series: list, exog: list | None = None, known=()) -> None:
        self.known = tuple(bool(k) for k in known)
        lengths = np.array([len(s) for s in series], dtype=np.int64)
        self.lengths = torch.from_numpy(lengths)
        self.starts = torch.from_numpy(np.concatenate([[0], np.cumsum(lengths)[:-1]]))
        flat = np.concatenate(series) if len(series) else np.empty(0)
        self.seen = None  # 1 where observed; None when every value is
        if np.isnan(flat).any():
            self.seen = torch.from_numpy((~np.isnan(flat)).astype(np.float32))
            flat = np.concatenate([interpolated(np.asarray(s, dtype=np.float64)) for s in series])
        self.values = torch.from_numpy(flat.astype(np.float32))
        self.exog = None
        if exog is not None:
            self.exog = torch.from_numpy(np.concatenate(exog).astype(np.float32))

    @classmethod
    def of_arrays(
        cls,
        values: np.ndarray,
        lengths: np.ndarray,
        *,
        seen: np.ndarray | None = None,
        exog: np.ndarray | None = None,
        known=(),
    ) -> Panel:
        """A Panel of the arrays of one already (not copied: memory maps stay maps).

        Parameters
        ----------
        values : ndarray of shape (n_rows,), float32
            Encoded values, one series after another, interpolated where missing.
        lengths : ndarray of shape (n_series,)
        seen : ndarray of shape (n_rows,), float32, or None
            1 where observed, 0 where missing; None: every value observed.
        exog : ndarray of shape (n_rows, n_feat), float32, or None
        known : sequence of bool, default=()
            As in :class:`Panel`.

        Returns
        -------
        Panel
        """
        panel = cls.__new__(cls)
        lengths = np.asarray(lengths, dtype=np.int64)
        panel.known = tuple(bool(k) for k in known)
        panel.lengths = torch.from_numpy(lengths)
        panel.starts = torch.from_numpy(np.concatenate([[0], np.cumsum(lengths)[:-1]]))
        panel.values = torch.from_numpy(values)
        panel.seen = None if seen is None else torch.from_numpy(seen)
        panel.exog = None if exog is None else torch.from_numpy(exog)
        return panel

    @property
    def n_series(self) -> int:
        """Number of series."""
        return len(self.lengths)

    def take(self, rows: torch.Tensor) -> Panel:
        """A Panel of the series ``rows`` only (a copy of their values, e.g. one rank's shard).

        Parameters
        ----------
        rows : Tensor of shape (n_rows,), int64

        Returns
        -------
        Panel
        """
        pieces = [
            slice(int(s), int(s + n))
            for s, n in zip(self.starts[rows], self.lengths[rows], strict=True)
        ]
        values = [self.values[p].numpy() for p in pieces]
        if self.seen is not None:  # NaN again where missing, for the new Panel's mask
            values = [
                np.where(self.seen[p].numpy() > 0, v, np.nan)
                for v, p in zip(values, pieces, strict=True)
            ]
        exog = None if self.exog is None else [self.exog[p].numpy() for p in pieces]
        return Panel(values, exog, self.known)

    def past(
        self, series: torch.Tensor, origins: torch.Tensor, lookback: int, out: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """The ``lookback`` values before each origin, their mask, and the exog rows.

        Parameters
        ----------
        series, origins : Tensor of shape (n,), int64
            Series of each window and the number of its values seen (``1 <= t <= n_k``).
        lookback, out : int
            Steps read, and steps ahead whose exogenous rows are wanted.

        Returns
        -------
        past, observed : Tensor of shape (n, lookback)
            Values (0 on the left padding, interpolated where missing) and 1 where observed.
        past_exog, future_exog : Tensor of shape (n, lookback, n_feat) and (n, out, n_feat)
            None without exogenous columns; rows past a series' end repeat its last row;
            past-only columns are 0 in ``future_exog``.
        """
        start, length = self.starts[series][:, None], self.lengths[series][:, None]
        pos = origins[:, None] - lookback + torch.arange(lookback)[None]  # (n, lookback)
        observed = (pos >= 0).float()
        past = self.values[start + pos.clamp(min=0)] * observed
        if self.seen is not None:
            observed = observed * self.seen[start + pos.clamp(min=0)]
        if self.exog is None:
            return past, observed, None, None
        past_exog = self.exog[start + pos.clamp(min=0)] * observed[:, :, None]
        ahead = torch.minimum(origins[:, None] + torch.arange(out)[None], length - 1)
        future_exog = self.exog[start + ahead]
        if self.known and not all(self.known):
            future_exog = future_exog * torch.tensor(self.known, dtype=future_exog.dtype)
        return past, observed, past_exog, future_exog

    def ahead(
        self, series: torch.Tensor, origins: torch.Tensor, out: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``out`` values from each origin and 1 where they exist (0 past the end).

        Returns
        -------
        values, weights : Tensor of shape (n, out)
            Weights 0 past the end and where a value is missing.
        """
        start, length = self.starts[series][:, None], self.lengths[series][:, None]
        ahead = origins[:, None] + torch.arange(out)[None]
        weights = (ahead < length).float()
        at = start + torch.minimum(ahead, length - 1)
        if self.seen is not None:
            weights = weights * self.seen[at]
        return self.values[at] * weights, weights

    def windows(
        self,
        series: torch.Tensor,
        origins: torch.Tensor,
        lookback: int,
        out: int,
        normalize: str,
        patch: int = 1,
        scale_channel: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Network inputs and normalised targets of a batch of windows.

        Parameters
        ----------
        series, origins : Tensor of shape (n,), int64
            As in :meth:`past`.
        lookback, out : int
        normalize, patch, scale_channel
            As in :func:`encode`.

        Returns
        -------
        inputs : Tensor of shape (n, ceil((lookback [+ out]) / patch), patch * n_channels)
        targets : Tensor of shape (n, out)
            Normalised values of the ``out`` steps from the origin (0 past the series' end).
        weights : Tensor of shape (n, out)
            0 where no target was observed. Elsewhere 1, or with ``normalize="window"`` the
            window's scale over the batch's mean scale: a weighted loss on the normalised
            targets is then (exactly, for the MAE) the loss on the encoded values: the
            inputs are scale-free, the objective is unchanged.
        """
        past, observed, past_exog, future_exog = self.past(series, origins, lookback, out)
        inputs, level, scale = encode(
            past, observed, normalize, future_exog, past_exog, patch, scale_channel
        )
        actual, weights = self.ahead(series, origins, out)
        targets = (actual - level[:, None]) / scale[:, None] * weights
        if normalize == "window":
            weights = weights * (scale / scale.mean())[:, None]
        return inputs, targets, weights

    def history(self, lookback: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """The last ``lookback`` values of each series, its observed mask and exog rows.

        Returns
        -------
        past, observed : Tensor of shape (n_series, lookback)
        past_exog : Tensor of shape (n_series, lookback, n_feat) or None
        """
        past, observed, past_exog, _ = self.past(
            torch.arange(self.n_series), self.lengths, lookback, 1
        )
        return past, observed, past_exog
