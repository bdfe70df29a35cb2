"""tsrnn: forecast time series with recurrent neural networks."""

from ._version import __version__
from .errors import DataError, NotFittedError, TsrnnError
from .estimator import RNNRegressor
from .windowing import SlidingWindowTransformer, make_windows

__all__ = [
    "DataError",
    "NotFittedError",
    "RNNRegressor",
    "SlidingWindowTransformer",
    "TsrnnError",
    "__version__",
    "make_windows",
]
