"""The data layer: checking, grouping and dating series; pandas and numpy, never torch or Dask.

``checks`` (a series or many in normal form, the observations a forecast needs, or one
sentence saying what to fix), ``stamps`` (one index of timestamps: order, duplicates,
frequency, gaps), ``groups`` (one linear-time grouping of long rows by series id),
``calendar`` (season lengths, future stamps, calendar and holiday columns), ``categories``
(text columns as codes of their vocabulary), ``static`` (static covariates: one row per
series), ``tables`` (reading CSV and Parquet tables and finding their columns), ``text`` (how
messages write values).
"""
