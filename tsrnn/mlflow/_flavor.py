"""The MLflow flavor: a forecaster written as an MLflow model (its model file, MLmodel, its
environment), logged to a tracking server, and read back without running code from it.

:func:`save_model` writes the folder whole or not at all; :func:`log_model` hands it to
``mlflow.models.Model.log``; :func:`load_model` downloads a model, reads its ``tsrnn``
flavor and loads the model file with :func:`tsrnn.persist.load`. MLflow and network errors
become one-line :class:`~tsrnn.errors.ModelStoreError` (the store) or
:class:`~tsrnn.errors.ModelFileError` (the model) messages.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .. import persist
from .._version import __version__
from ..errors import ModelFileError, ModelStoreError, ParameterError, TsrnnError
from ..forecaster import RNNForecaster
from ..io import check_output_path
from ._frames import ForecastModel, import_mlflow, model_signature

__all__ = [
    "FLAVOR_NAME",
    "LOADER",
    "MODEL_FILE",
    "load_model",
    "load_pyfunc",
    "log_model",
    "save_model",
]

FLAVOR_NAME = "tsrnn"
#: The model file's name inside the model's folder.
MODEL_FILE = "model.tsrnn"
#: The pyfunc loader module: tsrnn's own, installed with it.
LOADER = "tsrnn.mlflow"


def load_pyfunc(path: str) -> ForecastModel:
    """The pyfunc model of a model file (``path``: the ``data`` of the pyfunc flavor)."""
    return ForecastModel(persist.load(path))


def save_model(
    forecaster: RNNForecaster,
    path: str | os.PathLike,
    *,
    signature: Any = None,
    input_example: pd.DataFrame | None = None,
    pip_requirements: Sequence[str] | str | None = None,
    extra_pip_requirements: Sequence[str] | str | None = None,
    metadata: dict[str, Any] | None = None,
    mlflow_model: Any = None,
) -> Path:
    """Write a fitted forecaster as an MLflow model: a folder with its model file.

    The folder is written under a temporary name beside ``path`` and renamed when complete:
    an error leaves no folder behind.

    Parameters
    ----------
    forecaster : RNNForecaster
        A fitted forecaster.
    path : str or path-like
        The model's folder, which must not exist (or be empty).
    signature : ModelSignature, None or False, default=None
        None: :func:`model_signature`; False: none.
    input_example : DataFrame or None, default=None
        A frame to store beside the model as its example (MLflow checks that the model
        forecasts it when logging).
    pip_requirements, extra_pip_requirements : list of str or str or None, default=None
        As MLflow's flavors take them: the requirements instead of, or besides, tsrnn pinned
        to this version.
    metadata : dict or None, default=None
        Stored in ``MLmodel``.
    mlflow_model : mlflow.models.Model or None, default=None
        The model description to add the flavors to (given by :func:`log_model`).

    Returns
    -------
    Path
        The folder written.

    Raises
    ------
    ParameterError
        If ``forecaster`` is not a fitted ``RNNForecaster`` whose parameters a model file
        stores, ``path`` exists and is not empty, or its folder cannot be written.
    NotFittedError
        If ``forecaster`` is not fitted.
    """
    import_mlflow()
    from mlflow import pyfunc
    from mlflow.models import Model
    from mlflow.models.model import MLMODEL_FILE_NAME
    from mlflow.models.utils import _save_example

    if type(forecaster) is not RNNForecaster:
        raise ParameterError(
            f"tsrnn.mlflow saves a fitted RNNForecaster; got {type(forecaster).__name__}: "
            "save an RNNRegressor with tsrnn.save."
        )
    forecaster._check_fitted()
    path = Path(path).absolute()
    with _new_folder(path) as folder:
        persist.save(forecaster, folder / MODEL_FILE)
        mlflow_model = Model() if mlflow_model is None else mlflow_model
        if input_example is not None:
            _save_example(mlflow_model, input_example, str(folder))
        if signature is None:
            signature = model_signature(forecaster)
        if signature is not False:
            mlflow_model.signature = signature
        if metadata is not None:
            mlflow_model.metadata = metadata
        pyfunc.add_to_model(
            mlflow_model,
            loader_module=LOADER,
            data=MODEL_FILE,
            conda_env="conda.yaml",
            python_env="python_env.yaml",
        )
        mlflow_model.add_flavor(
            FLAVOR_NAME,
            model_file=MODEL_FILE,
            tsrnn_version=__version__,
            format_version=persist.FORMAT_VERSION,
            model_class=type(forecaster).__name__,
        )
        mlflow_model.model_size_bytes = (folder / MODEL_FILE).stat().st_size
        mlflow_model.save(str(folder / MLMODEL_FILE_NAME))
        _write_environment(folder, pip_requirements, extra_pip_requirements)
    return path


def log_model(
    forecaster: RNNForecaster,
    name: str,
    *,
    registered_model_name: str | None = None,
    signature: Any = None,
    input_example: pd.DataFrame | None = None,
    pip_requirements: Sequence[str] | str | None = None,
    extra_pip_requirements: Sequence[str] | str | None = None,
    metadata: dict[str, Any] | None = None,
    **kwargs: Any,
):
    """Log a fitted forecaster to the MLflow tracking server, in the active run (or a new one).

    Parameters
    ----------
    forecaster : RNNForecaster
        A fitted forecaster.
    name : str
        The model's name in the run (MLflow 3's ``name``, formerly ``artifact_path``).
    registered_model_name : str or None, default=None
        Also register it in the model registry under this name (a new version).
    signature, input_example, pip_requirements, extra_pip_requirements, metadata
        As :func:`save_model` takes them.
    **kwargs
        Passed to ``mlflow.models.Model.log`` (e.g. ``params``, ``tags``, ``step`` in MLflow
        3).

    Returns
    -------
    mlflow.models.model.ModelInfo
        Its ``model_uri`` loads the model (:func:`load_model`, ``mlflow.pyfunc.load_model``).

    Raises
    ------
    ModelStoreError
        If the tracking server or the artifact store cannot be reached or refuses the model.
    ParameterError, NotFittedError
        As :func:`save_model`.
    """
    mlflow = import_mlflow()
    from mlflow.models import Model

    if type(forecaster) is not RNNForecaster:  # before anything is logged
        raise ParameterError(
            f"tsrnn.mlflow logs a fitted RNNForecaster; got {type(forecaster).__name__}."
        )
    forecaster._check_fitted()
    try:
        return Model.log(
            artifact_path=None,  # MLflow 3 names a model with name=; this one is deprecated
            name=name,
            flavor=_this_module(),
            flavor_name=FLAVOR_NAME,
            registered_model_name=registered_model_name,
            forecaster=forecaster,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
            **kwargs,
        )
    except TsrnnError:
        raise
    except (mlflow.exceptions.MlflowException, OSError) as exc:
        raise ModelStoreError(
            f"Cannot log the model to MLflow at {mlflow.get_tracking_uri()}: {_reason(exc)}"
        ) from None


def _this_module():
    return sys.modules[LOADER]  # its save_model is this one


@contextlib.contextmanager
def _new_folder(path: Path) -> Iterator[Path]:
    """A hidden folder beside ``path``, renamed to ``path`` if the block succeeds."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ParameterError(
            f"{str(path)!r} already exists: MLflow models are written to a new folder; choose "
            "another path or remove it."
        )
    check_output_path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        tmp.mkdir()
    except OSError as exc:
        raise ParameterError(f"Cannot write {str(path)!r} ({exc.strerror}).") from None
    try:
        yield tmp
        if path.exists():
            path.rmdir()  # empty, checked above
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_environment(folder: Path, pip_requirements, extra_pip_requirements) -> None:
    """requirements.txt, python_env.yaml and conda.yaml: tsrnn pinned, unless told otherwise."""
    import yaml
    from mlflow.utils.environment import (
        _process_pip_requirements,
        _PythonEnv,
        _validate_env_arguments,
    )

    _validate_env_arguments(None, pip_requirements, extra_pip_requirements)
    conda_env, requirements, constraints = _process_pip_requirements(
        [f"tsrnn=={__version__}"], pip_requirements, extra_pip_requirements
    )
    (folder / "conda.yaml").write_text(yaml.safe_dump(conda_env, default_flow_style=False))
    (folder / "requirements.txt").write_text("\n".join(requirements))
    if constraints:
        (folder / "constraints.txt").write_text("\n".join(constraints))
    _PythonEnv.current().to_yaml(str(folder / "python_env.yaml"))


