"""The training loop: backpropagation through time over tensors made once per fit."""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import nn

from ..errors import TrainingError
from .checkpoint import Checkpoint, PeerLost

__all__ = [
    "LOSSES",
    "OPTIMIZERS",
    "Member",
    "predict_batches",
    "train",
    "train_members",
]

LOSSES: dict[str, type[nn.Module]] = {"mse": nn.MSELoss, "mae": nn.L1Loss, "huber": nn.HuberLoss}
OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam,
    "rmsprop": torch.optim.RMSprop,
    "sgd": torch.optim.SGD,
}

EpochCallback = Callable[[int, float, "float | None"], None]
#: ``sample(step) -> (inputs, targets, weights)``: one batch, drawn by the caller.
BatchSampler = Callable[[int], "tuple[torch.Tensor, torch.Tensor, torch.Tensor]"]


class Sync(Protocol):
    """What data-parallel training needs from its process group (see :mod:`tsrnn._dask.rank`).

    Every rank calls the same methods in the same order; each is one collective.
    """

    def gradients(self, modules: list[nn.Module], losses: list[torch.Tensor]) -> list[float]:
        """Average the gradients of ``modules`` over the ranks; return the mean ``losses``."""

    def mean(self, value: float) -> float:
        """The mean of ``value`` over the ranks."""

    def agree(self, flag: bool) -> bool:
        """Rank 0's ``flag``, on every rank: a decision taken once."""

    def keep(self, state: Callable[[], Checkpoint]) -> None:
        """Called at every point training could resume from (after each step; at the start
        of each epoch): the group may keep ``state()`` as its checkpoint."""


