"""Fit a forecaster on a dataset of a Dask cluster: the networks train where the data live.

The flow of a fit in one process (:mod:`tsrnn._forecast.fit`), with the series in buckets on
the workers: the client plans the fit from the buckets' summaries
(:func:`tsrnn._forecast.plan.plan_for`, the same sizes a fit in one process resolves) and the
input columns' scaling from per-bucket moments (:mod:`tsrnn._dataset.columns`), then:

1. **training** (:mod:`tsrnn._dataset.train`): one rank per worker, holding the buckets
   assigned to it; every rank trains every network of the ensemble (the final ones and their
   calibration twins) in lockstep, with one all-reduce of all gradients a step; a worker lost
   meanwhile costs the steps since the last state the ranks shared (training resumes on the
   live workers from there).
2. **calibration** (:mod:`tsrnn._dataset.calibrate`): each bucket scores its own held-out
   windows with the calibration networks; the client receives sums and counts per bucket, and
   the ratios themselves only while they are few.

The result is a :class:`~tsrnn._forecast.fitted.Fitted` that keeps no series (networks,
calibration, sizes, no row and no per-series state), which the forecaster adopts.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np

from .._dask.connect import fetch
from .._dask.memory import in_gib, release_memory
from .._forecast.calibration import Calibration, no_window_error, windows_per_series
from .._forecast.covariates import Covariates, calendar_inputs
from .._forecast.fitted import Fitted
from .._forecast.jobs import fit_seeds, network_seeds
from .._forecast.plan import known_columns, plan_for
from .._train.progress import Progress, log_stage
from ..errors import DataError, ParameterError, check_params
from ..forecaster import RNNForecaster
from .calibrate import calibrate_buckets, count_kept
from .columns import calendar_names, column_moments, pooled_scaling
from .read import SeriesDataset
from .train import RankSpec, train_ranks

__all__ = ["fit_dataset"]


def fit_dataset(
    model: RNNForecaster,
    dataset: SeriesDataset,
    *,
    ranks: int | None = None,
    timeout: float = 60.0,
    verbose: int = 0,
) -> RNNForecaster:
    """Fit ``model`` on ``dataset`` where its buckets live (see the module docstring).

    Parameters
    ----------
    model : RNNForecaster
        Unfitted; its parameters are used as in ``fit``: ``missing="mask"`` masks the NaN
        targets and gaps of the dataset (``"raise"`` refuses them), ``calendar="auto"`` makes
        the workers build the calendar columns of their stamps, scaled over every bucket's
        rows as ``fit`` scales them (``feature_names_in_``, ``x_loc_``, ``x_scale_``); the
        dataset's text columns are read through embeddings of their vocabularies
        (``categories_``), and its static columns as columns constant within each series
        (``static_names_``; ``static_`` holds no row: the model keeps no series), as in
        memory.
    dataset : SeriesDataset
    ranks : int or None, default=None
        Ranks of the training (one per worker); None: every worker.
    timeout : float, default=60.0
        Seconds allowed to form the ranks' group and for each of its collectives, and for a
        lost worker's nanny to bring it back.
    verbose : int, default=0
        A progress bar of the stages.

    Returns
    -------
    RNNForecaster
        ``model``, fitted; it keeps no series (``series_ids_`` is None), and its ``timings_``
        hold the seconds of ``"training"`` and ``"calibration"`` (the workers' peak memory
        during each is in ``dataset.peaks``).

    Raises
    ------
    DataError
        If no series is long enough for a calibration window, or the dataset has missing
        values (NaN targets, gaps) and ``model.missing`` is ``"raise"``.
    ClusterError
        If every worker of the training leaves the cluster and none comes back: the fit
        stops with one message.

    Warns
    -----
    ClusterWarning
        When a worker of the training left the cluster and training resumed from a
        checkpoint (:mod:`tsrnn._dask.elastic`): the fit completes with the same steps.
    """
    check_params(model)
    params = model.get_params()
    if params["missing"] == "raise" and dataset.missing_error:
        raise DataError(dataset.missing_error)
    _check_hist_exog(params["hist_exog"], dataset)
    client = dataset.client
    covariates = _covariates(params, dataset)
    plan = plan_for(
        params,
        dataset.freq,
        longest=dataset.longest,
        n_windows=dataset.n_windows,
        columns=covariates.names,
        categories=covariates.categories,
    )
    final_seed, calibration_seed = fit_seeds(params["random_state"])
    interval = params["interval"]
    spec = RankSpec(
        plan,
        network_seeds(final_seed, len(plan.networks)),
        n_series=dataset.n_series,
        covariates=covariates,
    )
    if interval is not None:
        size = windows_per_series(params["calibration_size"], dataset.n_series, dataset.longest)
        kept = client.map(count_kept, dataset.buckets, horizon=plan.horizon, size=size, pure=False)
        spec.size, spec.n_kept = size, int(sum(fetch(client, kept)))
        if not spec.n_kept:
            raise no_window_error(plan.horizon, interval)
        spec.calibration_seeds = network_seeds(calibration_seed, len(plan.networks))
    start = time.perf_counter()
    with Progress(verbose, 2, "fit on the cluster", "stages") as bar:
        with dataset.measure("training"):
            final, held = train_ranks(client, dataset, spec, ranks=ranks, timeout=timeout)
        with contextlib.suppress(Exception):  # the ranks' windows, back to the system
            client.run(release_memory)
        bar.advance()
        trained = time.perf_counter()
        log_stage(
            "training",
            trained - start,
            networks=len(final) + len(held or []),
            steps=plan.steps,
            series=dataset.n_series,
            peak_gib=in_gib(dataset.peaks["training"]),
        )
        found = Calibration.none(plan.horizon, params["combine"])
        if interval is not None:
            with dataset.measure("calibration"):
                found = calibrate_buckets(
                    dataset,
                    plan=plan,
                    models=held,
                    covariates=covariates,
                    size=spec.size,
                    combine=params["combine"],
                    interval=interval,
                )
            log_stage(
                "calibration",
                time.perf_counter() - trained,
                series=spec.n_kept,
                windows=found.n,
                peak_gib=in_gib(dataset.peaks["calibration"]),
            )
        bar.advance()
    fitted = Fitted(
        plan=plan,
        models=final,
        calibration=found,
        covariates=covariates,
        freq=dataset.freq,
        multi=True,
        index_names=[dataset.columns.id, dataset.columns.time],
        name=dataset.columns.target,
        series=None,  # the series stay on the workers
        timings={"training": trained - start, "calibration": time.perf_counter() - trained},
    )
    return model._adopt(fitted)


def _covariates(params: dict, dataset: SeriesDataset) -> Covariates:
    """The input columns (exogenous, static, then the calendar's with ``calendar="auto"``) and
    their scaling over every bucket's rows, as ``fit`` scales them
    (:mod:`tsrnn._dataset.columns`): the codes of text columns are left as they are (loc 0,
    scale 1)."""
    auto = params["calendar"] == "auto"
    features = calendar_inputs(dataset.freq, auto, params["holidays"])
    static = list(dataset.columns.static)
    names = [*dataset.columns.exog, *static, *calendar_names(features)]
    if not names:
        return Covariates([], np.zeros(0), np.zeros(0))
    client = dataset.client
    parts = client.map(
        column_moments, dataset.buckets, features=features, n_feat=len(names), pure=False
    )
    categories = dict(dataset.categories)
    codes = [name in categories for name in names]
    loc, scale = pooled_scaling(params["scaler"], fetch(client, parts), codes)
    known = known_columns(names, params["hist_exog"])
    return Covariates(names, loc, scale, known, categories, static)


def _check_hist_exog(hist_exog: list | None, dataset: SeriesDataset) -> None:
    """The model's past-only columns are the dataset's: read, and read as past-only."""
    past_only = [str(c) for c in hist_exog or ()]
    unread = [c for c in past_only if c not in dataset.columns.exog]
    if unread:
        raise DataError(
            f"hist_exog names {unread!r}, which {dataset.label} was not read with: read them "
            f"with read_dataset(..., hist_exog={past_only!r})."
        )
    unsaid = [c for c in dataset.hist_exog if c not in past_only]
    if unsaid:
        raise ParameterError(
            f"{dataset.label} was read with hist_exog={list(dataset.hist_exog)!r} but the model "
            f"has hist_exog={hist_exog!r}: fit RNNForecaster(hist_exog="
            f"{list(dataset.hist_exog)!r}) on it."
        )