# ---------------------------------------------------------------------- loading


def load_model(
    model_uri: str | os.PathLike, *, dst_path: str | None = None, device: str | None = None
) -> RNNForecaster:
    """Load the forecaster of an MLflow model written by :func:`log_model` or
    :func:`save_model`.

    Only the ``tsrnn`` flavor is read: its model file, with :func:`tsrnn.persist.load` (no
    pickle; the checksum is verified). No module named by the model's folder is imported, so
    this works with ``MLFLOW_ALLOW_MODEL_CODE_EXECUTION=false`` too.

    Parameters
    ----------
    model_uri : str or path-like
        Where the model is: ``runs:/<run_id>/<name>``, ``models:/<name>/<version>``,
        ``models:/<model_id>``, a local folder, or any artifact URI MLflow reads.
    dst_path : str or None, default=None
        A folder to download the model into (kept); None: a temporary folder, removed once
        the model is read.
    device : str or None, default=None
        Where to put the networks, as :func:`tsrnn.persist.load` takes it.

    Returns
    -------
    RNNForecaster
        The fitted forecaster, as it was logged.

    Raises
    ------
    ModelStoreError
        If the URI cannot be reached or holds no model.
    ModelFileError
        If the model is not a tsrnn model, or its model file was altered or cut short (its
        checksum fails) or was written by a newer tsrnn.
    """
    with tempfile.TemporaryDirectory(prefix="tsrnn-mlflow-") as tmp:
        folder = _download(model_uri, dst_path or tmp)
        file = _model_file(folder, model_uri)
        try:
            return persist.load(file, device=device)
        except ModelFileError as exc:  # named by the URI, not by the downloaded copy
            message = str(exc).replace(str(file), f"The model file of {model_uri}")
            raise ModelFileError(message.replace("save the model", "log the model")) from None


