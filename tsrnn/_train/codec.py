"""The codec of :class:`~tsrnn.RNNRegressor`: what a fit learned, as plain values and tensors.

Shared by pickling (a fit made in a Dask worker travels back) and model files
(:mod:`tsrnn.persist`), and going by one list of fitted names (:data:`FITTED`) that the
regressor resets and adopts by, so that the three cannot drift apart. The regressor is read
and set by those names (and rebuilt with its ``_build_network``); nothing here imports it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .device import resolve_device, seeded

__all__ = ["FITTED", "network_state", "restore_network"]

#: Everything a regressor's ``fit`` learns: the one list that resetting, adopting a fit made
#: elsewhere, pickling and model files go by.
FITTED = (
    "module_", "optimizer_", "loss_fn_", "device_", "seed_", "history_", "n_iter_",
    "n_features_in_", "n_channels_in_", "n_outputs_", "feature_names_in_", "_y_1d",
)  # fmt: skip


def network_state(
    model: Any,
) -> tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, Any]]:
    """What a fitted regressor learned, for pickling and for model files (:mod:`tsrnn.persist`).

    Parameters
    ----------
    model : RNNRegressor
        A fitted regressor.

    Returns
    -------
    fitted : dict
        The plain fitted attributes (JSON-able): ``n_features_in_``, ``n_channels_in_``,
        ``n_outputs_``, ``n_iter_``, ``seed_``, ``history_``, ``y_1d`` and, when ``fit``
        saw column names, ``feature_names_in_``.
    module : dict of str to Tensor
        The network's ``state_dict``, on the CPU.
    optimizer : dict
        The optimizer's ``state_dict``, its tensors on the CPU.
    """
    fitted: dict[str, Any] = {
        "n_features_in_": int(model.n_features_in_),
        "n_channels_in_": int(model.n_channels_in_),
        "n_outputs_": int(model.n_outputs_),
        "n_iter_": int(model.n_iter_),
        "seed_": int(model.seed_),
        "history_": list(model.history_),
        "y_1d": bool(model._y_1d),
    }
    if hasattr(model, "feature_names_in_"):
        fitted["feature_names_in_"] = [str(c) for c in model.feature_names_in_]
    module = {k: v.detach().cpu() for k, v in model.module_.state_dict().items()}
    optimizer = model.optimizer_.state_dict()
    optimizer["state"] = {
        index: {k: v.detach().cpu() if isinstance(v, torch.Tensor) else v for k, v in slot.items()}
        for index, slot in optimizer["state"].items()
    }
    return fitted, module, optimizer


def restore_network(
    model: Any,
    fitted: dict[str, Any],
    module: dict[str, torch.Tensor],
    optimizer: dict[str, Any],
    device: str | torch.device,
) -> Any:
    """Give an unfitted regressor (built from the saved parameters) its fitted state.

    Parameters
    ----------
    model : RNNRegressor
    fitted, module, optimizer
        As returned by :func:`network_state`.
    device : str or torch.device
        Where to build the network; must be available in this process.

    Returns
    -------
    RNNRegressor
        ``model``, fitted.
    """
    device = resolve_device(str(device))
    with seeded(int(fitted["seed_"]), device):  # the initial weights, overwritten: no side effect
        model._build_network(int(fitted["n_channels_in_"]), int(fitted["n_outputs_"]), device)
    model.module_.load_state_dict(module, strict=True)
    model.optimizer_.load_state_dict(optimizer)
    for name in ("n_features_in_", "n_channels_in_", "n_outputs_", "n_iter_", "seed_"):
        setattr(model, name, int(fitted[name]))
    model.history_ = list(fitted["history_"])
    model._y_1d = bool(fitted["y_1d"])
    if "feature_names_in_" in fitted:
        model.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
    return model
