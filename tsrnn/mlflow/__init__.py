"""Models in MLflow: a ``tsrnn`` flavor whose artifact is the safe model file.

:func:`log_model` and :func:`save_model` write a fitted :class:`~tsrnn.RNNForecaster` in
MLflow's model format; :func:`load_model` reads the forecaster back, and MLflow's generic
``mlflow.pyfunc.load_model`` (batch scoring, ``mlflow models serve``) gets a model whose
``predict(frame, params)`` forecasts a long frame (:func:`predict_frame`)::

    info = tsrnn.mlflow.log_model(forecaster, "forecaster")
    forecaster = tsrnn.mlflow.load_model(info.model_uri)
    model = mlflow.pyfunc.load_model(info.model_uri)
    model.predict(frame, params={"horizon": 12, "level": [80, 95]})

The model's folder holds::

    MLmodel           the flavors: "tsrnn" (the model file, the tsrnn version and model file
                      format that wrote it) and "python_function" (loader module tsrnn.mlflow,
                      data model.tsrnn), the signature (the frame's columns; params horizon,
                      level, quantiles)
    model.tsrnn       the model file of tsrnn.save: safetensors weights and a JSON document,
                      with a SHA-256 checksum of both
    requirements.txt, python_env.yaml, conda.yaml     tsrnn pinned to the version that wrote it

Nothing in it is a pickle or code: loading parses JSON and raw tensor bytes
(:func:`tsrnn.persist.load` checks the format version and the checksum), and the loader is this
module, installed with tsrnn. :func:`load_model` reads the ``tsrnn`` flavor only, so it imports
no module that the folder names. MLflow is imported on first use: ``import tsrnn`` does not
import it (install it with ``pip install 'tsrnn[mlflow]'``).
"""

from ._flavor import FLAVOR_NAME, MODEL_FILE, load_model, load_pyfunc, log_model, save_model
from ._frames import PARAMS, ForecastModel, model_signature, predict_frame

__all__ = [
    "FLAVOR_NAME",
    "MODEL_FILE",
    "PARAMS",
    "ForecastModel",
    "load_model",
    "log_model",
    "model_signature",
    "predict_frame",
    "save_model",
]

#: What ``mlflow.pyfunc.load_model`` calls (the MLmodel names this module as the loader).
_load_pyfunc = load_pyfunc
