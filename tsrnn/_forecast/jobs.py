"""The networks of a forecaster fit as jobs of the executor
(:func:`tsrnn._train.executor.fit_jobs`).

:func:`prepare` scales and encodes a fit's series into one :class:`~tsrnn._forecast.windows.Panel`
and makes one :class:`PanelJob` per network of the plan; a job trains its network on batches
of ``(series, origin)`` windows drawn from the panel, in this process or in a Dask worker.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import torch
from sklearn.utils import check_random_state

from .._train.checkpoint import Checkpoint, sampling_seed
from ..estimator import RNNRegressor
from .plan import NetworkInput, Plan, n_channels
from .scaling import SeriesScaling, fit_scaling, interpolated
from .steps import fit_steps
from .windows import Panel

__all__ = [
    "Encoded",
    "PanelJob",
    "Prepared",
    "encode_series",
    "fit_seeds",
    "network_job",
    "network_seeds",
    "prepare",
    "sampler",
]


@dataclasses.dataclass
class PanelJob:
    """One network of :class:`tsrnn.RNNForecaster`: a step budget over windows of a Panel.

    Each step draws ``batch`` windows, (series, origin) pairs, uniformly over the series and
    then over the origins of each, from ``torch.Generator().manual_seed(seed)`` (a fit resumed
    after a lost rank draws its remaining steps from a seed of ``seed`` and the step:
    :func:`~tsrnn._train.checkpoint.sampling_seed`).

    Attributes
    ----------
    params : dict
        :class:`~tsrnn.RNNRegressor` parameters, ``random_state`` included.
    data : Panel
        The encoded series (what travels to a worker, scattered once).
    network : NetworkInput
        What the network reads.
    out, batch, n_steps, n_channels, steps, seed : int
        Outputs per window, windows per batch, recurrent steps and channels of a window,
        gradient steps, sampling seed.
    normalize : str
    """

    params: dict
    data: Any
    network: NetworkInput
    out: int
    normalize: str
    batch: int
    n_steps: int
    n_channels: int
    steps: int
    seed: int

    @property
    def size(self) -> int:
        return self.data.n_series

    @property
    def device(self) -> str:
        return str(self.params["device"])

    def shard(self, rank: int, world: int) -> PanelJob:
        """Every ``world``-th series from ``rank`` on; the batch split between the ranks.

        Every rank keeps ``params`` (the same ``random_state``: the same initial weights).
        """
        rows = torch.arange(rank, self.size, world)
        return dataclasses.replace(
            self,
            data=self.data.take(rows),
            batch=math.ceil(self.batch / world),
            seed=self.seed + rank,
        )

    def fit(
        self,
        sync: Any = None,
        rank: int = 0,
        quiet: bool = False,
        resume: Checkpoint | None = None,
    ) -> RNNRegressor:
        seed = sampling_seed(self.seed, resume.step if resume else 0)
        sample = sampler(self.data, self.network, self.out, self.normalize, self.batch, seed)
        [model] = fit_steps(
            [RNNRegressor(**self.params)],
            [sample],
            n_steps=[self.n_steps],
            n_channels=[self.n_channels],
            n_outputs=self.out,
            steps=self.steps,
            sync=sync,
            quiet=bool(rank or quiet),
            resume=resume,
        )
        return model


def sampler(
    panel: Panel, network: NetworkInput, out: int, normalize: str, batch: int, seed: int
) -> Callable[[int], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """``sample(step)``: a batch of windows of ``panel``, series first, then an origin.

    Each call draws ``batch`` windows, (series, origin) pairs, uniformly over the series and
    then over the origins of each, from ``torch.Generator().manual_seed(seed)``; the windows
    are encoded as ``network`` reads them (:meth:`Panel.windows`).

    Returns
    -------
    callable(step) -> (inputs, targets, weights)
    """
    generator = torch.Generator().manual_seed(seed)
    lengths = panel.lengths

    def sample(step: int):
        series = torch.randint(panel.n_series, (batch,), generator=generator)
        high = lengths[series] - 1  # origins 1 .. n_k - 1: at least one target observed
        origins = 1 + (torch.rand(batch, generator=generator) * high).long().clamp(max=high - 1)
        return panel.windows(
            series,
            origins,
            network.lookback,
            out,
            normalize,
            network.patch,
            network.scale_channel,
        )

    return sample


class Encoded(NamedTuple):
    """Series encoded for the networks: their scaling, their panel, the encoded series."""

    scaling: SeriesScaling
    panel: Panel
    encoded: list


class Prepared(NamedTuple):
    """Series ready for training: their scaling, their panel, the encoded series, the jobs."""

    scaling: SeriesScaling
    panel: Panel
    encoded: list
    jobs: list[PanelJob]


def encode_series(
    plan: Plan,
    values: list,
    xs: list | None,
    positive: np.ndarray | None = None,
    borrowed: np.ndarray | None = None,
) -> Encoded:
    """Scale, deseasonalise and encode each series as ``plan`` says; one Panel of them all.

    Parameters
    ----------
    plan : Plan
    values : list of ndarray of shape (n_k,)
        The series, NaN where a value is missing (the scaling and the season are fitted on
        their interpolation; the Panel masks them).
    xs : list of ndarray of shape (n_k, n_feat) or None
        Their scaled exogenous columns.
    positive : ndarray of shape (n_series,) of bool or None
        See :func:`~tsrnn._forecast.scaling.fit_scaling`.
    borrowed : ndarray of shape (2, n_series, season_length) or None
        Seasonal indices a series with no season of its own takes instead (row 0 for a
        standard-scored series, row 1 for a log-scaled one; NaN: none), as
        :func:`tsrnn._forecast.inputs.category_seasons` gives them.

    Returns
    -------
    Encoded
    """
    filled = [interpolated(np.asarray(v, dtype=np.float64)) for v in values]
    scaling = fit_scaling(filled, plan.scaler, plan.season_length, plan.deseasonalize, positive)
    if borrowed is not None:
        season = np.where(scaling.log[:, None], borrowed[1], borrowed[0])
        take = ~np.isnan(season).any(axis=1) & ~scaling.season.any(axis=1)
        scaling.season[take] = season[take]
    encoded = scaling.encode(values, np.arange(len(values)))
    return Encoded(scaling, Panel(encoded, xs, plan.known), encoded)


def fit_seeds(random_state: Any) -> tuple[int, int]:
    """The seeds of a fit's final networks and of its calibration networks, drawn from the
    forecaster's ``random_state`` (each network's own seed is then :func:`network_seeds`)."""
    final, calibration = check_random_state(random_state).randint(np.iinfo(np.int32).max, size=2)
    return int(final), int(calibration)


def network_seeds(seed: int, n: int) -> list[int]:
    """The seed of each of ``n`` networks, drawn from a fit's ``seed``."""
    return [int(s) for s in np.random.RandomState(seed).randint(np.iinfo(np.int32).max, size=n)]


