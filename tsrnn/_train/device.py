"""Small torch helpers shared by the estimator and the search: devices, threads, seeds."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from ..errors import DeviceError

__all__ = ["resolve_device", "seeded", "torch_threads"]


def resolve_device(device: str) -> torch.device:
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``... into an available device.

    ``"auto"`` is CUDA when a GPU is visible to this process, else the CPU.

    Raises
    ------
    DeviceError
        If the name is unknown or the device is not available here.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, ValueError):
        raise DeviceError(
            f"Unknown device {device!r}: use 'auto', 'cpu', 'cuda' or 'cuda:N'."
        ) from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(
            f"device={device!r} was asked for but CUDA is not available in this process: "
            "use device='auto' to fall back to the CPU."
        )
    return resolved


@contextlib.contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """Run the block with ``n_threads`` torch intra-op threads, then restore the old count.

    ``None`` leaves torch's setting alone.
    """
    if n_threads is None or n_threads == torch.get_num_threads():
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch's global generators for the block, restoring the caller's state after it.

    Weight initialisation and dropout draw from the global generators; forking them keeps a fit
    reproducible without changing the random state the user sees outside it.
    """
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
