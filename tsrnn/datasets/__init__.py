"""Small real time series shipped with tsrnn as CSV files (nothing is downloaded).

>>> from tsrnn.datasets import list, load
>>> list()
['airpassengers', 'sunspots']
>>> y = load("airpassengers")
>>> len(y), y.index.freqstr
(144, 'MS')

Sources are in ``README.md`` beside this file and in :data:`DATASETS`.
"""

from __future__ import annotations

import builtins
from importlib import resources

import pandas as pd

from .._data.checks import check_series
from ..errors import DataError

__all__ = ["DATASETS", "list", "load"]

#: name -> (file, description, source, seasonal period)
DATASETS: dict[str, dict[str, str | int]] = {
    "airpassengers": {
        "file": "airpassengers.csv",
        "description": "International airline passengers, thousands per month, 1949-01..1960-12"
        " (144 points, month start).",
        "source": "Box, Jenkins & Reinsel, Time Series Analysis (R datasets::AirPassengers).",
        "season_length": 12,
    },
    "sunspots": {
        "file": "sunspots_monthly.csv",
        "description": "Monthly mean relative sunspot numbers, 1749-01..2013-09 (3177 points,"
        " month start).",
        "source": "Royal Observatory of Belgium, WDC-SILSO (R datasets::sunspot.month).",
        "season_length": 1,
    },
}


def list() -> builtins.list[str]:  # shadows the builtin on purpose: datasets.list()
    """Names of the bundled datasets, for :func:`load`.

    Returns
    -------
    list of str
    """
    return sorted(DATASETS)


def load(name: str) -> pd.Series:
    """Load a bundled dataset as a validated series.

    Parameters
    ----------
    name : str
        One of :func:`list`.

    Returns
    -------
    Series of shape (n_timesteps,)
        float64 values on a ``DatetimeIndex`` named ``"ds"`` with its frequency set; the
        series is named after the dataset.

    Raises
    ------
    DataError
        If ``name`` is not a bundled dataset.
    """
    if name not in DATASETS:
        raise DataError(f"Unknown dataset {name!r}: choose one of {list()}.")
    path = resources.files(__name__).joinpath(str(DATASETS[name]["file"]))
    with path.open("r", encoding="utf-8") as handle:
        frame = pd.read_csv(handle, parse_dates=["ds"])
    y = frame.set_index("ds")["value"].rename(name)
    y, _ = check_series(y, name=name)
    return y
