"""The pure task of the search: fit one candidate on one fold and score it.

Everything here runs inside a Dask worker (or in-process, for a baseline) and touches no
client: :func:`fit_and_score` receives the scattered data by future, trains, scores, times,
and returns a plain record. A failing fit is a *result* (the record carries the error), never an
exception, so Dask never retries it; only a lost worker makes Dask run a task again.
"""

from __future__ import annotations

import copy
import inspect
import math
import os
import time
import traceback
from dataclasses import dataclass
from typing import Any

from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing

from .._dask.worker import prepare_worker_thread, worker_address

__all__ = ["Payload", "fit_and_score", "fit_record", "record_of", "train_steps"]


@dataclass
class Payload:
    """What every task of one search shares; scattered to the cluster once.

    Attributes
    ----------
    estimator : estimator
        The unfitted estimator; each task clones it and sets its candidate's parameters.
    X, y : array-like
        The whole data set. For a forecaster search ``X`` is the series and ``y`` the
        exogenous frame (or None).
    splits : list of (ndarray, ndarray)
        Train and test positions of each fold; for a forecaster search, the number of
        points each fold drops from the end of every series (``(cut, None)``).
    scorer : callable
        ``scorer(estimator, X_test, y_test) -> float``, greater is better; for a forecaster,
        ``scorer(forecaster, series, exog) -> float`` on the fold's series.
    return_train_score : bool
        Also score on the training part.
    forecaster : bool
        Folds are backtest origins (``RollingOrigin``).
    budget : str
        How a halving rung spends epochs: ``"partial_fit"`` continues the previous rung's
        model; a parameter name (``"epochs"``, ``"step__epochs"``) refits a fresh model with
        that many epochs (estimators without ``partial_fit``, e.g. ``RNNForecaster``).
    """

    estimator: Any
    X: Any
    y: Any
    splits: list
    scorer: Any
    return_train_score: bool = False
    forecaster: bool = False
    budget: str = "partial_fit"


def fit_and_score(
    payload: Payload,
    params: dict,
    fold: int,
    steps: tuple[int, ...] | None,
    previous: tuple | None = None,
    *,
    keep_model: bool = False,
    catch: bool = True,
) -> dict | tuple[Any, dict]:
    """Fit ``params`` on fold ``fold`` and score it on the fold's test part.

    Parameters
    ----------
    payload : Payload
        Shared data, splits, estimator and scorer.
    params : dict
        The candidate's parameters, set on a clone of ``payload.estimator``.
    fold : int
        Index into ``payload.splits``.
    steps : tuple of int or None
        ``None``: one ``fit``. Otherwise epochs of successive ``partial_fit`` calls (the
        budget of successive halving); with ``previous``, the calls continue its model. When
        ``payload.budget`` names a parameter, it is set to ``sum(steps)`` before one ``fit``.
    previous : (model, record) or None
        The result of this (candidate, fold)'s previous rung, when kept on the cluster.
    keep_model : bool
        Return ``(model, record)`` instead of the record, so that a later rung can continue.
    catch : bool
        Record an exception of the fit or the scorer instead of raising it.

    Returns
    -------
    dict or (model, dict)
        The record: ``test_score``, ``train_score`` (or None), ``fit_time``, ``score_time``,
        ``error`` (None, or ``"Type: message"``), ``traceback``, ``worker``, ``pid``,
        ``torch_threads``, ``device``.
    """
    threads = prepare_worker_thread()
    record = fit_record(
        fit_time=0.0,
        score_time=0.0,
        worker=worker_address(),
        pid=os.getpid(),
        torch_threads=threads,
    )
    model = None
    start = time.perf_counter()
    try:
        if previous is None:
            model = clone(payload.estimator).set_params(**params)
            continuing = False
        else:
            # A copy: the previous rung's result stays intact should this task run again.
            model, continuing = copy.deepcopy(previous[0]), True
        if steps is not None and payload.budget != "partial_fit":
            model.set_params(**{payload.budget: sum(steps)})
            steps = None
        if payload.forecaster:
            record.update(_forecast_fold(payload, model, fold))
        else:
            record.update(_fit_fold(payload, model, fold, steps, continuing, start))
        record["device"] = _device_of(model)
    except Exception as exc:  # a failing candidate is a result, not a task failure
        if not catch:
            raise
        record["fit_time"] = record["fit_time"] or time.perf_counter() - start
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["traceback"] = traceback.format_exc(limit=-8)
        model = None
    return (model, record) if keep_model else record


