"""The Dask layer under training on a cluster (:mod:`tsrnn.parallel`) and the search.

``connect`` (clients, the malloc warning, resources, the watchdog), ``worker`` (what runs
inside a worker: its facts, a training task's set-up), ``trainer`` (a fit's networks as
tasks), ``elastic`` (a data-parallel fit's group of ranks, formed again from a checkpoint
after a lost worker), ``rank`` (one rank of a data-parallel fit). Imported only by
``tsrnn.parallel``, ``tsrnn.search`` and what runs in the workers; ``import tsrnn`` does not
import Dask.
"""
