"""Checkpoints of a data-parallel fit: what resumes it after a lost rank.

Every rank of a group holds the same weights after each step (the same initial weights, the
same averaged gradients), so the state of any rank is the group's. A :class:`Checkpoint` is
that state after a number of completed steps (epochs, for the regressor's epochs): every
network's weights, optimizer state and history, and the loop's own running values (the loss
summed since the last record; the best epoch so far), as bytes made by ``torch.save``, so
that it travels through Dask (a ``Variable`` holds bytes as they are) and loads on any device.

A rank's collective that fails raises :class:`PeerLost`; the training loop adds the
checkpoint of the last step every rank completed before it goes on up, and the rank returns it
as :class:`Broken`, so that the survivors of a broken group hand back the freshest state there
is.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch

__all__ = ["Broken", "Checkpoint", "PeerLost", "sampling_seed"]


@dataclass(frozen=True)
class Checkpoint:
    """The state of a fit after ``step`` completed steps (or epochs: ``unit``).

    Attributes
    ----------
    step : int
        Steps completed (epochs in the history, for ``unit="epoch"``).
    unit : {"step", "epoch"}
    data : bytes
        ``torch.save`` of ``{"modules", "optimizers", "histories", "running"}``.
    """

    step: int
    unit: str
    data: bytes

    @classmethod
    def of(
        cls,
        step: int,
        unit: str,
        modules: list[torch.nn.Module],
        optimizers: list[torch.optim.Optimizer],
        histories: list[list[dict]],
        running: dict[str, Any] | None = None,
    ) -> Checkpoint:
        """The checkpoint of these networks now (their tensors are copied into bytes)."""
        buffer = io.BytesIO()
        torch.save(
            {
                "modules": [m.state_dict() for m in modules],
                "optimizers": [o.state_dict() for o in optimizers],
                "histories": [list(h) for h in histories],
                "running": dict(running or {}),
            },
            buffer,
        )
        return cls(int(step), unit, buffer.getvalue())

    def restore(
        self,
        modules: list[torch.nn.Module],
        optimizers: list[torch.optim.Optimizer],
        histories: list[list[dict]],
    ) -> dict[str, Any]:
        """Load the weights, optimizer states and histories (in place, on the modules'
        devices); return the loop's running values."""
        state = torch.load(io.BytesIO(self.data), map_location="cpu", weights_only=True)
        if len(state["modules"]) != len(modules):
            raise ValueError(
                f"The checkpoint holds {len(state['modules'])} networks; {len(modules)} given."
            )
        for module, saved in zip(modules, state["modules"], strict=True):
            module.load_state_dict(saved)
        for optimizer, saved in zip(optimizers, state["optimizers"], strict=True):
            optimizer.load_state_dict(saved)  # its tensors move to the parameters' device
        for history, saved in zip(histories, state["histories"], strict=True):
            history[:] = saved
        return state["running"]

    def to_message(self) -> list:
        """What a Dask ``Variable`` holds: msgpack-encodable ``[step, unit, data]``."""
        return [self.step, self.unit, self.data]

    @classmethod
    def from_message(cls, message: list) -> Checkpoint:
        step, unit, data = message
        return cls(int(step), str(unit), bytes(data))

    def __repr__(self) -> str:
        return f"Checkpoint({self.unit} {self.step}, {len(self.data)} bytes)"


class PeerLost(Exception):
    """A collective of data-parallel training failed: a peer left or stalled.

    Attributes
    ----------
    checkpoint : Checkpoint or None
        The state after the last step every rank completed, added by the training loop
        (None where the loop could not know it).
    """

    def __init__(self, message: str, checkpoint: Checkpoint | None = None) -> None:
        super().__init__(message)
        self.checkpoint = checkpoint


class Broken(NamedTuple):
    """What a rank of a data-parallel fit returns when its group broke: where the fit can
    resume, and why.

    Attributes
    ----------
    rank : int
    checkpoint : Checkpoint or None
        The state after the last step every rank completed (None if training had not
        started).
    reason : str
        The failed collective's message.
    """

    rank: int
    checkpoint: Checkpoint | None
    reason: str


def sampling_seed(seed: int, step: int = 0) -> int:
    """The seed of a sampler that draws from ``step`` on.

    ``seed`` itself at step 0 (a fit that is never interrupted draws as it always did); after
    a resume, a seed drawn from ``(seed, step)``, so that the batches that follow depend on
    the rank (through ``seed``) and on the step resumed from, never on the history of a
    generator that was lost with its worker.

    Examples
    --------
    >>> sampling_seed(7), sampling_seed(7, 0)
    (7, 7)
    >>> sampling_seed(7, 400) == sampling_seed(7, 400) != sampling_seed(8, 400)
    True
    """
    if step == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), int(step)]).generate_state(1)[0])
