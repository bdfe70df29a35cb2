"""Tests of the bundled datasets."""

import pandas as pd
import pytest

from tsrnn import datasets
from tsrnn.errors import DataError


def test_list_names_the_bundled_datasets():
    """Both required series are listed."""
    assert {"airpassengers", "sunspots"} <= set(datasets.list())


def test_airpassengers_is_the_classic_series():
    """144 monthly values from 1949-01 to 1960-12, first 112 and last 432."""
    y = datasets.load("airpassengers")
    assert isinstance(y, pd.Series)
    assert len(y) == 144
    assert y.index.freqstr == "MS"
    assert y.index[0] == pd.Timestamp("1949-01-01")
    assert y.index[-1] == pd.Timestamp("1960-12-01")
    assert (y.iloc[0], y.iloc[-1]) == (112.0, 432.0)


def test_sunspots_is_monthly_and_complete():
    """3177 monthly values, no NaN, starting 1749-01."""
    y = datasets.load("sunspots")
    assert len(y) == 3177
    assert y.index.freqstr == "MS"
    assert y.index[0] == pd.Timestamp("1749-01-01")
    assert y.notna().all()
    assert y.min() >= 0


def test_load_unknown_name_says_what_exists():
    """A typo names the datasets that exist."""
    with pytest.raises(DataError, match="airpassengers"):
        datasets.load("airpasengers")


def test_every_dataset_has_a_source():
    """Each entry says where the data come from."""
    for name in datasets.list():
        assert datasets.DATASETS[name]["source"]
