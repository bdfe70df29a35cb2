"""Categorical columns as integer codes: 1 to ``n`` for the values seen in fit, 0 for another.

A column is categorical when its values are not numbers (text, pandas ``category`` or
``string``); its values seen in fit, as text and sorted, are its vocabulary. The networks read
each code through a learned embedding (:class:`tsrnn.nn.RNNNet`), where 0, a value never seen
in fit (a new store, a new product group), reads the centroid of the known embeddings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError
from .text import show

__all__ = ["coded", "codes", "first_empty", "is_categorical", "learn_categories", "vocabulary"]


def is_categorical(column: pd.Series) -> bool:
    """Whether ``column`` holds categories rather than numbers (booleans are numbers).

    Examples
    --------
    >>> is_categorical(pd.Series(["a", "b"])), is_categorical(pd.Series([1.0, 2.0]))
    (True, False)
    """
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return True
    return not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))


def vocabulary(column: pd.Series | np.ndarray) -> list[str]:
    """The values of a categorical column as sorted text: its vocabulary.

    Examples
    --------
    >>> vocabulary(pd.Series(["b", "a", "b"]))
    ['a', 'b']
    """
    return sorted({str(v) for v in pd.unique(np.asarray(column, dtype=object))})


def codes(column: pd.Series | np.ndarray, vocabulary: list[str]) -> np.ndarray:
    """The codes of ``column``'s values in ``vocabulary``: ``k + 1`` for its value ``k``, 0
    for a value outside it, (n,) float64.

    Examples
    --------
    >>> codes(pd.Series(["b", "new", "a"]), ["a", "b"]).tolist()
    [2.0, 0.0, 1.0]
    """
    text = np.asarray(column, dtype=object).astype(str)
    return (pd.Index(list(vocabulary)).get_indexer(text) + 1).astype(np.float64)  # -1 -> 0


def first_empty(column: pd.Series) -> int | None:
    """The position of ``column``'s first empty value (None, NaN), or None when it is filled."""
    empty = column.isna().to_numpy()
    return int(np.flatnonzero(empty)[0]) if empty.any() else None


def learn_categories(frame: pd.DataFrame | None, what: str = "X") -> dict[str, list[str]]:
    """The vocabulary of each categorical column of ``frame``: its values as sorted text.

    Parameters
    ----------
    frame : DataFrame or None
    what : str, default="X"
        How messages call ``frame``.

    Returns
    -------
    dict of str to list of str
        Column name -> its values, in code order (code ``k + 1`` is value ``k``).

    Raises
    ------
    DataError
        If a categorical column has an empty value.

    Examples
    --------
    >>> learn_categories(pd.DataFrame({"store": ["b", "a", "b"], "price": [1.0, 2.0, 3.0]}))
    {'store': ['a', 'b']}
    """
    if frame is None:
        return {}
    found = {}
    for name in frame.columns:
        column = frame[name]
        if is_categorical(column):
            _check_filled(column, str(name), what)
            found[str(name)] = vocabulary(column)
    return found


def coded(
    frame: pd.DataFrame | None, categories: dict[str, list[str]], what: str = "X"
) -> pd.DataFrame | None:
    """``frame`` with each column of ``categories`` replaced by its codes (float64).

    Parameters
    ----------
    frame : DataFrame or None
    categories : dict of str to list of str
        As :func:`learn_categories` returns.
    what : str, default="X"
        How messages call ``frame``.

    Returns
    -------
    DataFrame or None
        The same index and columns; a value outside its column's vocabulary becomes 0.

    Raises
    ------
    DataError
        If a categorical column has an empty value.

    Examples
    --------
    >>> frame = pd.DataFrame({"store": ["b", "new"], "price": [1.0, 2.0]})
    >>> coded(frame, {"store": ["a", "b"]})["store"].tolist()
    [2.0, 0.0]
    """
    if frame is None or not categories:
        return frame
    out = frame.copy()
    for name in frame.columns:
        if str(name) not in categories:
            continue
        _check_filled(frame[name], str(name), what)
        out[name] = codes(frame[name], categories[str(name)])
    return out


def _check_filled(column: pd.Series, name: str, what: str) -> None:
    at = first_empty(column)
    if at is not None:
        where = column.index[at]
        raise DataError(
            f"Column {name!r} of {what} has an empty value at {show(where)}: fill it (a "
            "category such as 'unknown' will do) or drop the column."
        )
