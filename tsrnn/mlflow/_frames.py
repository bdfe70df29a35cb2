"""The pyfunc model of the MLflow flavor: one long frame in, the flat forecast frame out.

:func:`predict_frame` reads the frame (:func:`tsrnn._data.frames.split_frame` with the model's
column roles) and calls :meth:`tsrnn.RNNForecaster.predict`; :class:`ForecastModel` is what
``mlflow.pyfunc.load_model`` returns inside its ``PyFuncModel``; :func:`model_signature`
describes the frame and the params to MLflow. Only :func:`model_signature` (and an error
raised to a scoring server) imports MLflow.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._data.frames import split_frame
from .._data.tables import NIXTLA
from ..errors import DataError, ParameterError, TsrnnError, check_positive_int
from ..forecaster import RNNForecaster
from ..io import flat_forecast

__all__ = ["PARAMS", "ForecastModel", "import_mlflow", "model_signature", "predict_frame"]

#: The ``params`` a pyfunc ``predict`` takes.
PARAMS = ("horizon", "level", "quantiles")


def predict_frame(
    forecaster: RNNForecaster,
    frame: pd.DataFrame | None,
    *,
    horizon: int | None = None,
    level: Sequence[float] | float | None = None,
    quantiles: Sequence[float] | float | None = None,
) -> pd.DataFrame:
    """Forecast the series of a long frame (or those the model keeps) as a flat frame.

    What the pyfunc flavor's ``predict`` does: the frame holds one row per series and step,
    with the id, time and target columns named as the model's (``index_names_``, ``name_``)
    or as Nixtla's (``unique_id``, ``ds``, ``y``), and the model's input columns
    (``input_columns()``). The rows of a series up to its last target value are its newer
    history (no refit); the rows after it are its future steps, holding the future values of
    the exogenous columns. Static columns describe the series the model has not seen.

    Parameters
    ----------
    forecaster : RNNForecaster
        A fitted forecaster.
    frame : DataFrame of shape (n_rows, n_columns) or None
        The history and future inputs, in long format. An empty frame (or None) forecasts the
        series the model keeps; a frame without target values gives their future inputs.
    horizon : int or None, default=None
        Steps ahead; None: the model's ``horizon_``.
    level, quantiles : list of float or None, default=None
        As :meth:`RNNForecaster.predict` takes them: ``level=[80]`` adds ``lo-80`` and
        ``hi-80``, ``quantiles=[0.1]`` adds ``q-0.1``. An empty list adds nothing.

    Returns
    -------
    DataFrame of shape (n_series * horizon, n_columns)
        The forecast of :meth:`RNNForecaster.predict`, its index as columns: the id column
        (for many series) and the time column, named as the model's (unnamed ones as ``id``
        and ``timestamp``), then ``forecast``, ``lower``, ``upper`` and those of ``level`` and
        ``quantiles``.

    Raises
    ------
    DataError
        If the frame cannot be read as the model's input (see
        :func:`tsrnn._data.frames.split_frame`), or it holds no history and the model keeps
        no series (fitted on a dataset of a Dask cluster).
    ParameterError
        If ``horizon``, ``level`` or ``quantiles`` is not allowed.

    Examples
    --------
    >>> from tsrnn import RNNForecaster
    >>> from tsrnn.datasets import load
    >>> f = RNNForecaster(horizon=3, steps=2, n_models=1, random_state=0)
    >>> f = f.fit(load("airpassengers"))
    >>> predict_frame(f, None, level=[80]).columns.tolist()
    ['ds', 'forecast', 'lower', 'upper', 'lo-80', 'hi-80']
    """
    forecaster._check_fitted()
    horizon = check_positive_int(forecaster.horizon_ if horizon is None else horizon, "horizon")
    frame, roles = _roles(forecaster, _as_frame(frame))
    inputs = forecaster.input_columns()
    parts = split_frame(
        frame,
        time_col=roles["time_col"],
        target=roles["target"],
        id_col=roles["id_col"],
        exog=inputs.exog,
        future=inputs.future,
        static=inputs.static,
        integer_time=not isinstance(forecaster.freq_, str),
    )
    if parts.y is None and forecaster.series_ids_ is None:
        raise DataError(
            "This model was fitted on a dataset of a Dask cluster and keeps no series: send "
            f"their history in the frame (columns {_column_list(forecaster)}), one row per "
            "series and step."
        )
    X_future = None
    if inputs.future:
        ids = forecaster.series_ids_ if parts.y is None else _ids_of(parts.y)
        X_future = _future_rows(parts.X_future, ids, horizon, inputs.future, roles["time_col"])
    result = forecaster.predict(
        horizon,
        X_future=X_future,
        y=parts.y,
        X=parts.X,
        static=parts.static,
        level=_floats(level, "level"),
        quantiles=_floats(quantiles, "quantiles"),
    )
    return flat_forecast(result)


def _ids_of(y: pd.Series) -> list:
    if isinstance(y.index, pd.MultiIndex):
        return list(pd.unique(y.index.get_level_values(0)))
    return [None]


def _future_rows(
    X_future: pd.DataFrame | None, ids: list, horizon: int, columns: list[str], time_col: str
) -> pd.DataFrame:
    """The first ``horizon`` future rows of each series, refused where a series has fewer."""
    multi = ids != [None]
    if X_future is None:
        counts = dict.fromkeys(ids, 0)
    elif multi:
        X_future = X_future.groupby(level=0, sort=False).head(horizon)
        counts = X_future.groupby(level=0, sort=False).size().to_dict()
    else:
        X_future = X_future.iloc[:horizon]
        counts = {None: len(X_future)}
    for key in ids:
        n = counts.get(key, 0)
        if n < horizon:
            which = f"Series {key!r} has" if multi else "The frame has"
            raise DataError(
                f"{which} {n} future row(s) for a horizon of {horizon}: the model reads the "
                f"future values of {', '.join(map(repr, columns))}; add a row for each step "
                f"after the history ({time_col!r}, no target) with those columns."
            )
    return X_future


def _as_frame(frame: Any) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame()
    if isinstance(frame, pd.DataFrame):
        return frame
    try:
        return pd.DataFrame(frame)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"The model's input must be a table in long format (a pandas DataFrame); got "
            f"{type(frame).__name__}: {exc}"
        ) from None


def _roles(forecaster: RNNForecaster, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """``frame`` and its id, time and target columns: the model's names where present, else
    Nixtla's. A single-series model takes (and drops) a ``unique_id`` column of one id."""
    own = _own_names(forecaster)
    columns = set(frame.columns)
    roles = {}
    for role, nixtla in NIXTLA.items():
        mine = own[role]
        roles[role] = mine if mine in columns or nixtla not in columns else nixtla
        roles[role] = roles[role] or nixtla
    if not forecaster.multi_:
        roles["id_col"] = None
        extra = NIXTLA["id_col"]
        if extra in columns and extra not in (roles["time_col"], roles["target"]):
            n = frame[extra].nunique(dropna=False)
            if n > 1:
                raise DataError(
                    f"The model was fitted on one series, and the frame holds {n} (column "
                    f"{extra!r}): send one series."
                )
            frame = frame.drop(columns=extra)
    return frame, roles


