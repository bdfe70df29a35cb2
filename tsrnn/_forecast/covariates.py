"""Exogenous columns of a forecaster: their scaling, and their future values at predict time."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from .._data.calendar import (
    CALENDAR,
    calendar_columns,
    calendar_features,
    features_in,
    future_stamps,
    holiday_feature,
)
from .._data.categories import coded
from .._data.groups import group_rows
from ..errors import DataError

__all__ = [
    "Covariates",
    "InputColumns",
    "calendar_inputs",
    "column_scaling",
    "exog_columns",
    "fit_columns",
    "with_calendar",
    "with_features",
]


def fit_columns(kind: str, arrays: list, codes=()) -> tuple[np.ndarray, np.ndarray]:
    """``loc`` and ``scale`` of each exogenous column over all series' rows.

    Parameters
    ----------
    kind : {"auto", "standard", "log", "minmax", "none"}
        The forecaster's ``scaler``: a standard score unless ``"minmax"`` or ``"none"``.
    arrays : list of ndarray of shape (n_k, n_feat)
    codes : sequence of bool, default=()
        Per column, whether it holds category codes, which are never scaled.

    Returns
    -------
    loc, scale : ndarray of shape (n_feat,)
        A constant column keeps its units (scale 1); a column of codes gets 0 and 1.
    """
    stacked = np.concatenate(arrays, axis=0)
    return column_scaling(
        kind,
        stacked.mean(axis=0),
        stacked.std(axis=0),
        stacked.min(axis=0),
        stacked.max(axis=0),
        codes,
    )


def column_scaling(
    kind: str, mean: np.ndarray, std: np.ndarray, low: np.ndarray, high: np.ndarray, codes=()
) -> tuple[np.ndarray, np.ndarray]:
    """``loc`` and ``scale`` of columns from their moments (:func:`fit_columns`'s rule, also
    used on a Dask dataset, whose moments are pooled over buckets).

    Parameters
    ----------
    kind : {"auto", "standard", "log", "minmax", "none"}
    mean, std, low, high : ndarray of shape (n_feat,)
        Mean, standard deviation (population), minimum and maximum of each column.
    codes : sequence of bool, default=()
        Per column, whether it holds category codes (loc 0, scale 1).

    Returns
    -------
    loc, scale : ndarray of shape (n_feat,)
    """
    if kind == "minmax":
        loc, scale = low, high - low
    elif kind == "none":
        loc, scale = np.zeros(len(mean)), np.ones(len(mean))
    else:
        loc, scale = mean, std
    scale = np.where(scale > 0, scale, 1.0)
    if len(codes) and np.any(codes):
        loc, scale = np.where(codes, 0.0, loc), np.where(codes, 1.0, scale)
    return np.asarray(loc, dtype=np.float64), np.asarray(scale, dtype=np.float64)


def exog_columns(X: pd.DataFrame | None, hist_exog) -> list[str]:
    """The columns of ``X``, checked to hold every past-only column ``hist_exog`` names.

    Raises
    ------
    DataError
        If ``hist_exog`` names a column ``X`` lacks.
    """
    columns = [] if X is None else [str(c) for c in X.columns]
    unknown = sorted({str(c) for c in hist_exog or ()} - set(columns))
    if unknown:
        raise DataError(
            f"hist_exog names {unknown!r}, which X does not have: pass them in X (its columns: "
            f"{columns!r})."
        )
    return columns


def calendar_inputs(freq: str | int, auto: bool, holidays: str | None) -> list[str]:
    """The calendar features a forecaster reads: the cycles of ``freq`` (``auto``, its
    ``calendar="auto"``) and the public holidays of a country (its ``holidays``).

    Examples
    --------
    >>> calendar_inputs("D", True, None), calendar_inputs("MS", False, None)
    (['weekday', 'yearday'], [])
    """
    return (calendar_features(freq) if auto else []) + (
        [holiday_feature(holidays, freq)] if holidays else []
    )


def with_calendar(
    y, X: pd.DataFrame | None, freq: str | int, auto: bool = True, holidays: str | None = None
) -> pd.DataFrame | None:
    """``X`` with the calendar columns of ``y``'s stamps appended (:func:`calendar_features`
    of ``freq``, and the holidays of a country; ``X`` itself where none can help).

    Parameters
    ----------
    y : Series
        On a time index or a ``MultiIndex`` (id, timestamp).
    X : DataFrame or None
        On the index of ``y``.
    freq : str or int
    auto : bool, default=True
        Add the cyclic features of ``freq`` (``calendar="auto"``).
    holidays : str or None, default=None
        A country code (:func:`~tsrnn._data.calendar.holiday_feature`).

    Returns
    -------
    DataFrame or None
    """
    return with_features(y, X, calendar_inputs(freq, auto, holidays))


def with_features(y, X: pd.DataFrame | None, features: list[str]) -> pd.DataFrame | None:
    """``X`` with the columns of the calendar ``features`` of ``y``'s stamps appended
    (:func:`~tsrnn._data.calendar.calendar_columns`; ``X`` itself without features)."""
    if not features:
        return X
    index = y.index
    stamps = index.get_level_values(-1) if isinstance(index, pd.MultiIndex) else index
    names, values = calendar_columns(stamps, features)
    calendar = pd.DataFrame(values, index=index, columns=names)
    return calendar if X is None else pd.concat([X, calendar], axis=1)


class InputColumns(NamedTuple):
    """The input columns of a fitted forecaster, by role
    (:meth:`tsrnn.RNNForecaster.input_columns`)."""

    exog: list[str]
    hist_exog: list[str]
    future: list[str]
    static: list[str]
    calendar: list[str]

    @classmethod
    def of(cls, covariates: Covariates) -> InputColumns:
        """The roles of ``covariates``' columns."""
        return cls(
            exog=covariates.exog_names,
            hist_exog=covariates.hist_exog_names,
            future=covariates.future_names,
            static=covariates.static_names,
            calendar=covariates.calendar_names,
        )