def _download(model_uri: str | os.PathLike, dst_path: str) -> Path:
    mlflow = import_mlflow()
    uri = str(model_uri)
    try:
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=dst_path))
    except (mlflow.exceptions.MlflowException, OSError, ImportError) as exc:
        raise ModelStoreError(f"Cannot load the MLflow model {uri}: {_reason(exc)}") from None


def _model_file(folder: Path, model_uri: Any) -> Path:
    """The model file the ``tsrnn`` flavor of ``folder/MLmodel`` names, inside ``folder``."""
    from mlflow.models import Model

    described = folder / "MLmodel"
    if not described.is_file():
        raise ModelFileError(
            f"{model_uri} is not an MLflow model (it has no MLmodel file): give the URI of a "
            "model logged with tsrnn.mlflow.log_model."
        )
    try:
        flavors = Model.load(str(described)).flavors
    except Exception as exc:  # a damaged MLmodel: YAML or MLflow errors alike
        raise ModelFileError(
            f"The MLmodel file of {model_uri} cannot be read: {_reason(exc)}"
        ) from None
    if FLAVOR_NAME not in flavors:
        raise ModelFileError(
            f"{model_uri} is not a tsrnn model (its flavors: {', '.join(flavors) or 'none'}): "
            "load it with the flavor that wrote it."
        )
    name = str(flavors[FLAVOR_NAME].get("model_file", ""))
    if not re.fullmatch(r"[\w.-]+", name) or name.startswith("."):
        raise ModelFileError(
            f"The tsrnn flavor of {model_uri} names the model file {name!r}, not a file of its "
            "folder: the MLmodel file was altered; log the model again."
        )
    file = folder / name
    if not file.is_file():
        raise ModelFileError(
            f"The MLflow model {model_uri} has no model file {name!r}: it was removed after "
            "logging; log the model again."
        )
    return file


def _reason(exc: BaseException) -> str:
    """An MLflow or network error in one line: a refused connection said plainly, and the
    last line of a list of failures ("... from X:", "##### File f #####", "No such ...")."""
    text = str(exc).strip() or type(exc).__name__
    refused = re.search(r"\[Errno -?\d+\] ([^'\"()]+)", text)
    host = re.search(r"host='([^']+)', port=(\d+)", text)
    if refused and host:
        return f"{refused.group(1).strip()} at {host.group(1)}:{host.group(2)}"
    if "Max retries exceeded" in text and host:
        return f"no answer from {host.group(1)}:{host.group(2)}"
    if isinstance(exc, ImportError):
        return f"{text} (MLflow needs it for this URI: install it)"
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    line = lines[-1] if lines[0].rstrip().endswith(":") else lines[0]
    return line if len(line) <= 300 else line[:297] + "..."
