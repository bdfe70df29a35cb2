"""tsrnn: forecast time series with recurrent neural networks.

Every public name is imported on first use, so that ``import tsrnn`` is cheap and the CLI can
report bad input without loading torch, dask or scikit-learn.

Code map, one layer a line, bottom first. Public modules are where users import them; the
private engine lives in layer folders. **A module imports only from its own layer and the
layers below it, never upward and never in a circle** (``tests/test_layers.py`` checks every
import, lazy ones included)::

    base           errors, _version
    data           _data/ (checks, stamps, groups, calendar, categories, static, tables,
                   text, frames), intervals, io, metrics, windowing, datasets/
                                                      pandas and numpy, never torch or Dask
    training       _train/ (loop, checkpoint, device, codec, executor, progress), nn
                                                      torch, never pandas or Dask
    regressor      estimator (RNNRegressor and its WindowsJob)
    forecaster     _forecast/ (plan, inputs, covariates, scaling, windows, jobs, steps,
      engine       ensemble, theta, conformal, hardest, calibration, fitted, fit, predict,
                   state)
                                                      no Dask; reads a Fitted, never the
                                                      estimator
    forecaster     forecaster (RNNForecaster), evaluation (cross_validation, backtest)
    model files    persist, mlflow/ (_frames, _flavor)   the MLflow flavor over the model
                                                      file; MLflow imported on first use
    cluster        cluster, _dask/ (connect, worker, memory, trainer, elastic, rank)
                                                      the Dask plumbing
    dataset        _dataset/ (store, stamps, buckets, read, columns, future_values, panels,
                   train, calibrate, fit, forecast, write, pick)
                                                      the series on the workers, in buckets
    distributed    parallel (train_on_dask, the dataset path's public names), search/ (_cv,
                   _origins, _plans, _tasks, _runner, _journal, _results)
    (the CLI, tsrnn_cli, sits on top and imports public modules only)
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
    "cross_validation": "evaluation",
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
    "cross_validation",
    "datasets",
    "load",
    "make_windows",
    "metrics",
    "read_series",
    "save",
    "train_on_dask",
]
assert set(__all__) == {*_EXPORTS, *_SUBMODULES, "__version__"}
