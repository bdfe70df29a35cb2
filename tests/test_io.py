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


# ---------------------------------------------------------------------- Parquet


def _long_frame(n_series=3, n=12, freq="MS", interleave=False) -> pd.DataFrame:
    """``n_series`` stores of ``n`` points each, stacked (or interleaved by date)."""
    dates = pd.date_range("2020-01-01", periods=n, freq=freq)
    frame = pd.DataFrame(
        {
            "store": np.repeat([f"s{k}" for k in range(n_series)], n),
            "date": np.tile(dates, n_series),
            "units": np.arange(n_series * n, dtype=float),
        }
    )
    return frame.sort_values(["date", "store"], kind="stable") if interleave else frame


@pytest.mark.parametrize("suffix", [".parquet", ".pq"])
@pytest.mark.parametrize("as_text", [False, True], ids=["timestamp", "text"])
def test_parquet_round_trip_equals_csv(tmp_path, suffix, as_text):
    """A Parquet file reads exactly as the same table written as CSV, with timestamps stored as
    a Parquet timestamp column or as text."""
    frame = _long_frame(interleave=True)
    if as_text:
        frame["date"] = frame["date"].dt.strftime("%Y-%m-%d")
    frame.to_csv(tmp_path / "data.csv", index=False)
    frame.to_parquet(tmp_path / f"data{suffix}", index=False)
    from_csv, _ = read_series(tmp_path / "data.csv", id_col="store")
    from_parquet, _ = read_series(tmp_path / f"data{suffix}", id_col="store")
    pd.testing.assert_series_equal(from_parquet, from_csv)
    assert from_parquet.attrs["freq"] == "MS"
    assert list(pd.unique(from_parquet.index.get_level_values(0))) == ["s0", "s1", "s2"]


def test_parquet_detects_columns_and_keeps_a_saved_index(tmp_path):
    """Column detection as for CSV; a named index written by pandas is a column again."""
    frame = pd.DataFrame(
        {"date": pd.to_datetime(MONTHS), "units": range(12), "price": np.linspace(1, 2, 12)}
    )
    frame.set_index("date").to_parquet(tmp_path / "data.parquet")
    y, X = read_series(tmp_path / "data.parquet", target="units", exog="price")
    assert y.index.name == "date" and y.index.freqstr == "MS"
    assert y.tolist() == list(map(float, range(12))) and X["price"].iloc[-1] == 2.0
    frame.iloc[1:].to_parquet(tmp_path / "rows.parquet")  # an unnamed, non-default index
    y, _ = read_series(tmp_path / "rows.parquet", target="units")
    assert len(y) == 11 and y.index[0] == pd.Timestamp(MONTHS[1])


def test_read_future_parquet(tmp_path):
    frame = pd.DataFrame({"date": pd.to_datetime(MONTHS[:3]), "price": [1.0, 2.0, 3.0]})
    frame.to_parquet(tmp_path / "future.parquet")
    X = read_future(tmp_path / "future.parquet", exog=["price"])
    assert X["price"].tolist() == [1.0, 2.0, 3.0] and X.index.name == "date"


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    import io

    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


GOOD_PARQUET = pd.DataFrame({"date": pd.to_datetime(MONTHS), "units": np.arange(12.0)})


def _with_nan(frame: pd.DataFrame, row: int) -> pd.DataFrame:
    return frame.assign(units=frame["units"].where(frame.index != row))


def _corrupt_footer(raw: bytes) -> bytes:
    """The file with its metadata overwritten, its length and magic bytes kept."""
    size = int.from_bytes(raw[-8:-4], "little")
    return raw[: -8 - size] + b"\xff" * size + raw[-8:]


