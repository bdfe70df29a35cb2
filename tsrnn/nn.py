"""The torch module behind :class:`tsrnn.RNNRegressor`.

A recurrent encoder (Elman RNN, LSTM or GRU) reads a window of ``n_steps`` inputs and a
linear head maps its last hidden state to ``n_outputs`` values (one per forecast step)::

    h_t = f(W_hh h_{t-1} + W_xh x_t + b_h)          (the recurrence; f = tanh or relu)
    y   = W_hy h_T + b_y                            (the head, on the last step T)

Channels of ``x_t`` that hold the integer code of a category (a store, a product group) are
read through a learned embedding of that variable: code ``c >= 1`` picks row ``c`` of its
table, and code 0 (a category never seen in fit) the centroid of the known rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["CELLS", "RNNNet", "embedding_size"]

#: The recurrent cells tsrnn knows, by the name users pass as ``cell``.
CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def embedding_size(n_categories: int) -> int:
    """Width of the learned embedding of a variable with ``n_categories`` known values.

    fast.ai's rule of thumb, ``round(1.6 * n ** 0.56)``, capped at 16 for the small
    networks of forecasting (at least 1).

    Parameters
    ----------
    n_categories : int

    Returns
    -------
    int

    Examples
    --------
    >>> [embedding_size(n) for n in (1, 2, 10, 100, 10_000)]
    [2, 2, 6, 16, 16]
    """
    return int(min(16, max(1, round(1.6 * max(int(n_categories), 1) ** 0.56))))


class RNNNet(nn.Module):
    """Recurrent encoder followed by a linear head.

    Parameters
    ----------
    n_inputs : int
        Channels per time step (features of ``x_t``).
    n_outputs : int
        Values predicted per window (the horizon times the number of targets).
    cell : {"rnn", "lstm", "gru"}, default="lstm"
        Recurrent cell: Elman RNN, LSTM or GRU.
    hidden_size : int, default=32
        Units of the hidden state ``h_t``.
    num_layers : int, default=1
        Stacked recurrent layers.
    dropout : float, default=0.0
        Dropout between stacked layers and before the head.
    nonlinearity : {"tanh", "relu"}, default="tanh"
        ``f`` of the Elman RNN; LSTM and GRU have their own gates and ignore it.
    categorical : sequence of (sequence of int, int), default=()
        One entry ``(channels, n_categories)`` per categorical variable: the input channels
        holding its codes (0 for unknown, 1 to ``n_categories`` for the values seen in fit;
        several channels when the variable appears more than once per step, as in patches)
        share one table of :func:`embedding_size` columns, which replaces them in ``x_t``.
    """

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        *,
        cell: str = "lstm",
        hidden_size: int = 32,
        num_layers: int = 1,
        dropout: float = 0.0,
        nonlinearity: str = "tanh",
        categorical: Sequence[tuple[Sequence[int], int]] = (),
    ) -> None:
        super().__init__()
        self.categorical = [([int(c) for c in channels], int(n)) for channels, n in categorical]
        coded = {c for channels, _ in self.categorical for c in channels}
        width = (
            n_inputs
            - len(coded)
            + sum(len(channels) * embedding_size(n) for channels, n in self.categorical)
        )
        extra = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
        self.rnn = CELLS[cell](
            input_size=width,
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            batch_first=True,
            **extra,
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, n_outputs)
        # Drawn after the recurrence and the head: a network without categories is initialised
        # as before they existed.
        self.embeddings = nn.ParameterList(
            nn.Parameter(torch.randn(n, embedding_size(n))) for _, n in self.categorical
        )
        kept = [c for c in range(n_inputs) if c not in coded]
        self.register_buffer("kept", torch.tensor(kept, dtype=torch.long), persistent=False)

    def embedded(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` with each categorical channel replaced by its code's embedding.

        Parameters
        ----------
        x : Tensor of shape (batch, n_steps, n_inputs)

        Returns
        -------
        Tensor of shape (batch, n_steps, width)
            The other channels in order, then the embeddings of each variable's channels.
        """
        if not self.categorical:
            return x
        parts = [x.index_select(-1, self.kept)]
        for (channels, n), table in zip(self.categorical, self.embeddings, strict=True):
            codes = x[..., channels].round().long().clamp(0, n)  # (batch, n_steps, k)
            rows = torch.cat([table.mean(0, keepdim=True), table])  # row 0: unknown
            parts.append(rows[codes].flatten(-2))  # (batch, n_steps, k * size)
        return torch.cat(parts, dim=-1)

    def hidden_states(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden state of the last layer at every step.

        Parameters
        ----------
        x : Tensor of shape (batch, n_steps, n_inputs)

        Returns
        -------
        Tensor of shape (batch, n_steps, hidden_size)
        """
        out, _ = self.rnn(self.embedded(x))  # (batch, n_steps, hidden_size)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict ``n_outputs`` values per window.

        Parameters
        ----------
        x : Tensor of shape (batch, n_steps, n_inputs)

        Returns
        -------
        Tensor of shape (batch, n_outputs)
        """
        last = self.hidden_states(x)[:, -1]  # (batch, hidden_size)
        return self.head(self.dropout(last))  # (batch, n_outputs)


def check_categorical(spec, n_channels: int) -> list[tuple[list[int], int]]:
    """``categorical`` checked against the input width: a list of ``(channels, n)``."""
    entries = []
    for entry in spec or ():
        try:
            channels, n = entry
            channels, n = [int(c) for c in channels], int(n)
        except (TypeError, ValueError):
            raise ValueError(
                f"categorical entries must be (channels, n_categories) pairs, e.g. ([3], 12); "
                f"got {entry!r}."
            ) from None
        if n < 1 or not channels or not all(0 <= c < n_channels for c in channels):
            raise ValueError(
                f"categorical entry {entry!r} does not fit windows of {n_channels} channels: "
                "give channel indices below that and at least 1 category."
            )
        entries.append((channels, n))
    return entries
