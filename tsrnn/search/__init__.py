"""Hyperparameter search on Dask: grid, random, and successive halving with Hyperband brackets.

:class:`SearchCV` (``_cv``) is a thin front: ``_plans`` decides which fits run (and which
candidates a halving rung promotes), ``_tasks`` holds the pure task that fits and scores one
candidate on one fold, ``_runner`` runs the tasks on a Dask cluster (scatter once, one future
per fit, ``as_completed``, resubmission, journal, progress bar) through the Dask layer it shares
with training (:mod:`tsrnn._dask`), ``_journal`` keeps the finished fits, ``_results`` builds
``cv_results_``, and ``_origins`` scores a forecaster on backtest origins (:class:`RollingOrigin`).

This package imports distributed; ``import tsrnn`` loads it only when ``SearchCV`` is used.
"""

from ._cv import SearchCV
from ._origins import RollingOrigin

__all__ = ["RollingOrigin", "SearchCV"]
