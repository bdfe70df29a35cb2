"""The bounds a forecast carries: the default interval, the levels and quantiles, their columns.

One place for what the forecaster, the backtest, the dataset path and the CLI all spell: the
``lower`` and ``upper`` columns are the bounds of the forecaster's ``interval``
(:data:`DEFAULT_INTERVAL` unless told), ``lo-80`` and ``hi-80`` those of an 80 % interval
(Nixtla's names), ``q-0.1`` a quantile. A level is a percentage in (0, 100), a quantile a
probability in (0, 1). Pure Python: the CLI reads it before it imports anything heavy.

Examples
--------
>>> level_columns(80), quantile_column(0.1)
(('lo-80', 'hi-80'), 'q-0.1')
>>> levels_in(["forecast", "lower", "upper", "lo-80", "hi-80", "lo-95"])
['80']
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Real

from .errors import ParameterError

__all__ = [
    "DEFAULT_INTERVAL",
    "LOWER",
    "UPPER",
    "invalid_level",
    "invalid_quantile",
    "level_columns",
    "levels_in",
    "probabilities",
    "quantile_column",
]

#: Nominal coverage of the ``lower`` and ``upper`` columns unless the forecaster is told.
DEFAULT_INTERVAL = 0.9
#: The columns of the bounds of the forecaster's ``interval``.
LOWER, UPPER = "lower", "upper"


def level_columns(level: float) -> tuple[str, str]:
    """The lower and upper columns of the central interval of ``level`` percent."""
    return f"lo-{level:g}", f"hi-{level:g}"


def quantile_column(q: float) -> str:
    """The column of quantile ``q``."""
    return f"q-{q:g}"


def levels_in(columns: Iterable[str]) -> list[str]:
    """The levels (as written in the column names) of which both bounds are among ``columns``."""
    columns = [str(c) for c in columns]
    return [c[3:] for c in columns if c.startswith("lo-") and f"hi-{c[3:]}" in columns]


def invalid_level(values: Iterable | Real | None) -> object | None:
    """The first of ``values`` that is not a percentage in (0, 100), or None."""
    return _outside(values, 100)


def invalid_quantile(values: Iterable | Real | None) -> object | None:
    """The first of ``values`` that is not a probability in (0, 1), or None."""
    return _outside(values, 1)


def _listed(values) -> list:
    if values is None:
        return []
    return [values] if isinstance(values, Real) else list(values)


def _outside(values, top: float) -> object | None:
    for value in _listed(values):
        ok = isinstance(value, Real) and not isinstance(value, bool) and 0 < value < top
        if not ok:  # NaN too
            return value
    return None


def probabilities(
    interval: float | None, level: Iterable | Real | None = None, quantiles=None
) -> list[tuple[str, float]]:
    """The bound columns asked for and the probability each is the quantile of.

    ``lower`` and ``upper`` (the ``interval`` bounds, NaN without it), then ``lo-L`` and
    ``hi-L`` for each level ``L`` in percent, then ``q-Q`` for each quantile.

    Parameters
    ----------
    interval : float or None
        The forecaster's ``interval``.
    level : float, list of float or None
        Percentages in (0, 100).
    quantiles : float, list of float or None
        Probabilities in (0, 1).

    Returns
    -------
    list of (str, float)

    Raises
    ------
    ParameterError
        If a level is not in (0, 100) or a quantile not in (0, 1).

    Examples
    --------
    >>> probabilities(0.9, level=[80], quantiles=[0.5])
    [('lower', 0.05), ('upper', 0.95), ('lo-80', 0.1), ('hi-80', 0.9), ('q-0.5', 0.5)]
    """
    bad = invalid_level(level)
    if bad is not None:
        raise ParameterError(
            f"level must hold percentages in (0, 100), e.g. [80, 95]; got {bad!r}."
        )
    bad = invalid_quantile(quantiles)
    if bad is not None:
        raise ParameterError(
            f"quantiles must be probabilities in (0, 1), e.g. [0.1, 0.5, 0.9]; got {bad!r}."
        )
    wanted = [(LOWER, math.nan), (UPPER, math.nan)]
    if interval is not None:
        wanted = [(LOWER, round((1 - interval) / 2, 12)), (UPPER, round((1 + interval) / 2, 12))]
    for value in _listed(level):
        low, high = level_columns(value)
        wanted += [
            (low, round((1 - value / 100) / 2, 12)),
            (high, round((1 + value / 100) / 2, 12)),
        ]
    for value in _listed(quantiles):
        wanted.append((quantile_column(value), float(value)))
    return wanted