def _own_names(forecaster: RNNForecaster) -> dict[str, str | None]:
    names = [None if n is None else str(n) for n in forecaster.index_names_]
    name = forecaster.name_
    return {
        "id_col": names[0] if forecaster.multi_ else None,
        "time_col": names[-1],
        "target": None if name is None else str(name),
    }


def _column_list(forecaster: RNNForecaster) -> str:
    own = _own_names(forecaster)
    inputs = forecaster.input_columns()
    roles = [own[r] or NIXTLA[r] for r in ("id_col", "time_col", "target")]
    if not forecaster.multi_:
        roles = roles[1:]
    return ", ".join(map(repr, [*roles, *inputs.exog, *inputs.static]))


def _floats(value: Any, name: str) -> list[float] | None:
    """``level`` or ``quantiles`` as a list (None when empty): MLflow sends lists, people may
    send one number."""
    if value is None:
        return None
    values = list(np.atleast_1d(np.asarray(value, dtype=object)))
    try:
        out = [float(v) for v in values]
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a list of numbers; got {value!r}.") from None
    return out or None


# ---------------------------------------------------------------------- the pyfunc flavor


class ForecastModel:
    """The pyfunc flavor's model: a fitted forecaster behind MLflow's ``predict``.

    Parameters
    ----------
    forecaster : RNNForecaster
        A fitted forecaster.
    """

    def __init__(self, forecaster: RNNForecaster) -> None:
        self.forecaster = forecaster

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Forecast a long frame: :func:`predict_frame`, ``params`` as its keywords.

        Parameters
        ----------
        model_input : DataFrame of shape (n_rows, n_columns)
            The history and future inputs in long format (empty: the series the model keeps).
        params : dict or None, default=None
            ``horizon`` (int), ``level`` and ``quantiles`` (lists of numbers).

        Returns
        -------
        DataFrame of shape (n_series * horizon, n_columns)
            The flat forecast frame of :func:`predict_frame`.

        Raises
        ------
        DataError, ParameterError
            As :func:`predict_frame`, and for a parameter other than ``PARAMS``.
        """
        params = {k: v for k, v in (params or {}).items() if v is not None}
        unknown = sorted(set(params) - set(PARAMS))
        if unknown:
            raise ParameterError(
                f"Unknown parameter(s) {', '.join(map(repr, unknown))}: a tsrnn model takes "
                f"{', '.join(PARAMS)}."
            )
        horizon = params.get("horizon")
        if isinstance(horizon, np.integer):
            horizon = int(horizon)
        try:
            return predict_frame(
                self.forecaster,
                model_input,
                horizon=horizon,
                level=params.get("level"),
                quantiles=params.get("quantiles"),
            )
        except TsrnnError as exc:
            raise _served(exc) from None

    def get_raw_model(self) -> RNNForecaster:
        """The forecaster (what ``PyFuncModel.get_raw_model()`` returns)."""
        return self.forecaster


def _served(exc: TsrnnError) -> TsrnnError:
    """``exc`` as an error of its own class that is also MLflow's: a scoring server then answers
    400 with its message (not "an unexpected error"), and ``except DataError`` still holds."""
    try:
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
    except ImportError:  # ForecastModel used without MLflow
        return exc
    cls = _served_class(type(exc), MlflowException)
    served = cls.__new__(cls)
    MlflowException.__init__(served, str(exc), error_code=INVALID_PARAMETER_VALUE)
    return served


@functools.cache
def _served_class(cls: type, mlflow_error: type) -> type:
    return type(cls.__name__, (cls, mlflow_error), {"__module__": cls.__module__})


def model_signature(forecaster: RNNForecaster):
    """The MLflow signature of a forecaster's pyfunc model.

    Every input column is optional: the model's own id, time and target columns and
    Nixtla's (``unique_id``, ``ds``, ``y``; a single-series model reads ``unique_id`` to check
    that it holds one id), then the exogenous and static columns (numbers, or text for a
    category); MLflow drops the columns a signature does not name. The params are
    ``horizon`` (default the model's), ``level`` and ``quantiles`` (lists, empty by default).
    The outputs are the id and time columns, ``forecast``, ``lower`` and ``upper``.

    Parameters
    ----------
    forecaster : RNNForecaster
        A fitted forecaster.

    Returns
    -------
    mlflow.models.ModelSignature
    """
    import_mlflow()
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema
    from mlflow.types.schema import AnyType

    forecaster._check_fitted()
    own = _own_names(forecaster)
    inputs = forecaster.input_columns()
    time_type = "datetime" if isinstance(forecaster.freq_, str) else "long"
    ids = forecaster.series_ids_
    # Ids keep their type; a model that keeps no series does not know it.
    id_type = AnyType() if ids is None else "long" if _all_ints(ids) else "string"
    columns: dict[str, Any] = {}
    if forecaster.multi_:
        for name in (own["id_col"], NIXTLA["id_col"]):
            columns.setdefault(name, id_type)
    else:  # read to check that the frame holds one series
        columns[NIXTLA["id_col"]] = AnyType()
    for name in (own["time_col"], NIXTLA["time_col"]):
        columns.setdefault(name, time_type)
    for name in (own["target"], NIXTLA["target"]):
        columns.setdefault(name, "double")
    for name in [*inputs.exog, *inputs.static]:
        columns.setdefault(name, "string" if name in forecaster.categories_ else "double")
    columns.pop(None, None)
    flat = flat_forecast(pd.DataFrame(index=_empty_index(forecaster))).columns
    outputs = [ColSpec(id_type if k < len(flat) - 1 else time_type, str(name))
               for k, name in enumerate(flat)]  # fmt: skip
    outputs += [ColSpec("double", name) for name in ("forecast", "lower", "upper")]
    params = ParamSchema(
        [
            ParamSpec("horizon", "long", int(forecaster.horizon_)),
            ParamSpec("level", "double", [], shape=(-1,)),
            ParamSpec("quantiles", "double", [], shape=(-1,)),
        ]
    )
    return ModelSignature(
        inputs=Schema([ColSpec(t, str(name), required=False) for name, t in columns.items()]),
        outputs=Schema(outputs),
        params=params,
    )


def _all_ints(ids: list) -> bool:
    return all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in ids)


def _empty_index(forecaster: RNNForecaster) -> pd.Index:
    names = list(forecaster.index_names_)
    if len(names) == 1:
        return pd.Index([], name=names[0])
    return pd.MultiIndex.from_arrays([[]] * len(names), names=names)


def import_mlflow():
    """The ``mlflow`` module, or a ParameterError that says how to install it."""
    try:
        import mlflow
    except ImportError:
        raise ParameterError("tsrnn.mlflow needs MLflow: pip install 'tsrnn[mlflow]'.") from None
    return mlflow