@pytest.mark.parametrize(
    ("content", "kwargs", "match"),
    [
        (b"", {}, "is empty"),
        (b"date,units\n2020-01-01,1\n2020-02-01,2\n", {}, "not a Parquet file"),
        (lambda: _parquet_bytes(GOOD_PARQUET)[:-40], {}, "not a Parquet file, or a truncated"),
        (lambda: _corrupt_footer(_parquet_bytes(GOOD_PARQUET)), {}, "not a readable Parquet"),
        (lambda: _parquet_bytes(GOOD_PARQUET), {"target": "unit"}, "did you mean 'units'"),
        (lambda: _parquet_bytes(GOOD_PARQUET), {"id_col": "store"}, "'store' given as id_col"),
        (lambda: _parquet_bytes(GOOD_PARQUET[["units"]]), {}, "single column 'units'"),
        (lambda: _parquet_bytes(GOOD_PARQUET.iloc[:0]), {}, "no rows"),
        (lambda: _parquet_bytes(GOOD_PARQUET.drop(index=4)), {}, "gap"),
        (lambda: _parquet_bytes(_with_nan(GOOD_PARQUET, 3)), {}, r"empty value \(NaN\) on row 4"),
        (lambda: _parquet_bytes(GOOD_PARQUET.iloc[[0, 2, 1, *range(3, 12)]]), {}, "row 3"),
    ],
    ids=["empty", "csv-bytes", "truncated", "corrupt", "unknown-target", "unknown-id",
         "one-column", "no-rows", "gap", "nan", "unsorted"],
)  # fmt: skip
def test_read_series_bad_parquet(tmp_path, content, kwargs, match):
    """A bad .parquet file is one DataError sentence, never a pyarrow traceback."""
    path = tmp_path / "data.parquet"
    path.write_bytes(content() if callable(content) else content)
    with pytest.raises(DataError, match=match) as info:
        read_series(path, **kwargs)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_read_series_parquet_folder(tmp_path):
    (tmp_path / "data.parquet").mkdir()
    with pytest.raises(DataError, match="is a folder, not a Parquet file"):
        read_series(tmp_path / "data.parquet")


# ---------------------------------------------------------------------- many series


def test_read_many_series_reports_first_bad_series_with_lines(tmp_path):
    """Among many series, the first bad one (in file order) is named with its lines."""
    frame = _long_frame(n_series=50, n=10, freq="D")
    dates = frame["date"].to_numpy().copy()
    dates[[203, 405]] = dates[[202, 404]]  # series s20 and s40 repeat a day
    frame["date"] = dates
    frame.to_csv(tmp_path / "data.csv", index=False)
    with pytest.raises(DataError, match=r"2020-01-03 twice for store=s20 \(lines 204 and 205\)"):
        read_series(tmp_path / "data.csv", id_col="store")
    frame.to_parquet(tmp_path / "data.parquet", index=False)
    with pytest.raises(DataError, match=r"2020-01-03 twice for store=s20 \(rows 203 and 204\)"):
        read_series(tmp_path / "data.parquet", id_col="store")


def test_read_many_series_gap_names_series_and_timestamp(tmp_path):
    frame = _long_frame(n_series=30, n=10, freq="D").drop(
        index=[125, 255]
    )  # s12 and s25 miss a day
    frame.to_csv(tmp_path / "data.csv", index=False)
    with pytest.raises(DataError, match=r"series 's12'\) has a gap: timestamp 2020-01-06"):
        read_series(tmp_path / "data.csv", id_col="store")


def test_read_many_series_empty_id_is_refused(tmp_path):
    frame = _long_frame(n_series=2, n=10, freq="D")
    frame.loc[13, "store"] = None
    frame.to_parquet(tmp_path / "data.parquet", index=False)
    with pytest.raises(DataError, match="empty series id in column 'store' on row 14"):
        read_series(tmp_path / "data.parquet", id_col="store")
    with pytest.raises(DataError, match="empty series id in column 'store' on row 14"):
        read_future(tmp_path / "data.parquet", exog=["units"], id_col="store")


def test_nixtla_long_format_needs_no_column_named(tmp_path):
    """unique_id, ds, y (statsforecast's names) are the id, time and target columns; named
    roles still win, and the convention does not take a column given another role."""
    path = tmp_path / "nixtla.csv"
    rows = [f"{k},2024-01-{d:02d},{d * (k + 1)},{d % 2}" for k in range(2) for d in range(1, 9)]
    path.write_text("unique_id,ds,y,promo\n" + "\n".join(rows) + "\n")
    y, X = read_series(path, exog=["promo"])
    assert y.index.names == ["unique_id", "ds"] and y.name == "y"
    assert list(X.columns) == ["promo"] and y.xs(1, level=0).iloc[-1] == 16
    y, _ = read_series(path, target="promo")
    assert y.name == "promo" and y.index.names == ["unique_id", "ds"]
    future = tmp_path / "future.csv"
    future.write_text("unique_id,ds,promo\n0,2024-01-09,1\n1,2024-01-09,0\n")
    X_future = read_future(future, exog=["promo"])
    assert X_future.index.names == ["unique_id", "ds"] and len(X_future) == 2
