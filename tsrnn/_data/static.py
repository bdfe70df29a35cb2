"""Static covariates: one row per series (a store's size, a product's group), checked and coded.

The forecaster reads them as exogenous columns constant within each series (numeric ones
scaled, categorical ones as codes read through embeddings), in the history and in the steps
ahead alike, so ``predict`` never asks for them in ``X_future``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError
from .categories import coded, learn_categories

__all__ = ["check_static", "not_a_number", "static_columns", "static_rows"]


def check_static(static, ids: list, taken: list[str]) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """The static covariates of the series ``ids``, coded, and the vocabulary of each
    categorical one.

    Parameters
    ----------
    static : DataFrame of shape (n_series, n_static)
        Indexed by series id (at least every id of ``ids``); numeric and categorical columns.
    ids : list
        The series of the fit, in order.
    taken : list of str
        Column names already in use (``X``'s): a static column may not repeat one.

    Returns
    -------
    table : DataFrame of shape (len(ids), n_static)
        float64 values (categorical columns as codes), one row per id of ``ids``, in order.
    categories : dict of str to list of str
        The vocabulary of each categorical column.

    Raises
    ------
    DataError
        If ``static`` is not a DataFrame with columns, repeats an id or a column of ``X``,
        lacks a series of ``ids``, or has a non-numeric or empty value.
    """
    if not isinstance(static, pd.DataFrame) or static.shape[1] == 0:
        raise DataError(
            "static must be a pandas DataFrame indexed by series id, one column per static "
            f"covariate; got {type(static).__name__}."
        )
    if ids == [None]:
        raise DataError(
            "static covariates tell series apart: pass many series (y on a MultiIndex (id, "
            "timestamp)), or give a single series' constants as columns of X."
        )
    names = [str(c) for c in static.columns]
    clash = sorted(set(names) & set(taken))
    if clash:
        raise DataError(f"static repeats the column(s) {clash!r} of X: rename or drop them.")
    if static.index.has_duplicates:
        twice = static.index[static.index.duplicated()][0]
        raise DataError(f"static has two rows for series {twice!r}: keep one row per series.")
    categories = learn_categories(static, "static")
    return static_rows(static, ids, categories), categories


def static_rows(static, ids: list, categories: dict[str, list[str]]) -> pd.DataFrame:
    """Coded static rows of the series ``ids``, in order.

    Parameters
    ----------
    static : DataFrame
        Indexed by series id.
    ids : list
    categories : dict of str to list of str
        The fitted vocabularies (values outside them get code 0: unknown).

    Returns
    -------
    DataFrame of shape (len(ids), n_static), float64

    Raises
    ------
    DataError
        If a series of ``ids`` has no row, or a numeric column has a non-numeric or empty
        value.
    """
    index = pd.Index(pd.Series(static.index, dtype=object))
    at = index.get_indexer(pd.Index(pd.Series(ids, dtype=object)))
    if (at < 0).any():
        lacking = [ids[k] for k in np.flatnonzero(at < 0)]
        more = f" (and {len(lacking) - 3} more)" if len(lacking) > 3 else ""
        raise DataError(
            f"static has no row for series {', '.join(map(repr, lacking[:3]))}{more}: add "
            "one row per series."
        )
    table = coded(static.iloc[at], categories, "static")
    out = {}
    for name in table.columns:
        values, bad = not_a_number(table[name])
        if bad is not None:
            k, what = bad
            raise DataError(
                f"static column {str(name)!r} has {what} for series {ids[k]!r}: give a number "
                "(or text, for a category) for every series."
            )
        out[str(name)] = values
    return pd.DataFrame(out, index=pd.Index(pd.Series(ids, dtype=object)))


def not_a_number(column: pd.Series) -> tuple[np.ndarray, tuple[int, str] | None]:
    """A static column's values as numbers, and the first one that is not a number.

    Parameters
    ----------
    column : Series of shape (n,)
        Numbers, or the codes of a categorical column.

    Returns
    -------
    values : ndarray of shape (n,), float64
    bad : (int, str) or None
        Position of the first value that is empty or not a number, and how messages call it
        (``"an empty value (NaN)"`` or the value quoted); None when every value is a number.

    Examples
    --------
    >>> not_a_number(pd.Series([1.0, None, 3.0]))[1]
    (1, 'an empty value (NaN)')
    """
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if not bad.any():
        return values, None
    k = int(np.flatnonzero(bad)[0])
    given = column.iloc[k]
    return values, (k, "an empty value (NaN)" if pd.isna(given) else repr(str(given)))


def static_columns(y: pd.Series, X: pd.DataFrame | None, table: pd.DataFrame) -> pd.DataFrame:
    """``X`` with the static columns of each row's series appended (constant per series).

    Parameters
    ----------
    y : Series on a MultiIndex (id, timestamp)
    X : DataFrame or None
        On the index of ``y``.
    table : DataFrame of shape (n_series, n_static)
        Coded static rows, indexed by id (every id of ``y``).

    Returns
    -------
    DataFrame of shape (len(y), n_feat + n_static)
    """
    keys = pd.Index(pd.Series(y.index.get_level_values(0), dtype=object))
    at = pd.Index(pd.Series(table.index, dtype=object)).get_indexer(keys)
    out = pd.DataFrame(index=y.index) if X is None else X.copy()
    for k, name in enumerate(table.columns):
        out[name] = table.to_numpy()[at, k]
    return out