class Covariates:
    """The exogenous columns a forecaster was fitted with, and how they were scaled.

    Parameters
    ----------
    names : sequence of str
        Column names, in order (empty without exogenous columns).
    loc, scale : ndarray of shape (n_feat,)
    known : sequence of bool, default=()
        Per column, whether its future values are known; past-only columns (False) are read
        over the history only and never asked of ``X_future``. Empty: all known.
    categories : dict of str to list of str, default=None
        The vocabulary of each categorical column (:mod:`tsrnn._data.categories`).
    static : sequence of str, default=()
        The static columns (constant per series), which ``X_future`` never holds.
    """

    def __init__(
        self, names, loc: np.ndarray, scale: np.ndarray, known=(), categories=None, static=()
    ) -> None:
        self.names = [str(c) for c in names]
        self.loc, self.scale = loc, scale
        self.known = np.asarray(known, dtype=bool) if len(known) else np.ones(len(self.names), bool)
        self.categories = dict(categories or {})
        self.static = np.array([name in set(static) for name in self.names], dtype=bool)

    @property
    def calendar(self) -> np.ndarray:
        """Per column, whether it is a calendar column (made from the stamps)."""
        return np.array([name.startswith(CALENDAR) for name in self.names], dtype=bool)

    def _where(self, mask: np.ndarray) -> list[str]:
        return [name for name, m in zip(self.names, mask, strict=True) if m]

    @property
    def exog_names(self) -> list[str]:
        """The columns read from ``X`` (known and past-only), in order."""
        return self._where(~self.static & ~self.calendar)

    @property
    def hist_exog_names(self) -> list[str]:
        """The past-only columns of ``X``, never asked of ``X_future``."""
        return self._where(~self.static & ~self.calendar & ~self.known)

    @property
    def future_names(self) -> list[str]:
        """The columns whose future values ``predict`` needs."""
        return self._where(~self.static & ~self.calendar & self.known)

    @property
    def static_names(self) -> list[str]:
        """The static columns, one value per series."""
        return self._where(self.static)

    @property
    def calendar_names(self) -> list[str]:
        """The calendar columns, made from the stamps."""
        return self._where(self.calendar)

    def coded(self, X: pd.DataFrame | None, what: str = "X") -> pd.DataFrame | None:
        """``X`` with its categorical columns as codes of the fitted vocabularies."""
        return coded(X, self.categories, what)

    def check_columns(self, X: pd.DataFrame, what: str, names: list[str] | None = None) -> None:
        """Refuse ``X`` unless it has the fitted columns (or ``names``), in the same order."""
        expected = self.names if names is None else names
        given = [str(c) for c in X.columns]
        if given != expected:
            raise DataError(
                f"{what} has columns {given!r} but the model was fitted with "
                f"{expected!r}: pass the same columns in the same order."
            )

    def scaled(self, xs: list) -> list:
        """Each array of ``xs`` (n_k, n_feat) with the fitted scaling applied."""
        return [(x - self.loc) / self.scale for x in xs]

    def future(
        self,
        X_future: pd.DataFrame | pd.Series | None,
        horizon: int,
        keys: list,
        last: list,
        freq: str | int,
        multi: bool,
        static: np.ndarray | None = None,
    ) -> np.ndarray | None:
        """The scaled future rows of each forecast series, checked against its stamps.

        Parameters
        ----------
        X_future : DataFrame or None
            ``horizon`` rows per series of the columns known in the future, on a time index
            (one series) or a ``MultiIndex`` (id, timestamp).
        horizon : int
        keys : list
            Id of each forecast series.
        last : list
            Last stamp of each forecast series.
        freq : str or int
        multi : bool
            Whether the model was fitted on many series (``X_future`` then has a
            ``MultiIndex``).
        static : ndarray of shape (n_series, n_static) or None, default=None
            The coded static rows of the forecast series, with static columns.

        Returns
        -------
        ndarray of shape (n_series, horizon, n_feat), or None without exogenous columns

        Raises
        ------
        DataError
            If ``X_future`` is missing or unexpected, has other columns, misses a series,
            has another number of rows or other stamps than the forecast, or holds NaN.
        """
        if not self.names:
            if X_future is not None:
                raise DataError("The model was fitted without X: call predict without X_future.")
            return None
        expected = future_stamps(last, freq, horizon)
        blocks = np.zeros((len(keys), horizon, len(self.names)))  # past-only columns: 0 ahead
        calendar = self.calendar
        if calendar.any():  # generated from the future stamps
            features = features_in(self.names)
            for k in range(len(keys)):
                values = calendar_columns(expected[k], features)[1]
                blocks[k][:, calendar] = (values - self.loc[calendar]) / self.scale[calendar]
        if self.static.any():  # constant per series: the fitted (or given) rows
            blocks[:, :, self.static] = (
                (static - self.loc[self.static]) / self.scale[self.static]
            )[:, None, :]
        given = self.known & ~calendar & ~self.static
        wanted = [name for name, g in zip(self.names, given, strict=True) if g]
        if not wanted:  # calendar, static or past-only columns: nothing to know of the future
            if X_future is not None:
                raise DataError(
                    f"The model reads no future values of {self.names!r} (calendar, static "
                    "or past-only columns): call predict without X_future."
                )
            return blocks
        if X_future is None:
            raise DataError(
                f"The model was fitted with X: pass X_future with the {horizon} future rows of "
                f"columns {wanted!r}."
            )
        if isinstance(X_future, pd.Series):
            X_future = X_future.to_frame()
        if not isinstance(X_future, pd.DataFrame):
            raise DataError(f"X_future must be a pandas DataFrame; got {type(X_future).__name__}.")
        if [str(c) for c in X_future.columns] != wanted:  # more given: only these are read
            present = [c for c in X_future.columns if str(c) in wanted]
            if [str(c) for c in present] == wanted:
                X_future = X_future[present]
        self.check_columns(X_future, "X_future", wanted)
        X_future = self.coded(X_future, "X_future")
        groups = group_rows(X_future.index.get_level_values(0)) if multi else None
        block_of = {key: g for g, key in enumerate(groups.keys)} if multi else {}
        for k, key in enumerate(keys):
            part = X_future
            if multi:
                if key not in block_of:
                    raise DataError(f"X_future has no rows for series {key!r}: add them.")
                g = block_of[key]
                part = X_future.iloc[groups.order[groups.starts[g] : groups.starts[g + 1]]]
                part = part.droplevel(0)
            who = f" for series {key!r}" if multi else ""
            if len(part) != horizon:
                raise DataError(
                    f"X_future has {len(part)} rows{who} but horizon={horizon}: pass one row "
                    "per forecast step."
                )
            if isinstance(part.index, pd.DatetimeIndex):
                stamps = pd.DatetimeIndex(expected[k])
                if not part.index.equals(stamps):
                    raise DataError(
                        f"X_future{who} starts at {part.index[0]} but the forecast starts at "
                        f"{stamps[0]}: index it by the {horizon} timestamps after the history."
                    )
            values = part.to_numpy(dtype=np.float64)
            if not np.isfinite(values).all():
                raise DataError(f"X_future{who} holds NaN or inf: fill it first.")
            blocks[k][:, given] = (values - self.loc[given]) / self.scale[given]
        return blocks
