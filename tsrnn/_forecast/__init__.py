"""The engine of :class:`tsrnn.RNNForecaster`: pure pieces, which read a fit, never the estimator.

``plan`` (what a fit resolved: sizes, the ensemble's networks), ``inputs`` (the input columns
of a fit and of a newer history: codes, static rows, borrowed seasons), ``covariates`` (the
input columns' roles, scaling and future values), ``scaling`` (per-series scaling and
seasons), ``windows`` (one Panel of encoded series, padded windows), ``jobs`` (one network's
sampling recipe, the seeds and the jobs of a fit), ``steps`` (the networks trained for a
budget of steps, in lockstep), ``ensemble`` (forecasts from encoded windows, the Theta
combination), ``theta``, ``conformal`` and ``calibration`` (the intervals), ``fitted``
(everything a fit learned: :class:`~tsrnn._forecast.fitted.Fitted`), ``fit`` (a fit in one
process), ``predict`` (forecasts from a fit), ``state`` (a fit as the pieces of a model
file). No Dask: a fit on a cluster (:mod:`tsrnn._dataset`, :mod:`tsrnn.parallel`) uses the
same pieces in the workers.
"""
