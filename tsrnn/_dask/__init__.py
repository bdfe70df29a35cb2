"""The Dask layer under training on a cluster (:mod:`tsrnn.parallel`) and the search.

``connect`` (clients, worker facts, resources, the watchdog), ``rank`` (one rank of a
data-parallel fit). Imported only by ``tsrnn.parallel``, ``tsrnn.search`` and what runs in the
workers; ``import tsrnn`` does not import Dask.
"""
