"""Reading CSVs into validated series, and writing outputs without partial files."""

import os

import numpy as np
import pandas as pd
import pytest

from tsrnn.errors import DataError, ParameterError
from tsrnn.io import (
    atomic_path,
    check_output_path,
    read_future,
    read_series,
    write_csv_atomic,
    write_forecast,
)

MONTHS = [f"2020-{m:02d}-01" for m in range(1, 13)]


def _csv(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _rows(header, *columns):
    lines = [",".join(map(str, row)) for row in zip(*columns, strict=True)]
    return "\n".join([header, *lines]) + "\n"


def test_read_series_detects_time_and_target(tmp_path):
    """One date column and one numeric column need no names."""
    path = _csv(tmp_path, _rows("date,units", MONTHS, range(12)))
    y, X = read_series(path)
    assert X is None
    assert y.name == "units" and y.index.name == "date"
    assert isinstance(y.index, pd.DatetimeIndex) and y.index.freqstr == "MS"
    assert y.dtype == np.float64 and y.tolist() == list(map(float, range(12)))


def test_read_series_named_columns_and_exog(tmp_path):
    """Named target and exogenous columns; other columns are ignored."""
    text = _rows("note,date,units,price", ["x"] * 12, MONTHS, range(12), range(100, 112))
    y, X = read_series(_csv(tmp_path, text), target="units", exog="price")
    assert y.name == "units"
    assert list(X.columns) == ["price"] and X.index.equals(y.index)
    assert X["price"].iloc[-1] == 111.0


def test_read_series_long_format(tmp_path):
    """--id-col gives a (id, timestamp) MultiIndex, series in the order of the file."""
    text = _rows("store,date,units", ["b"] * 6 + ["a"] * 6, MONTHS[:6] * 2, range(12))
    y, _ = read_series(_csv(tmp_path, text), id_col="store")
    assert y.index.names == ["store", "date"]
    assert list(pd.unique(y.index.get_level_values(0))) == ["b", "a"]
    assert y.attrs["freq"] == "MS"


def test_read_series_strips_header_spaces(tmp_path):
    path = _csv(tmp_path, _rows("date, units", MONTHS, range(12)))
    assert read_series(path, target="units")[0].name == "units"


@pytest.mark.parametrize(
    ("text", "kwargs", "error", "match"),
    [
        ("", {}, DataError, "is empty"),
        ("date,units\n", {}, DataError, "no rows"),
        ("date;units\n2020-01-01;1\n", {}, DataError, "separated by ';'"),
        ("date,units\n2020-01-01,1,9\n2020-02-01,2\n", {}, DataError, "more fields"),
        ("date,units\n2020-01-01,1\n2020-02-01,2,9\n", {}, DataError, "Expected 2 fields"),
        (_rows("date,units", MONTHS, range(12)), {"target": "unit"}, DataError, "'units'\\?"),
        (_rows("date,units", MONTHS, range(12)), {"time_col": "day"}, DataError, "not in"),
        (_rows("d1,d2,v", MONTHS, MONTHS, range(12)), {}, DataError, "2 date columns"),
        (_rows("a,b", range(12), range(12)), {}, DataError, "no column of dates"),
        (_rows("date,a,b", MONTHS, range(12), range(12)), {}, DataError, "2 numeric columns"),
        (_rows("date,units", MONTHS, range(12)), {"time_col": "units"}, DataError, "numbers"),
        (_rows("date,u", ["x", *MONTHS[1:]], range(12)), {"time_col": "date"}, DataError, "line 2"),
        (_rows("date,u", MONTHS, ["1", "two", *range(10)]), {}, DataError, "line 3 has 'two'"),
        (_rows("date,u", MONTHS, ["1", "", *range(10)]), {}, DataError, "empty value.*line 3"),
        (_rows("date,u", MONTHS[:2] + MONTHS[1:11], range(12)), {}, DataError, "twice"),
        (_rows("date,u", [MONTHS[1], MONTHS[0], *MONTHS[2:]], range(12)), {}, DataError, "sorted"),
        (_rows("date,u", MONTHS[:5] + MONTHS[6:], range(11)), {}, DataError, "gap"),
        (_rows("date,u", MONTHS, range(12)), {"target": "u", "exog": "u"}, ParameterError, "role"),
    ],
    ids=[
        "empty",
        "header-only",
        "semicolons",
        "first-row-too-long",
        "row-too-long",
        "unknown-target",
        "unknown-time-col",
        "two-date-columns",
        "no-date-column",
        "two-numeric-columns",
        "numeric-time-col",
        "bad-date",
        "non-numeric",
        "nan",
        "duplicated",
        "unsorted",
        "gap",
        "two-roles",
    ],
)
def test_read_series_bad_input(tmp_path, text, kwargs, error, match):
    """Each bad file raises one clear sentence."""
    with pytest.raises(error, match=match) as info:
        read_series(_csv(tmp_path, text), **kwargs)
    assert "\n" not in str(info.value)


def test_read_series_missing_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_series(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a folder"):
        read_series(tmp_path)


def test_read_series_duplicates_hint_id_col(tmp_path):
    """Stacked series without --id-col: the message suggests the id column."""
    text = _rows("store,date,units", ["a"] * 6 + ["b"] * 6, MONTHS[:6] * 2, range(12))
    with pytest.raises(DataError, match=r"id_col.*'store'"):
        read_series(_csv(tmp_path, text))


def test_read_future(tmp_path):
    text = _rows("date,price", MONTHS[:3], [1, 2, 3])
    X = read_future(_csv(tmp_path, text), exog=["price"])
    assert list(X.columns) == ["price"] and X.index.name == "date" and len(X) == 3


def test_write_csv_atomic_replaces_whole_file(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old")
    write_csv_atomic(pd.DataFrame({"a": [1, 2]}), path)
    assert path.read_text() == "a\n1\n2\n"
    assert os.listdir(tmp_path) == ["out.csv"]


def test_write_csv_atomic_stdout(capsys):
    write_csv_atomic(pd.DataFrame({"a": [1]}), "-")
    assert capsys.readouterr().out == "a\n1\n"


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    """A failure inside the block leaves neither the file nor a temporary one."""
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "out.csv") as tmp:
        tmp.write_text("partial")
        raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_check_output_path(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        check_output_path(tmp_path / "missing" / "out.csv")
    with pytest.raises(ParameterError, match="is a folder"):
        check_output_path(tmp_path)


def test_write_forecast_columns(tmp_path):
    index = pd.MultiIndex.from_product([["a"], pd.date_range("2021", periods=2, freq="MS")])
    frame = pd.DataFrame({"forecast": [1.0, 2], "lower": [0.0, 1], "upper": [2.0, 3]}, index)
    write_forecast(frame, tmp_path / "f.csv")
    assert pd.read_csv(tmp_path / "f.csv").columns.tolist() == [
        "id",
        "timestamp",
        "forecast",
        "lower",
        "upper",
    ]
