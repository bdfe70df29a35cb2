"""tsrnn on a Dask cluster: data in memory trained on the workers, or data that never passes
through one process.

**Data that outgrow one process** (:func:`read_dataset`, :func:`fit_dataset`,
:func:`forecast_dataset`, :func:`write_dataset`): a Parquet dataset (a folder, a glob or an
fsspec URL such as ``s3://``) or a Dask DataFrame is read by the workers, bucketed by series
id (one shuffle, skipped when every file already holds whole series), checked, trained on and
forecast where it lives; the client holds the configuration, one summary per bucket and the
networks' weights, never a row, an id list or per-series state. Missing targets and gaps are
masked, ``calendar="auto"`` columns are built by the workers, exogenous columns (numeric, or
text coded with the vocabulary of every bucket) are read with the series (``exog``,
``hist_exog``) and their future values routed to the buckets (``forecast_dataset(...,
future=)``), static covariates are columns constant within each series (``static``).
A worker holds its buckets compactly (float32 values, one first stamp per series) and, beyond
its share of its memory limit, in its local directory as memory maps, from which the ranks
draw their windows; every computation runs on the dataset's client. Forecasts come back as a
lazy Dask DataFrame, or are written by the workers as a Parquet dataset. A look at a few
series (:func:`find_ids`, :func:`first_ids`, :func:`history_tail`) fetches their rows alone::

    from distributed import Client
    from tsrnn import RNNForecaster
    from tsrnn.parallel import fit_dataset, forecast_dataset, read_dataset, write_dataset

    client = Client("tcp://scheduler:8786")
    data = read_dataset("s3://lake/sales/", id_col="item", client=client)
    model = fit_dataset(RNNForecaster(horizon=28), data)  # keeps no series: tsrnn.save it
    write_dataset(forecast_dataset(model, data), "s3://lake/forecasts/")

**Data in memory, networks on the cluster.** The estimators know nothing of Dask. Inside
:func:`train_on_dask`, each fit hands its networks to the cluster instead of training them one
after another in this process:

* **Networks side by side.** The eight networks of a default :class:`~tsrnn.RNNForecaster` fit
  (four seeds, each with its calibration twin) are independent: each becomes one task, on any
  worker. A worker lost mid-fit costs only its task, which Dask runs again elsewhere. The
  result is the same as in this process (same seeds, same CPU: same weights).
* **One network, data-parallel.** When there are more workers than networks (e.g. one
  :class:`~tsrnn.RNNRegressor`), each network is trained by ``ranks`` workers at once, the
  LightGBM-on-Dask way: one task per rank, pinned to its worker, a ``torch.distributed``
  process group over them (gloo on CPU workers, NCCL on GPU workers) on a port each group's
  rank 0 is given by its own operating system. Every rank reads only its shard of the series
  (or rows), draws its share of each batch, and runs the same number of steps; gradients are
  averaged every step, so each step is the one a single process would take on the union of the
  ranks' batches (up to the order of floating-point sums). Only rank 0's copy comes back, as a
  CPU model.

Faults: every collective has a ``timeout``, never a hang. A worker that leaves the cluster
during a data-parallel fit (here or on a dataset) costs the steps since the state the group
last shared: the other ranks' collectives fail and each hands back its weights and optimizer
state after the last step every rank completed (every rank holds the same), rank 0 also keeps a
checkpoint on the scheduler every 200 steps (for when no rank survives), and a new process
group forms on the live workers (the survivors, and the lost worker once its nanny restarts it,
waited for up to ``timeout`` while the nanny answers; fewer ranks when none comes back), its
shards or buckets laid out again (a lost bucket rebuilt by Dask from its lineage), resuming
with the same total number of steps. One :class:`~tsrnn.errors.ClusterWarning` says which
worker was lost and the step training resumed from; with no worker left, one
:class:`~tsrnn.errors.ClusterError`. Dask has no gang scheduling, so two data-parallel fits
on one cluster could each hold half the workers and wait for the other half forever: a
cluster-wide ``distributed.Lock`` makes them take turns.

This module imports distributed; ``import tsrnn`` does not.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from distributed import Client

from ._dask.connect import connect
from ._dask.trainer import DaskTrainer
from ._dataset.fit import fit_dataset
from ._dataset.forecast import forecast_dataset
from ._dataset.pick import find_ids, first_ids, history_tail
from ._dataset.read import SeriesDataset, read_dataset
from ._dataset.write import write_dataset
from ._train.executor import using
from .errors import ParameterError, check_positive_int

__all__ = [
    "DaskTrainer",
    "SeriesDataset",
    "find_ids",
    "first_ids",
    "fit_dataset",
    "forecast_dataset",
    "history_tail",
    "read_dataset",
    "train_on_dask",
    "write_dataset",
]


@contextlib.contextmanager
def train_on_dask(
    client: Client | str | None = None,
    *,
    n_workers: int | None = None,
    ranks: int | None = None,
    timeout: float = 60.0,
    verbose: int = 0,
) -> Iterator[Client]:
    """Fit the tsrnn estimators of the block on a Dask cluster.

    Parameters
    ----------
    client : distributed.Client, str or None, default=None
        A client, a scheduler address (``"tcp://host:8786"``), or None: the scheduler of
        ``DASK_SCHEDULER_ADDRESS`` if set, else a local cluster of ``n_workers`` processes
        (one thread each), closed when the block ends.
    n_workers : int or None, default=None
        Workers of the local cluster (None: one per core).
    ranks : int or None, default=None
        Workers training each network together. None: the workers shared out over the
        networks of each fit (a forecaster's eight networks on two workers: one rank each; one
        regressor on two workers: two ranks).
    timeout : float, default=60.0
        Seconds allowed to form a process group and for each of its collectives, for a lost
        worker's nanny to bring it back, and for a cluster left without workers to get one.
    verbose : int, default=0
        Draw a progress bar of the networks trained.

    Yields
    ------
    distributed.Client

    Examples
    --------
    >>> from tsrnn import RNNForecaster, datasets
    >>> from tsrnn.parallel import train_on_dask
    >>> y = datasets.load("airpassengers")
    >>> with train_on_dask(n_workers=2):  # doctest: +SKIP
    ...     model = RNNForecaster(horizon=12).fit(y)
    """
    check_positive_int(ranks, "ranks", none=True)
    if timeout <= 0:
        raise ParameterError(f"timeout must be positive; got {timeout}.")
    with contextlib.ExitStack() as stack:
        connection = connect(client, n_workers=n_workers, stack=stack)
        trainer = DaskTrainer(
            connection.client,
            ranks=ranks,
            timeout=timeout,
            verbose=verbose,
            facts=connection.facts,
        )
        with using(trainer):
            yield connection.client
