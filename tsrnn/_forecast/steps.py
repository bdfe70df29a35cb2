"""The forecaster's trainer: new networks trained for a budget of steps, in lockstep.

The forecaster draws its own batches (windows of a :class:`~tsrnn._forecast.windows.Panel`,
or of a rank's buckets on a Dask cluster) and hands each :class:`~tsrnn.RNNRegressor` a
sampler; :func:`fit_steps` trains one network, or several at once with one gradient exchange
a step between the ranks of a data-parallel fit.
"""

from __future__ import annotations

import torch

from .._train.checkpoint import Checkpoint, sampling_seed
from .._train.device import seeded, torch_threads
from .._train.loop import BatchSampler, Member, Sync, train_members
from .._train.progress import step_bar
from ..estimator import RNNRegressor

__all__ = ["fit_steps"]


def fit_steps(
    models: list[RNNRegressor],
    samples: list[BatchSampler],
    *,
    n_steps: list[int],
    n_channels: list[int],
    n_outputs: int,
    steps: int,
    weights: list[float] | None = None,
    sync: Sync | None = None,
    quiet: bool = False,
    resume: Checkpoint | None = None,
) -> list[RNNRegressor]:
    """Train new networks for ``steps`` gradient steps each, in lockstep (one gradient exchange
    a step for all of them with ``sync``).

    The forecaster's global training: windows are gathered per batch by the samplers instead
    of being passed as one ``X``, targets carry weights (0 past a series' end), and the budget
    is counted in steps, so ``epochs`` and ``batch_size`` do not apply; ``n_iter_`` counts the
    steps and ``history_`` holds a ``{"step", "train_loss", "valid_loss"}`` record every 100
    steps.

    Parameters
    ----------
    models : list of RNNRegressor
        Unfitted (or to be refitted) regressors, one per network; each is built from its own
        parameters (``random_state``: its initial weights).
    samples : list of callable(step) -> (inputs, targets, weights)
        The batch sampler of each.
    n_steps, n_channels : list of int
        Shape of each network's windows.
    n_outputs : int
    steps : int
    weights : list of float or None
        Factor of each network's loss (a rank's share of the series); None: 1.
    sync : Sync or None
    quiet : bool, default=False
    resume : Checkpoint or None
        The state of these networks after ``resume.step`` steps of a data-parallel fit that
        lost a rank (:func:`tsrnn._train.loop.train_members`); the samplers draw the steps
        after it. Dropout then draws from a generator seeded by the step resumed from.

    Returns
    -------
    list of RNNRegressor
        ``models``, fitted.
    """
    members = []
    for k, (model, sample) in enumerate(zip(models, samples, strict=True)):
        model._start_steps(n_steps=n_steps[k], n_channels=n_channels[k], n_outputs=n_outputs)
        if model.device_.type != "cpu":
            sample = _on_device(sample, model.device_)
        members.append(
            Member(
                model.module_,
                model.optimizer_,
                sample,
                model.history_,
                1.0 if weights is None else float(weights[k]),
            )
        )
    first = models[0]
    with (
        torch_threads(first.n_threads),
        seeded(sampling_seed(first.seed_, resume.step if resume else 0), first.device_),
        step_bar(steps, 0 if quiet else first.verbose) as on_step,
    ):
        try:
            train_members(
                members,
                first.loss,
                steps=steps,
                clip_grad_norm=first.clip_grad_norm,
                on_step=on_step,
                sync=sync,
                resume=resume,
            )
        finally:
            for model in models:
                model.n_iter_ = steps
    return models


def _on_device(sample: BatchSampler, device: torch.device) -> BatchSampler:
    def on_device(step: int):
        return tuple(t.to(device) for t in sample(step))

    return on_device