def fit_record(**values: Any) -> dict[str, Any]:
    """A fit's record: ``values`` over those of a fit that has not run.

    Parameters
    ----------
    **values
        Any of ``task`` (its Dask key), ``test_score``, ``train_score``, ``fit_time``,
        ``score_time``, ``error``, ``traceback``, ``worker``, ``pid``, ``torch_threads``,
        ``device``; ``journal=True`` marks a record read back from the journal.

    Returns
    -------
    dict
    """
    record: dict[str, Any] = {
        "task": None,
        "test_score": math.nan,
        "train_score": None,
        "fit_time": math.nan,
        "score_time": math.nan,
        "error": None,
        "traceback": None,
        "worker": None,
        "pid": None,
        "torch_threads": None,
        "device": None,
    }
    unknown = set(values) - set(record) - {"journal"}
    if unknown:
        raise TypeError(f"fit_record got unknown fields {sorted(unknown)}")
    record.update(values)
    return record


def train_steps(model: Any, X: Any, y: Any, steps: tuple[int, ...], continuing: bool) -> Any:
    """Train ``model`` by ``partial_fit`` calls of ``steps`` epochs each.

    The estimator's ``partial_fit`` receives ``epochs=`` when it takes it (``RNNRegressor``);
    otherwise it is called once per epoch. For a ``Pipeline``, the steps before the last are
    fitted on the first call and only transform afterwards.

    Parameters
    ----------
    model : estimator or Pipeline
    X, y : array-like
    steps : tuple of int
        Epochs of each call, e.g. ``(2, 4, 12)`` for budgets of 2, 6 and 18 epochs.
    continuing : bool
        Whether ``model`` was already trained by earlier steps.

    Returns
    -------
    model
    """
    final = model
    if isinstance(model, Pipeline):
        head, final = model[:-1], model[-1]
        X = head.transform(X) if continuing else head.fit_transform(X, y)
    takes_epochs = "epochs" in inspect.signature(final.partial_fit).parameters
    for epochs in steps:
        if takes_epochs:
            final.partial_fit(X, y, epochs=epochs)
        else:
            for _ in range(epochs):
                final.partial_fit(X, y)
    return model


def record_of(result: tuple[Any, dict]) -> dict:
    """The record of a ``keep_model=True`` result (a second, tiny task beside the model)."""
    return result[1]


def _fit_fold(
    payload: Payload, model: Any, fold: int, steps, continuing: bool, start: float
) -> dict[str, Any]:
    train, test = payload.splits[fold]
    X_train, y_train = _safe_indexing(payload.X, train), _safe_indexing(payload.y, train)
    if steps is None:
        model.fit(X_train, y_train)
    else:
        train_steps(model, X_train, y_train, steps, continuing)
    fit_time = time.perf_counter() - start
    X_test, y_test = _safe_indexing(payload.X, test), _safe_indexing(payload.y, test)
    test_score = float(payload.scorer(model, X_test, y_test))
    train_score = None
    if payload.return_train_score:
        train_score = float(payload.scorer(model, X_train, y_train))
    score_time = time.perf_counter() - start - fit_time
    return {
        "test_score": test_score,
        "train_score": train_score,
        "fit_time": fit_time,
        "score_time": score_time,
    }


def _forecast_fold(payload: Payload, model: Any, fold: int) -> dict[str, Any]:
    """Score a forecaster at one backtest origin: the series less the fold's tail."""
    cut = payload.splits[fold][0]
    series, exog = _drop_tail(payload.X, cut), _drop_tail(payload.y, cut)
    start = time.perf_counter()
    score, fit_time = payload.scorer(model, series, exog)
    return {
        "test_score": float(score),
        "fit_time": float(fit_time),
        "score_time": time.perf_counter() - start - fit_time,
    }


def _drop_tail(frame: Any, cut: int) -> Any:
    """``frame`` without its last ``cut`` rows (per series for a (id, time) MultiIndex)."""
    if frame is None or cut == 0:
        return frame
    import pandas as pd

    if isinstance(frame.index, pd.MultiIndex):
        keep = frame.groupby(level=0, sort=False).cumcount(ascending=False) >= cut
        return frame[keep.to_numpy()]
    return frame.iloc[: len(frame) - cut]


def _device_of(model: Any) -> str | None:
    final = model[-1] if isinstance(model, Pipeline) else model
    device = getattr(final, "device_", None)
    if device is None and hasattr(final, "models_"):  # RNNForecaster
        device = getattr(final.models_[0], "device_", None) if final.models_ else None
    return None if device is None else str(device)
