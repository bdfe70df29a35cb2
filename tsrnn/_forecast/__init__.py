"""The engine of :class:`tsrnn.RNNForecaster`: pure pieces the forecaster puts together.

``plan`` (what a fit resolved: sizes, the ensemble's networks), ``encoding`` (per-series
scaling, deseasonalising, padded windows), ``jobs`` (one network's sampling recipe, and the
jobs of a fit), ``ensemble`` (forecasts from encoded windows, the Theta combination),
``theta``, ``conformal`` and ``calibration`` (the intervals), ``covariates`` (exogenous
columns), ``state`` (a fit as the pieces of a model file). Nothing here imports pandas'
user-facing validation or Dask; the forecaster module is the only caller.
"""