@torch.no_grad()
def predict_batches(module: nn.Module, X: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """Run ``module`` over ``X`` in eval mode, ``batch_size`` rows at a time.

    Parameters
    ----------
    module : nn.Module
    X : Tensor of shape (n_samples, n_steps, n_inputs)
    batch_size : int

    Returns
    -------
    Tensor of shape (n_samples, n_outputs)
    """
    was_training = module.training
    module.eval()
    try:
        return torch.cat([module(X[i : i + batch_size]) for i in range(0, len(X), batch_size)])
    finally:
        module.train(was_training)


def train(
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    generator: torch.Generator,
    clip_grad_norm: float | None = None,
    valid: tuple[torch.Tensor, torch.Tensor] | None = None,
    patience: int | None = None,
    history: list[dict[str, float | int | None]] | None = None,
    on_epoch: EpochCallback | None = None,
    sync: Sync | None = None,
    resume: Checkpoint | None = None,
) -> list[dict[str, float | int | None]]:
    """Train ``module`` for up to ``epochs`` epochs, appending one record per epoch to ``history``.

    Windows are shuffled each epoch (``generator`` makes it reproducible) and sliced into
    batches by index. With ``valid``, the loss on that time-ordered tail is computed after every
    epoch, training stops after ``patience`` epochs without improvement, and the weights of the
    best epoch are restored before returning.

    Parameters
    ----------
    module, optimizer, loss_fn
        The network, its optimizer and the loss, all built by the caller.
    X : Tensor of shape (n_samples, n_steps, n_inputs)
    y : Tensor of shape (n_samples, n_outputs)
    epochs, batch_size : int
    generator : torch.Generator
        Source of the shuffling order (on the CPU).
    clip_grad_norm : float or None
        Clip the global gradient norm to this value before each step.
    valid : (Tensor of shape (n_valid, n_steps, n_inputs), Tensor of shape (n_valid, n_outputs))
    patience : int or None
        Epochs without a lower validation loss before stopping; None trains every epoch.
    history : list of dict or None
        Records of earlier epochs (numbering continues after them); each epoch is appended as it
        ends, so the record survives a ``TrainingError``. ``None`` starts a new list.
    on_epoch : callable(epoch, train_loss, valid_loss) or None
    sync : Sync or None
        Data-parallel training: gradients are averaged over the ranks after every backward
        pass, the epoch loss is their mean, and rank 0 decides early stopping for all. The
        group may keep a checkpoint at the start of every epoch (:meth:`Sync.keep`).
    resume : Checkpoint or None
        Where a data-parallel fit of these ``epochs`` stopped (a rank was lost): the weights,
        optimizer state, history and best epoch after its last completed epoch, from which
        the remaining epochs run. ``history`` is the one the fit started with.

    Returns
    -------
    list of dict
        ``history``, with ``{"epoch", "train_loss", "valid_loss"}`` for every epoch run.

    Raises
    ------
    TrainingError
        If the training loss becomes NaN or infinite.
    PeerLost
        If a collective fails (with ``sync``), holding the checkpoint of the start of the
        epoch it broke.
    """
    n = len(X)
    history = [] if history is None else history
    last_epoch = len(history) + epochs
    best_loss, best_state, since_best = math.inf, None, 0
    if resume is not None:
        running = resume.restore([module], [optimizer], [history])
        best_loss, best_state, since_best = (running[k] for k in ("best", "state", "since"))
    module.train()
    for epoch in range(len(history) + 1, last_epoch + 1):
        start = None
        if sync is not None:  # the start of an epoch: a point to resume from
            running = {"best": best_loss, "state": best_state, "since": since_best}
            start = Checkpoint.of(epoch - 1, "epoch", [module], [optimizer], [history], running)
            sync.keep(lambda start=start: start)
        with _resumes_from(start):
            order = torch.randperm(n, generator=generator).to(X.device)
            total = torch.zeros((), device=X.device)
            for first in range(0, n, batch_size):
                idx = order[first : first + batch_size]
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(module(X[idx]), y[idx])
                loss.backward()
                if sync is not None:
                    sync.gradients([module], [loss])
                if clip_grad_norm is not None:
                    nn.utils.clip_grad_norm_(module.parameters(), clip_grad_norm)
                optimizer.step()
                total += loss.detach() * len(idx)
            train_loss = total.item() / n
            if sync is not None:
                train_loss = sync.mean(train_loss)
            if not math.isfinite(train_loss):
                history.append(_record("epoch", epoch, train_loss))
                raise TrainingError(
                    f"Training diverged at epoch {epoch}: the training loss became "
                    f"{train_loss}. Lower the learning_rate or set clip_grad_norm (e.g. 1.0), "
                    "and check that the inputs and targets are scaled."
                )
            valid_loss = None
            if valid is not None:
                valid_loss = loss_fn(predict_batches(module, valid[0]), valid[1]).item()
                improved = valid_loss < best_loss
                if sync is not None:
                    improved = sync.agree(improved)
                if improved:
                    best_loss, since_best = valid_loss, 0
                    best_state = copy.deepcopy(module.state_dict())
                else:
                    since_best += 1
            stop = patience is not None and since_best >= patience
            if sync is not None:
                stop = sync.agree(stop)
        history.append(_record("epoch", epoch, train_loss, valid_loss))
        if on_epoch is not None:
            on_epoch(epoch, train_loss, valid_loss)
        if stop:
            break
    if best_state is not None:
        module.load_state_dict(best_state)
    return history


@dataclass
class Member:
    """One network of a step-budget fit: what :func:`train_members` trains.

    Attributes
    ----------
    module, optimizer
        The network and its optimizer.
    sample : callable(step) -> (inputs, targets, weights)
        Draws one batch (see :func:`train_members`).
    history : list of dict
        Its ``history_``, appended with a record every ``record_every`` steps.
    weight : float, default=1.0
        Factor of its loss: a rank of a data-parallel fit weighs its own batches by its
        share of the series, so that the averaged gradient is the one of a batch drawn over
        all of them.
    """

    module: nn.Module
    optimizer: torch.optim.Optimizer
    sample: BatchSampler
    history: list = field(default_factory=list)
    weight: float = 1.0


def train_members(
    members: list[Member],
    loss: str,
    *,
    steps: int,
    clip_grad_norm: float | None = None,
    decay: bool = True,
    record_every: int = 100,
    on_step: Callable[[int], None] | None = None,
    sync: Sync | None = None,
    resume: Checkpoint | None = None,
) -> None:
    """Train one network or several in lockstep, for a fixed number of gradient steps each.

    The budget is counted in steps, not epochs, so the cost of a fit does not grow with the
    number of windows: a global model over 100,000 series takes as long as one over 1,000.
    Targets carry weights (0 for steps past a series' end), and the loss is the weighted mean.
    With ``decay`` the learning rate is constant for the first half and falls linearly to 5%
    over the second, which settles the weights of a stochastic fit without early stopping.

    At every step each member draws its batch, and computes and back-propagates its loss;
    then, with ``sync``, the gradients of all members are averaged over the ranks in one
    collective (one exchange a step for a whole ensemble, not one per network), and each
    member clips its gradient and steps its optimizer.

    Parameters
    ----------
    members : list of Member
        Each with its sampler: callable(step) -> (Tensor (batch, n_steps, n_inputs), Tensor
        (batch, n_outputs), Tensor (batch, n_outputs)), the inputs, targets and target
        weights of one batch.
    loss : {"mae", "mse", "huber"}
    steps : int
    clip_grad_norm : float or None
    decay : bool, default=True
    record_every : int, default=100
        Each member's ``history`` is appended with ``{"step", "train_loss", "valid_loss"}``
        every ``record_every`` steps (the mean loss since the last record).
    on_step : callable(step) or None
        Called after every step (a progress bar).
    sync : Sync or None
        Data-parallel training: every rank runs the same ``steps`` on its own batches, and
        the gradients are averaged over the ranks before each optimizer step. The recorded
        loss is the mean over the ranks, so all ranks see the same and stop together. After
        each step the group may keep a checkpoint (:meth:`Sync.keep`).
    resume : Checkpoint or None
        Where a data-parallel fit of these ``steps`` stopped (a rank was lost): every
        member's weights, optimizer state and history after its last completed step, from
        which the remaining steps run (the members' samplers draw those steps' batches).

    Raises
    ------
    TrainingError
        If a member's loss becomes NaN or infinite.
    PeerLost
        If a collective fails (with ``sync``), holding the checkpoint of the last step every
        rank completed.
    """
    elementwise = LOSSES[loss](reduction="none")  # weighted below: targets past an end are 0
    bases = [[group["lr"] for group in m.optimizer.param_groups] for m in members]
    totals, count, done = [0.0] * len(members), 0, 0
    if resume is not None:
        parts = ([m.module for m in members], [m.optimizer for m in members])
        running = resume.restore(*parts, [m.history for m in members])
        totals, count, done = list(running["totals"]), int(running["count"]), resume.step

    def state() -> Checkpoint:  # after ``done`` steps
        parts = ([m.module for m in members], [m.optimizer for m in members])
        running = {"totals": totals, "count": count}
        return Checkpoint.of(done, "step", *parts, [m.history for m in members], running)

    for m in members:
        m.module.train()
    for step in range(done + 1, steps + 1):
        values = []
        for m, base in zip(members, bases, strict=True):
            if decay:
                half = steps // 2
                factor = 1.0 if step <= half else max(0.05, 1 - (step - half) / (steps / 2))
                for group, lr in zip(m.optimizer.param_groups, base, strict=True):
                    group["lr"] = lr * factor
            inputs, targets, weights = m.sample(step)
            m.optimizer.zero_grad(set_to_none=True)
            value = (elementwise(m.module(inputs), targets) * weights).sum()
            value = value / weights.sum().clamp(min=1)
            if m.weight != 1.0:
                value = value * m.weight
            value.backward()
            values.append(value)
        if sync is None:
            reported = [v.item() for v in values]
        else:
            try:
                reported = sync.gradients([m.module for m in members], values)
            except PeerLost as lost:  # no optimizer has stepped: the state after step - 1
                lost.checkpoint = state()
                raise
        for m in members:
            if clip_grad_norm is not None:
                nn.utils.clip_grad_norm_(m.module.parameters(), clip_grad_norm)
            m.optimizer.step()
        totals = [t + r for t, r in zip(totals, reported, strict=True)]
        count += 1
        for m, total in zip(members, totals, strict=True):
            if not math.isfinite(total):
                m.history.append(_record("step", step, total))
                raise TrainingError(
                    f"Training diverged at step {step}: the training loss became {total}. "
                    "Lower the learning_rate or set clip_grad_norm (e.g. 1.0), and check the "
                    "inputs."
                )
        if step % record_every == 0 or step == steps:
            for m, total in zip(members, totals, strict=True):
                m.history.append(_record("step", step, total / count))
            totals, count = [0.0] * len(members), 0
        done = step
        if sync is not None:
            sync.keep(state)
        if on_step is not None:
            on_step(step)
    for m, base in zip(members, bases, strict=True):
        for group, lr in zip(m.optimizer.param_groups, base, strict=True):
            group["lr"] = lr


@contextlib.contextmanager
def _resumes_from(checkpoint: Checkpoint | None) -> Iterator[None]:
    """A :class:`PeerLost` raised in the block resumes from ``checkpoint`` (the state before
    the block), unless it already says where."""
    try:
        yield
    except PeerLost as lost:
        if lost.checkpoint is None:
            lost.checkpoint = checkpoint
        raise


def _record(unit: str, n: int, train_loss: float, valid_loss: float | None = None) -> dict:
    """One entry of a model's ``history_``: ``{unit: n, "train_loss", "valid_loss"}``."""
    return {unit: n, "train_loss": train_loss, "valid_loss": valid_loss}
