"""Train tsrnn's networks on a Dask cluster: side by side, or one network data-parallel.

The estimators know nothing of Dask. Inside :func:`train_on_dask`, each fit hands its networks
to the cluster instead of training them one after another in this process:

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

Faults: every collective has a ``timeout``; a worker that leaves the cluster during a
data-parallel fit ends the fit with a :class:`~tsrnn.errors.ClusterError` within seconds
(the other ranks see their peer close), never a hang. Dask has no gang scheduling, so two
data-parallel fits on one cluster could each hold half the workers and wait for the other half
forever: a cluster-wide ``distributed.Lock`` makes them take turns.

This module imports distributed; ``import tsrnn`` does not.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from distributed import Client

from ._dask.connect import connect
from ._dask.trainer import DaskTrainer
from ._train.jobs import using
from .errors import ParameterError, check_positive_int

__all__ = ["DaskTrainer", "train_on_dask"]


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
        Seconds allowed to form a process group and for each of its collectives.
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
