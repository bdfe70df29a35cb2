"""tsrnn: forecast time series with recurrent neural networks."""

from . import datasets, metrics
from ._version import __version__
from .backtest import backtest
from .errors import DataError, NotFittedError, TsrnnError
from .estimator import RNNRegressor
from .forecaster import RNNForecaster
from .io import read_series
from .persist import load, save
from .windowing import SlidingWindowTransformer, make_windows

# Loaded on first use, so that `import tsrnn` (and the CLI) does not import dask.
_LAZY = {"SearchCV": "search", "RollingOrigin": "search"}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DataError",
    "NotFittedError",
    "RNNForecaster",
    "RNNRegressor",
    "RollingOrigin",
    "SearchCV",
    "SlidingWindowTransformer",
    "TsrnnError",
    "__version__",
    "backtest",
    "datasets",
    "load",
    "make_windows",
    "metrics",
    "read_series",
    "save",
]
