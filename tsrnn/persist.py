"""Save and load fitted models as one safe file: safetensors weights plus JSON metadata.

A model file is a single `safetensors <https://github.com/huggingface/safetensors>`_ file.
Its tensors are the network weights, the optimizer state and any arrays the model keeps (e.g.
the scaler state of a forecaster); its metadata header holds one JSON document with the
parameters, the fitted attributes, the tsrnn and torch versions and the format version, plus a
SHA-256 digest of that document and of the tensor bytes. Loading parses JSON and raw tensor
bytes only: nothing is ever unpickled, and the class to rebuild is looked up in a fixed table,
never imported by a name read from the file.

Layout of the metadata header (all values are strings, as safetensors requires)::

    format          "tsrnn"
    format_version  "2"
    tsrnn           JSON: {"format_version", "tsrnn_version", "torch_version", "created",
                           "class", "params", "state", "arrays", "regressors"}
    sha256          hex digest of the JSON document followed by the tensor data

Format 2 adds what each network of a forecaster reads (``network_inputs``: lookbacks may
differ within an ensemble); format 1 files still load. A later format version must keep
``format`` and ``format_version`` in the header, so that an older tsrnn can refuse it with a
clear message.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib
import json
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as _load_tensors
from safetensors.torch import save as _save_tensors

# The version of the file layout written by save; load reads this one and older (its history:
# tsrnn._forecast.state.FORMAT_VERSION).
from ._forecast.state import FORMAT_VERSION
from ._train.device import resolve_device
from ._version import __version__
from .errors import DeviceError, ModelFileError, NotFittedError, ParameterError, TsrnnError
from .io import atomic_path

__all__ = ["FORMAT_VERSION", "load", "save"]


_FORMAT = "tsrnn"
# The only classes a file may ask for: name in the file -> (module, class).
_CLASSES = {
    "RNNRegressor": ("tsrnn.estimator", "RNNRegressor"),
    "RNNForecaster": ("tsrnn.forecaster", "RNNForecaster"),
}
# safetensors files start with the header length as a little-endian uint64.
_HEADER_LENGTH = struct.Struct("<Q")
_MAX_HEADER = 100 * 2**20


def save(model: Any, path: str | os.PathLike) -> Path:
    """Save a fitted ``RNNRegressor`` or ``RNNForecaster`` to one file.

    The file is written under a temporary name in the same folder and renamed when complete,
    so an existing file is replaced only by a whole new one.

    Parameters
    ----------
    model : RNNRegressor or RNNForecaster
        A fitted model. Its parameters must be plain values (numbers, strings, None, lists):
        an int or None as ``random_state``, not a ``RandomState``.
    path : str or path-like
        Destination, conventionally ending in ``.tsrnn``.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    NotFittedError
        If ``model`` is not fitted.
    ParameterError
        If ``model`` is of another class, a parameter cannot be stored as JSON, or the
        destination folder is missing or not writable.

    See Also
    --------
    load : Read the file back.

    Examples
    --------
    >>> import numpy as np, tsrnn
    >>> X, y = tsrnn.make_windows(np.sin(np.arange(100) / 5), lookback=8)
    >>> model = tsrnn.RNNRegressor(hidden_size=4, epochs=1, random_state=0).fit(X, y)
    >>> path = tsrnn.save(model, "model.tsrnn")  # doctest: +SKIP
    >>> np.allclose(tsrnn.load(path).predict(X), model.predict(X))  # doctest: +SKIP
    True
    """
    kind = _kind_of(model)
    tensors: dict[str, torch.Tensor] = {}
    document: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "tsrnn_version": __version__,
        "torch_version": torch.__version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "class": kind,
    }
    if kind == "RNNRegressor":
        document["regressors"] = {"self": _dump_regressor(model, "self", tensors)}
    else:
        meta, arrays, regressors = model._to_state()  # raises NotFittedError if unfitted
        document["params"] = _plain(model.get_params(deep=False), "parameter", kind)
        document["state"] = _plain(meta, "state entry", kind)
        document["arrays"] = {
            name: _dump_array(name, array, tensors) for name, array in arrays.items()
        }
        document["regressors"] = {
            name: _dump_regressor(reg, f"regressors/{name}", tensors)
            for name, reg in regressors.items()
        }
    text = json.dumps(document, allow_nan=True, separators=(",", ":"))
    header = {"format": _FORMAT, "format_version": str(FORMAT_VERSION), "tsrnn": text}
    # The tensor bytes do not depend on the metadata: serialise once to digest them.
    data = _data_section(_save_tensors(tensors, metadata=header))
    header["sha256"] = _digest(text, data)
    blob = _save_tensors(tensors, metadata=header)
    with atomic_path(path) as tmp:
        tmp.write_bytes(blob)
    return Path(path)


def load(path: str | os.PathLike, *, device: str | None = None) -> Any:
    """Load a model saved by :func:`save`, without unpickling anything.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.
    device : str or None, default=None
        Where to put the network(s): ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
        ``None`` uses the model's own ``device`` parameter when that device exists here, and
        the CPU otherwise, so a model trained on a GPU loads on a machine without one. The
        ``device`` parameter itself is kept as saved.

    Returns
    -------
    RNNRegressor or RNNForecaster
        The fitted model, as it was when saved (weights, optimizer state, history).

    Raises
    ------
    ModelFileError
        If the file is missing, is not a tsrnn model file (e.g. a pickle or a ``torch.save``
        file), is truncated or corrupted, or was written by a newer tsrnn in a newer format.
    DeviceError
        If ``device`` names a device that is not available.
    """
    path = Path(path)
    raw = _read(path)
    header, data = _split(raw, path)
    meta = header.get("__metadata__") or {}
    if meta.get("format") != _FORMAT:
        raise ModelFileError(
            f"{path} is a safetensors file but not a tsrnn model (its metadata has no "
            "'format': 'tsrnn'): load it with the tool that wrote it, or save a tsrnn model "
            "with tsrnn.save."
        )
    _check_version(meta, path)
    text = meta.get("tsrnn", "")
    if meta.get("sha256") != _digest(text, data):
        raise _corrupted(path, "its checksum does not match its content")
    try:
        tensors = _load_tensors(raw)
        document = json.loads(text)
    except (SafetensorError, ValueError) as exc:
        raise _corrupted(path, str(exc).splitlines()[0]) from None
    if document.get("class") not in _CLASSES:
        raise _corrupted(path, f"unknown model class {document.get('class')!r}")
    module_name, class_name = _CLASSES[document["class"]]
    cls = getattr(importlib.import_module(module_name), class_name)
    try:
        regressors = {
            name: _load_regressor(entry, tensors, device)
            for name, entry in document["regressors"].items()
        }
        if document["class"] == "RNNRegressor":
            return regressors["self"]
        arrays = {
            name: _load_array(name, spec, tensors) for name, spec in document["arrays"].items()
        }
        return cls._from_state(
            document["params"],
            document["state"],
            arrays,
            regressors,
            format_version=int(document["format_version"]),
        )
    except TsrnnError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError) as exc:
        raise _corrupted(path, f"{type(exc).__name__}: {exc}".splitlines()[0]) from None


# ---------------------------------------------------------------------- writing


def _kind_of(model: Any) -> str:
    from .estimator import RNNRegressor
    from .forecaster import RNNForecaster

    kinds = {RNNRegressor: "RNNRegressor", RNNForecaster: "RNNForecaster"}
    if type(model) not in kinds:  # exact classes: a subclass would load as its parent
        raise ParameterError(
            f"tsrnn.save stores RNNRegressor and RNNForecaster models; got "
            f"{type(model).__name__}: save other objects with their own library."
        )
    return kinds[type(model)]


def _not_fitted(model: Any) -> NotFittedError:
    return NotFittedError(
        f"This {type(model).__name__} is not fitted yet: call 'fit' before saving it."
    )


def _dump_regressor(reg: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> dict:
    """The JSON entry of one regressor; its tensors go into ``tensors`` under ``prefix``."""
    from ._train.codec import network_state

    if not hasattr(reg, "module_"):
        raise _not_fitted(reg)
    fitted, module, optimizer = network_state(reg)
    for key, value in module.items():
        tensors[f"{prefix}/module/{key}"] = value.contiguous()
    optimizer_state: dict[str, dict[str, Any]] = {}
    for index, entries in optimizer["state"].items():
        slot = optimizer_state[str(index)] = {}
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                name = f"{prefix}/optimizer/{index}/{key}"
                tensors[name] = value.contiguous()
                slot[key] = {"tensor": name}
            else:
                slot[key] = {"value": value}
    return {
        "prefix": prefix,
        "params": _plain(reg.get_params(deep=False), "parameter", type(reg).__name__),
        "fitted": _plain(fitted, "fitted attribute", type(reg).__name__),
        "module": list(module),
        "optimizer": _plain(
            {"state": optimizer_state, "param_groups": optimizer["param_groups"]},
            "optimizer setting",
            type(reg).__name__,
        ),
    }


def _dump_array(name: str, array: Any, tensors: dict[str, torch.Tensor]) -> dict:
    array = np.ascontiguousarray(array)
    dtype = array.dtype
    if dtype.kind in "mM":  # datetime64 / timedelta64: stored as their int64 ticks
        array = array.view(np.int64)
    if dtype.kind not in "biufcmM":
        raise ParameterError(
            f"Cannot save array {name!r} of dtype {dtype}: only numeric, boolean and datetime "
            "arrays can be stored in a model file."
        )
    tensors[f"arrays/{name}"] = torch.from_numpy(array.copy())
    return {"dtype": dtype.str}


def _plain(value: Any, what: str, owner: str) -> Any:
    """``value`` as plain JSON types, or a ParameterError naming what cannot be stored."""

    def default(obj: Any) -> Any:
        if isinstance(obj, np.generic):
            return obj.item()
        raise TypeError(obj)

    try:
        return json.loads(json.dumps(value, default=default, allow_nan=True))
    except (TypeError, ValueError):
        bad = _first_unplain(value, default)
        raise ParameterError(
            f"Cannot save the {what} {bad} of {owner}: a model file stores plain values "
            "(numbers, strings, booleans, None, lists); set it to one of those, e.g. an int "
            "random_state instead of a RandomState, before saving."
        ) from None


def _first_unplain(value: Any, default) -> str:
    items = value.items() if isinstance(value, dict) else enumerate([value])
    for key, item in items:
        try:
            json.dumps(item, default=default)
        except (TypeError, ValueError):
            return f"{key!r} = {item!r}"
    return repr(value)


def _data_section(blob: bytes) -> bytes:
    (n,) = _HEADER_LENGTH.unpack_from(blob)
    return blob[_HEADER_LENGTH.size + n :]


def _digest(text: str, data: bytes) -> str:
    return hashlib.sha256(text.encode("utf-8") + data).hexdigest()


# ---------------------------------------------------------------------- reading


def _read(path: Path) -> bytes:
    if not path.exists():
        raise ModelFileError(
            f"Model file {str(path)!r} does not exist: check the path, or create it with "
            "'tsrnn fit' or tsrnn.save."
        )
    if path.is_dir():
        raise ModelFileError(f"{str(path)!r} is a folder: give the path of a .tsrnn model file.")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"Cannot read {str(path)!r} ({exc.strerror}).") from None


def _split(raw: bytes, path: Path) -> tuple[dict, bytes]:
    """The parsed safetensors header and the data section, refusing anything else."""
    if raw[:1] == b"\x80" and raw[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise ModelFileError(
            f"{path} is a Python pickle, not a tsrnn model file: tsrnn never loads pickles, "
            "because unpickling can run arbitrary code; re-save the model with tsrnn.save."
        )
    if raw[:4] == b"PK\x03\x04":
        raise ModelFileError(
            f"{path} is a zip archive (e.g. written by torch.save, which holds a pickle), not a "
            "tsrnn model file: tsrnn never unpickles; re-save the model with tsrnn.save."
        )
    size = _HEADER_LENGTH.size
    n = _HEADER_LENGTH.unpack_from(raw)[0] if len(raw) >= size else None
    if n is not None and n <= _MAX_HEADER and raw[size : size + 1] == b"{" and n > len(raw) - size:
        raise _corrupted(path, f"it ends after {len(raw)} bytes, inside its header")
    if n is None or n > min(len(raw) - size, _MAX_HEADER) or raw[size : size + 1] != b"{":
        raise ModelFileError(
            f"{path} is not a tsrnn model file (or it is truncated): give a file written by "
            "tsrnn.save or 'tsrnn fit'."
        )
    try:
        header = json.loads(raw[size : size + n])
    except ValueError:
        raise _corrupted(path, "its header is not valid JSON") from None
    if not isinstance(header, dict):
        raise _corrupted(path, "its header is not a JSON object")
    return header, raw[size + n :]


def _check_version(meta: dict, path: Path) -> None:
    try:
        version = int(meta.get("format_version", ""))
    except ValueError:
        raise _corrupted(path, "its format_version is not a number") from None
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} uses model format {version}, newer than the format {FORMAT_VERSION} this "
            f"tsrnn {__version__} reads: upgrade tsrnn (pip install -U tsrnn) to load it."
        )


def _corrupted(path: Path, why: str) -> ModelFileError:
    return ModelFileError(
        f"{path} is corrupted ({why}): it was changed or cut short after saving; save the "
        "model again."
    )


def _load_regressor(entry: dict, tensors: dict[str, torch.Tensor], device: str | None) -> Any:
    from ._train.codec import restore_network
    from .estimator import RNNRegressor

    reg = RNNRegressor(**entry["params"])
    module = {key: tensors[f"{entry['prefix']}/module/{key}"] for key in entry["module"]}
    optimizer = entry["optimizer"]
    optimizer_state = {
        "state": {
            int(index): {
                key: tensors[spec["tensor"]] if "tensor" in spec else spec["value"]
                for key, spec in slot.items()
            }
            for index, slot in optimizer["state"].items()
        },
        "param_groups": optimizer["param_groups"],
    }
    where = device if device is not None else _available_or_cpu(reg.device)
    return restore_network(reg, entry["fitted"], module, optimizer_state, where)


def _load_array(name: str, spec: dict, tensors: dict[str, torch.Tensor]) -> np.ndarray:
    array = tensors[f"arrays/{name}"].numpy()
    return array.view(np.dtype(spec["dtype"])).copy()


def _available_or_cpu(device: str) -> str:
    try:
        resolve_device(device)
    except DeviceError:
        return "cpu"
    return device
