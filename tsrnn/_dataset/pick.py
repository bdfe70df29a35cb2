"""A few series of a dataset, for a look at them: their ids, and the last values of each.

What a plot of a dataset's forecast needs, without a per-series list on the client: each
bucket answers with the few ids asked for (:func:`find_ids`), its first ids
(:func:`first_ids`: a bucket's series are sorted by id), or the last values of the few series
asked for (:func:`history_tail`); the client merges these few rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._dask.connect import fetch
from .buckets import Bucket
from .read import SeriesDataset
from .stamps import shifted

__all__ = ["find_ids", "first_ids", "history_tail"]


def find_ids(dataset: SeriesDataset, names: list[str]) -> dict[str, Any]:
    """The ids of ``dataset`` written as ``names`` (text, as a command line gives them).

    Parameters
    ----------
    dataset : SeriesDataset
    names : list of str

    Returns
    -------
    dict of str to object
        Each name found and its id (of the id column's type); a name of no series is absent.
    """
    client = dataset.client
    found = fetch(client, client.map(_named, dataset.buckets, names=list(names), pure=False))
    return {text: key for part in found for text, key in part.items()}


def _named(bucket: Bucket, names: list[str]) -> dict[str, Any]:
    ids = pd.Index(bucket.ids)
    hit = ids.astype(str).isin(names)
    return dict(zip(ids[hit].astype(str), ids[hit].tolist(), strict=True))


def first_ids(dataset: SeriesDataset, n: int) -> list:
    """The ``n`` smallest ids of ``dataset``, in order (fewer if it has fewer series)."""
    client = dataset.client
    parts = fetch(client, client.map(_first, dataset.buckets, n=n, pure=False))
    return sorted(key for part in parts for key in part)[:n]


def _first(bucket: Bucket, n: int) -> list:
    return pd.Index(bucket.ids)[:n].tolist()  # a bucket's series are sorted by id


def history_tail(dataset: SeriesDataset, ids: list, n: int) -> pd.Series:
    """The last ``n`` values of each series of ``ids`` (gaps as NaN), from the workers.

    Parameters
    ----------
    dataset : SeriesDataset
    ids : list
        Ids of the dataset (a missing one is left out).
    n : int

    Returns
    -------
    Series of length at most ``n * len(ids)``
        Indexed by (id, time), named as the dataset's columns, the series in the order of
        ``ids``; named as the target.
    """
    client = dataset.client
    columns = dataset.columns
    parts = fetch(client, client.map(_tail, dataset.buckets, ids=list(ids), n=n, pure=False))
    names = [columns.id, columns.time]
    kept = [part for part in parts if len(part)]
    if not kept:
        empty = pd.MultiIndex.from_arrays([[], []], names=names)
        return pd.Series([], index=empty, dtype=np.float64, name=columns.target)
    rows = pd.concat(kept)
    rank = {key: k for k, key in enumerate(ids)}
    order = np.argsort([rank[key] for key in rows["id"]], kind="stable")
    rows = rows.iloc[order]
    index = pd.MultiIndex.from_arrays([rows["id"], rows["time"]], names=names)
    return pd.Series(rows["value"].to_numpy(), index=index, name=columns.target)


def _tail(bucket: Bucket, ids: list, n: int) -> pd.DataFrame:
    """The last ``n`` rows of the series of ``ids`` this bucket holds: id, time, value."""
    if not bucket.n_series:
        return pd.DataFrame({"id": [], "time": [], "value": []})
    known = pd.Index(bucket.ids)
    at = known.get_indexer(pd.Index(pd.Series(ids, dtype=object)))
    at = at[at >= 0]
    ends = np.cumsum(bucket.lengths)
    keys, steps, values = [], [], []
    for k, key in zip(at, known[at].tolist(), strict=True):
        m = int(min(n, bucket.lengths[k]))
        keys += [key] * m
        steps.append(np.arange(bucket.lengths[k] - m, bucket.lengths[k]))
        values.append(np.asarray(bucket.values[ends[k] - m : ends[k]], dtype=np.float64))
    if not keys:
        return pd.DataFrame({"id": [], "time": [], "value": []})
    owner = np.repeat(at, [len(s) for s in steps])
    stamps = shifted(bucket.first[owner], np.concatenate(steps), bucket.freq)
    return pd.DataFrame({"id": keys, "time": stamps, "value": np.concatenate(values)})
