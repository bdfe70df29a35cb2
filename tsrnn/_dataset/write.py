"""Write a Dask DataFrame of forecasts as a Parquet dataset, replacing an older one whole.

A failed run never leaves a dataset that looks complete: the files go to a hidden folder
beside the destination, which replaces the old output only once every file is written, and a
``_SUCCESS`` marker is written last.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from ..errors import ParameterError
from .read import client_of

__all__ = ["MARKER", "write_dataset"]

#: The file written last into a complete output dataset.
MARKER = "_SUCCESS"


def write_dataset(
    frame: Any, path: str, storage_options: dict | None = None, *, client: Any = None
) -> dict[str, float]:
    """Write a Dask DataFrame as a Parquet dataset at ``path``, replacing an older one whole.

    The workers compute the partitions (kept in their memory), then write one file per
    partition (``part-00000.parquet``, ...) into a hidden folder beside ``path``; once all are
    written, the old output (if any) is removed, the folder takes its name, and ``_SUCCESS``
    is written in it last. On an error the hidden folder is removed and the old output is
    left as it was.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
    path : str
        A local folder or an fsspec URL.
    storage_options : dict or None
    client : distributed.Client or None
        The cluster that computes and writes ``frame``; None: the client of the dataset it
        reads (the forecasts of :func:`~tsrnn.parallel.forecast_dataset`, or a frame made
        of them), else the default client.

    Returns
    -------
    dict of str to float
        Seconds spent ``"computing"`` the partitions and ``"writing"`` them.
    """
    import time

    import distributed
    import fsspec

    fs, _, [root] = fsspec.get_fs_token_paths(path, storage_options=storage_options)
    root = root.rstrip("/")
    parent, name = root.rsplit("/", 1) if "/" in root else ("", root)
    if parent and not fs.isdir(parent):
        raise ParameterError(
            f"The folder {parent!r} of {path!r} does not exist: create it first or choose "
            "another output."
        )
    if fs.isfile(root):
        raise ParameterError(f"{path!r} is a file: give a folder for the Parquet dataset.")
    tmp = f"{parent}/.{name}.{secrets.token_hex(4)}.part" if parent else f".{name}.part"
    client = client or client_of(frame) or distributed.default_client()
    start = time.perf_counter()
    frame = client.persist(frame)
    distributed.wait(frame)
    computed = time.perf_counter()
    try:
        written = frame.to_parquet(
            fs.unstrip_protocol(tmp),
            write_index=False,
            storage_options=storage_options,
            name_function=lambda i: f"part-{i:05d}.parquet",
            write_metadata_file=False,
            compute=False,
        )
        client.compute(written).result()
        if fs.exists(root):
            fs.rm(root, recursive=True)
        if getattr(fs, "protocol", None) in ("file", ("file", "local")) or _is_local(fs):
            os.rename(tmp, root)
        else:
            fs.mv(tmp, root, recursive=True)
        fs.pipe_file(f"{root}/{MARKER}", b"")
    finally:
        if fs.exists(tmp):
            fs.rm(tmp, recursive=True)
    return {"computing": computed - start, "writing": time.perf_counter() - computed}


def _is_local(fs: Any) -> bool:
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)
