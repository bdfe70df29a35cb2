"""The inputs a forecaster reads beside the target: categorical and static columns.

``fit`` turns the categorical columns of ``X`` into codes of their vocabulary and appends the
static covariates as columns constant within each series (:mod:`tsrnn._data.static`), so that
the rest of the engine sees numeric exogenous columns only; ``predict`` does the same to a
newer history with the fitted vocabularies, the fitted static rows of the series it knows and
the given rows of those it does not.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .._data.calendar import features_in, steps_between
from .._data.categories import coded, learn_categories
from .._data.checks import check_series
from .._data.static import check_static, static_columns, static_rows
from ..errors import DataError
from .covariates import with_features
from .fitted import Fitted

__all__ = [
    "Inputs",
    "category_seasons",
    "fit_inputs",
    "predict_inputs",
    "static_of",
    "static_rows_of",
]

#: Fitted series with a season, of the same categories, a new series needs to borrow theirs.
MIN_DONORS = 3


class Inputs(NamedTuple):
    """What :func:`fit_inputs` returns.

    Attributes
    ----------
    y : Series
        The checked target (:func:`~tsrnn._data.checks.check_series`).
    X : DataFrame or None
        Its numeric exogenous columns, categorical ones coded, static ones appended.
    categories : dict of str to list of str
        The vocabulary of each categorical column (of ``X`` and of ``static``).
    static : DataFrame of shape (n_series, n_static) or None
        The coded static rows, indexed by series id.
    """

    y: pd.Series
    X: pd.DataFrame | None
    categories: dict[str, list[str]]
    static: pd.DataFrame | None


def fit_inputs(y, X, static, *, missing: bool) -> Inputs:
    """Check ``y`` and ``X``, code the categorical columns and append the static ones.

    Parameters
    ----------
    y, X
        As ``RNNForecaster.fit`` takes them.
    static : DataFrame or None
        One row per series, indexed by id.
    missing : bool
        Accept NaN targets.

    Returns
    -------
    Inputs
    """
    categories = learn_categories(X if isinstance(X, pd.DataFrame) else None)
    y, X = check_series(y, coded(X, categories) if categories else X, missing=missing)
    if static is None:
        return Inputs(y, X, categories, None)
    ids = _ids(y)
    taken = [] if X is None else [str(c) for c in X.columns]
    table, found = check_static(static, ids, taken)
    return Inputs(y, static_columns(y, X, table), {**categories, **found}, table)


def static_rows_of(table: pd.DataFrame | None, ids: list) -> np.ndarray:
    """The coded static rows of the series ``ids``, (len(ids), n_static); (len(ids), 0) without
    static covariates."""
    if table is None:
        return np.zeros((len(ids), 0))
    return table.reindex(_index(ids)).to_numpy(dtype=np.float64)


def predict_inputs(
    fitted: Fitted, y, X, static, *, missing: bool
) -> tuple[Any, pd.DataFrame | None, Any]:
    """A newer history ``y`` given to ``predict``, checked (gaps filled with ``missing``), and
    its ``X``: coded, with its static columns (and calendar ones, when the model reads them).

    Parameters
    ----------
    fitted : Fitted
    y, X
        As ``predict`` takes them.
    static : DataFrame or None
        Static rows of the series ``fit`` did not see (the fitted rows serve the others).
    missing : bool
        Accept NaN targets and gaps (the forecaster's ``missing="mask"``).

    Returns
    -------
    y : Series or None
    X : DataFrame or None
    table : DataFrame of shape (n_series_of_y, n_static) or None
        The coded static rows of ``y``'s series, indexed by id (None without static columns).
    """
    if y is None:
        if static is not None:
            raise DataError("static is read with y, the history of series fit did not see.")
        return y, X, None
    covariates = fitted.covariates
    X = coded(X, covariates.categories) if isinstance(X, pd.DataFrame) else X
    y, X = check_series(y, X, missing=missing)  # the stamps the columns need
    X, table = _with_static(fitted, y, X, static)
    X = with_features(y, X, features_in(covariates.names))
    return y, X, table


def _with_static(fitted: Fitted, y, X, static) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    names = fitted.covariates.static_names
    if not names:
        if static is not None:
            raise DataError("The model was fitted without static covariates: drop static.")
        return X, None
    if not isinstance(y.index, pd.MultiIndex):
        raise DataError("The model has static covariates: pass y on a MultiIndex (id, timestamp).")
    ids = list(pd.unique(y.index.get_level_values(0)))
    kept = fitted.series
    rows = pd.DataFrame(
        np.zeros((0, len(names))) if kept is None else kept.static,
        index=_index([] if kept is None else kept.ids),
        columns=names,
    )
    seen = _index(ids).isin(rows.index)
    table = rows.reindex(_index([i for i, s in zip(ids, seen, strict=True) if s]))
    if not seen.all():
        unseen = [i for i, s in zip(ids, seen, strict=True) if not s]
        if static is None:
            raise DataError(
                f"Series {unseen[0]!r} was not seen in fit: pass its static covariates "
                f"({', '.join(names)}) with static=, one row per new series (in the CLI: as "
                "columns of --data)."
            )
        if not isinstance(static, pd.DataFrame) or [str(c) for c in static.columns] != names:
            given = list(static.columns) if isinstance(static, pd.DataFrame) else static
            raise DataError(f"static has columns {given!r}; the model was fitted with {names!r}.")
        table = pd.concat([table, static_rows(static, unseen, fitted.covariates.categories)])
    return static_columns(y, X, table), table


def static_of(fitted: Fitted, ids: list, table: pd.DataFrame | None) -> np.ndarray | None:
    """The coded static rows of the series ``ids`` (from ``table``, else from the fit).

    Returns
    -------
    ndarray of shape (len(ids), n_static) or None
        None when the model has no static covariates.
    """
    if not fitted.covariates.static_names:
        return None
    if table is None:
        return fitted.series.static[fitted.series.rows_of(ids)]
    return table.reindex(_index(ids)).to_numpy(dtype=np.float64)


def category_seasons(
    fitted: Fitted, ids: list, lengths: np.ndarray, last: list, table: pd.DataFrame | None
) -> np.ndarray | None:
    """The season a series too short to show its own borrows from its categories' series.

    A new product with two weeks of a daily history cannot be tested for a weekly season (it
    takes three seasons), but the fitted series of its categories (every categorical static
    column equal, none unknown) can: it takes the mean of their seasonal indices, aligned on
    the calendar, where at least ``MIN_DONORS`` of them have a season and were scaled as it
    will be (log or standard score).

    Parameters
    ----------
    fitted : Fitted
        Of series it keeps, with categorical static covariates.
    ids : list
        The series to forecast.
    lengths : ndarray of shape (n,)
        Their lengths.
    last : list
        Their last stamps.
    table : DataFrame or None
        Their coded static rows (:func:`predict_inputs`).

    Returns
    -------
    ndarray of shape (2, n, season_length) or None
        Row 0 for a series that will be standard-scored, row 1 for a log-scaled one; NaN
        where nothing is borrowed. None when nothing can be.
    """
    m, kept = fitted.plan.season_length, fitted.series
    covariates = fitted.covariates
    coded = [k for k, name in enumerate(covariates.static_names) if name in covariates.categories]
    short = np.asarray(lengths) < 3 * m
    if m <= 1 or not fitted.plan.deseasonalize or not coded or table is None:
        return None
    if kept is None or not short.any():
        return None
    keys = table.reindex(_index(ids)).to_numpy(dtype=np.float64)[:, coded]
    fitted_keys = kept.static[:, coded]
    season, log = kept.scaling.season, kept.scaling.log
    origin = [kept.last[0]]
    ends = steps_between(origin * len(season), kept.last, fitted.freq) % m
    # Index by the calendar: column a of a row is its season at the steps a (mod m) from origin.
    phase = (np.arange(m)[None, :] - ends[:, None] - 1) % m
    aligned = season[np.arange(len(season))[:, None], phase]
    starts = steps_between(origin * len(ids), last, fitted.freq) % m
    out = np.full((2, len(ids), m), np.nan)
    wanted = np.flatnonzero(short & (keys > 0).all(axis=1))
    if not len(wanted):
        return out
    # One mean per group of categories (and scaling), however many new series share it.
    groups, which = np.unique(keys[wanted], axis=0, return_inverse=True)
    seasonal = season.any(axis=1)
    for g, key in enumerate(groups):
        same = seasonal & (fitted_keys == key).all(axis=1)
        members = wanted[which.ravel() == g]
        phases = (starts[members][:, None] + np.arange(m)[None, :] + 1) % m
        for flag in (0, 1):
            donors = same & (log == bool(flag))
            if donors.sum() >= MIN_DONORS:
                out[flag, members] = aligned[donors].mean(axis=0)[phases]
    return out


def _ids(y: pd.Series) -> list:
    if not isinstance(y.index, pd.MultiIndex):
        return [None]
    return list(pd.unique(y.index.get_level_values(0)))


def _index(ids: list) -> pd.Index:
    return pd.Index(pd.Series(ids, dtype=object))
