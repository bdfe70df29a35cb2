"""The cluster data path: series that live on the workers of a Dask cluster, in buckets.

``read`` (a Parquet dataset or a Dask DataFrame, shuffled into buckets of whole series),
``buckets`` (what a worker holds of a bucket: checked, compacted), ``columns`` (the input
columns of a bucket and their scaling over every bucket), ``future_values`` (the future
exogenous values, routed to the buckets of their series), ``train`` (one rank per worker),
``calibrate`` (each bucket's held-out windows, scored where they live), ``fit``
(``fit_dataset``), ``forecast`` (``forecast_dataset``), ``write`` (a Parquet dataset of the
forecasts). Built on the Dask plumbing of :mod:`tsrnn._dask`; imported by :mod:`tsrnn.parallel`.
"""
