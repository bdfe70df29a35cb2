"""The torch module behind :class:`tsrnn.RNNRegressor`.

A recurrent encoder (Elman RNN, LSTM or GRU) reads a window of ``n_steps`` inputs and a
linear head maps its last hidden state to ``n_outputs`` values (one per forecast step)::

    h_t = f(W_hh h_{t-1} + W_xh x_t + b_h)          (the recurrence; f = tanh or relu)
    y   = W_hy h_T + b_y                            (the head, on the last step T)
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["CELLS", "RNNNet"]

#: The recurrent cells tsrnn knows, by the name users pass as ``cell``.
CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


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
    ) -> None:
        super().__init__()
        extra = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
        self.rnn = CELLS[cell](
            input_size=n_inputs,
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            batch_first=True,
            **extra,
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, n_outputs)

    def hidden_states(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden state of the last layer at every step.

        Parameters
        ----------
        x : Tensor of shape (batch, n_steps, n_inputs)

        Returns
        -------
        Tensor of shape (batch, n_steps, hidden_size)
        """
        out, _ = self.rnn(x)  # (batch, n_steps, hidden_size)
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
