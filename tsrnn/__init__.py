"""tsrnn: forecast time series with recurrent neural networks.

Every public name is imported on first use, so that ``import tsrnn`` is cheap and the CLI can
report bad input without loading torch, dask or scikit-learn.
"""

from importlib import import_module

from ._version import __version__

# public name -> the module that defines it
_EXPORTS = {
    "DataError": "errors",
    "NotFittedError": "errors",
    "TsrnnError": "errors",
    "RNNRegressor": "estimator",
    "RNNForecaster": "forecaster",
    "backtest": "evaluation",
    "read_series": "io",
    "load": "persist",
    "save": "persist",
    "SearchCV": "search",
    "RollingOrigin": "search",
    "SlidingWindowTransformer": "windowing",
    "make_windows": "windowing",
    "train_on_dask": "parallel",
}
_SUBMODULES = {"datasets", "metrics"}


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    elif name in _SUBMODULES:
        value = import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


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
    "train_on_dask",
]
assert set(__all__) == {*_EXPORTS, *_SUBMODULES, "__version__"}
