"""One family of errors for tsrnn.

Every error tsrnn raises on purpose derives from :class:`TsrnnError`, and also from the
builtin or scikit-learn class that users already catch: bad data is a ``ValueError``, an
unfitted model is sklearn's ``NotFittedError``. The CLI turns any ``TsrnnError`` into one
line on stderr and exit code 2.
"""

from __future__ import annotations

__all__ = [
    "ClusterError",
    "DataError",
    "DeviceError",
    "ModelFileError",
    "NotFittedError",  # noqa: F822 (defined on first use, below)
    "ParameterError",
    "SearchError",
    "TrainingError",
    "TsrnnError",
    "check_params",
]


class TsrnnError(Exception):
    """Base class of every error tsrnn raises on purpose."""


class DataError(TsrnnError, ValueError):
    """The data cannot be used as given (NaN, too short, wrong shape, bad index...)."""


class ParameterError(TsrnnError, ValueError):
    """A parameter value is not allowed."""


class TrainingError(TsrnnError, RuntimeError):
    """Training failed, e.g. the loss became NaN or infinite."""


class DeviceError(TsrnnError, RuntimeError):
    """The requested torch device is not available."""


class ModelFileError(TsrnnError, ValueError):
    """A saved model file cannot be loaded safely."""


class ClusterError(TsrnnError, RuntimeError):
    """Work on a Dask cluster cannot run or was lost (no scheduler, no worker, a worker died)."""


class SearchError(ClusterError):
    """A hyperparameter search cannot run (no worker can take its tasks, ...)."""


def check_params(estimator: object) -> None:
    """Run scikit-learn's validation of ``estimator``'s ``_parameter_constraints``.

    Raises
    ------
    ParameterError
        With scikit-learn's message, when a parameter is not allowed.
    """
    from sklearn.utils._param_validation import InvalidParameterError

    try:
        estimator._validate_params()
    except InvalidParameterError as exc:
        raise ParameterError(str(exc)) from None


def __getattr__(name: str) -> type:
    # NotFittedError joins sklearn's class, and importing sklearn costs about a second: build it
    # on first use so that code paths that only report bad input (the CLI) stay light.
    if name == "NotFittedError":
        from sklearn.exceptions import NotFittedError as SklearnNotFittedError

        class NotFittedError(TsrnnError, SklearnNotFittedError):
            """A method that needs a fitted model was called before ``fit``."""

        NotFittedError.__module__ = __name__
        globals()["NotFittedError"] = NotFittedError
        return NotFittedError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
