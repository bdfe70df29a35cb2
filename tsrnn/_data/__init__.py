"""The data layer: checking, grouping and dating series; pandas and numpy, never torch or Dask.

``checks`` (a series or many in normal form, or one sentence saying what to fix), ``groups``
(one linear-time grouping of long rows by series id), ``calendar`` (season lengths, future
stamps), ``tables`` (reading CSV and Parquet tables and finding their columns), ``text`` (how
messages write values).
"""
