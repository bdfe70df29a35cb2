"""One family of errors for tsrnn.

Every error tsrnn raises on purpose derives from :class:`TsrnnError`, and also from the
builtin or scikit-learn class that users already catch: bad data is a ``ValueError``, an
unfitted model is sklearn's ``NotFittedError``. The CLI turns any ``TsrnnError`` into one
line on stderr and exit code 2. A fault that work went on after is a warning
(:class:`ClusterWarning`), which the CLI prints as one line too.
"""

from __future__ import annotations

__all__ = [
    "ClusterError",
    "ClusterWarning",
    "DataError",
    "DeviceError",
    "ModelFileError",
    "ModelStoreError",
    "NotFittedError",  # noqa: F822 (defined on first use, below)
    "ParameterError",
    "SearchError",
    "TrainingError",
    "TsrnnError",
    "check_params",
    "check_positive_int",
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


class ModelStoreError(TsrnnError, OSError):
    """A model store (an MLflow tracking server or artifact store) cannot be reached, or holds
    no model at the address given."""


class ClusterError(TsrnnError, RuntimeError):
    """Work on a Dask cluster cannot run or was lost (no scheduler, no worker, a worker died)."""


class ClusterWarning(RuntimeWarning):
    """Work on a Dask cluster went on after a fault (a worker lost during training, and the
    training resumed from a checkpoint)."""


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


def check_positive_int(value: object, name: str, *, none: bool = False) -> int | None:
    """``value`` as an ``int`` if it is a positive integer (or None, where ``none`` allows it).

    Parameters
    ----------
    value : object
    name : str
        How the message names it, e.g. ``"horizon"`` or ``"RollingOrigin's n_origins"``.
    none : bool, default=False
        Accept None (and return it).

    Returns
    -------
    int or None

    Raises
    ------
    ParameterError
        If ``value`` is not an integer (booleans are not), or is below 1.

    Examples
    --------
    >>> check_positive_int(3, "horizon")
    3
    >>> check_positive_int(0, "horizon")
    Traceback (most recent call last):
    ...
    tsrnn.errors.ParameterError: horizon must be a positive integer; got 0.
    """
    from numbers import Integral

    if value is None and none:
        return None
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
        allowed = "a positive integer or None" if none else "a positive integer"
        raise ParameterError(f"{name} must be {allowed}; got {value!r}.")
    return int(value)


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