def network_job(plan: Plan, panel: Panel, network: NetworkInput, seed: int) -> PanelJob:
    """The job of one network reading ``network``, trained with ``seed`` on ``panel``."""
    n_feat = 0 if panel.exog is None else panel.exog.shape[1]
    return PanelJob(
        params=plan.network_params(network, n_feat, seed),
        data=panel,
        network=network,
        out=plan.out,
        normalize=plan.normalize,
        batch=plan.batch,
        n_steps=plan.n_steps(network, n_feat),
        n_channels=n_channels(n_feat, network.scale_channel, network.patch),
        steps=plan.steps,
        seed=seed,
    )


def prepare(
    plan: Plan,
    values: list,
    xs: list | None,
    seed: int,
    positive: np.ndarray | None = None,
) -> Prepared:
    """Scale and encode the series, and make one job per network of ``plan``.

    Parameters
    ----------
    plan : Plan
    values : list of ndarray of shape (n_k,)
        The series.
    xs : list of ndarray of shape (n_k, n_feat) or None
        Their scaled exogenous columns.
    seed : int
        Seeds the networks (one seed each, drawn from it: :func:`network_seeds`).
    positive : ndarray of shape (n_series,) of bool or None
        See :func:`~tsrnn._forecast.scaling.fit_scaling`.

    Returns
    -------
    Prepared
    """
    scaling, panel, encoded = encode_series(plan, values, xs, positive)
    seeds = network_seeds(seed, len(plan.networks))
    jobs = [network_job(plan, panel, net, s) for net, s in zip(plan.networks, seeds, strict=True)]
    return Prepared(scaling, panel, encoded, jobs)
