"""One grouping of rows by series (tsrnn._data.groups), and the validation of many series on it."""

import numpy as np
import pandas as pd
import pytest

from tsrnn._data.checks import check_series
from tsrnn._data.groups import group_rows
from tsrnn.errors import DataError


def _naive(ids) -> dict:
    """Row positions of each id, ids in first-seen order: the obvious quadratic way."""
    out = {}
    for pos, key in enumerate(ids):
        out.setdefault(key, []).append(pos)
    return out


def _check_against_naive(ids) -> None:
    groups = group_rows(ids)
    expected = _naive(ids)
    assert groups.keys.tolist() == list(expected)
    assert groups.lengths.tolist() == [len(p) for p in expected.values()]
    assert groups.starts[0] == 0 and groups.starts[-1] == len(ids)
    assert groups.order.tolist() == [p for rows in expected.values() for p in rows]
    positions = np.arange(len(ids)) * 10
    pieces = groups.split(positions)
    assert [piece.tolist() for piece in pieces] == [
        [p * 10 for p in rows] for rows in expected.values()
    ]
    assert [groups.keys[c] for c in groups.codes] == list(ids)


def test_group_rows_interleaved_ids():
    ids = ["b", "a", "c", "a", "b", "b", "c", "a"]
    _check_against_naive(ids)
    groups = group_rows(ids)
    assert not groups.contiguous
    assert groups.keys.tolist() == ["b", "a", "c"] and groups.lengths.tolist() == [3, 3, 2]


def test_group_rows_sorted_ids_split_into_views():
    """Rows already one block per series: contiguous, and the pieces are views."""
    ids = np.repeat([7, 3, 5], [2, 4, 1])
    _check_against_naive(ids.tolist())
    groups = group_rows(ids)
    assert groups.contiguous
    values = np.arange(7.0)
    assert all(np.shares_memory(piece, values) for piece in groups.split(values))
    assert [s.start for s in groups.slices()] == [0, 2, 6]


def test_group_rows_mixed_types():
    """Ids of mixed types stay apart (1 and '1' are two series) and keep their types."""
    ids = [1, "1", ("a", 2), 2.5, "x", 1, ("a", 2), "1"]
    _check_against_naive(ids)
    keys = group_rows(ids).keys.tolist()
    assert keys == [1, "1", ("a", 2), 2.5, "x"]
    assert [type(k) for k in keys] == [int, str, tuple, float, str]


def test_group_rows_one_series():
    groups = group_rows(pd.Index(["only"] * 5))
    assert groups.n_series == 1 and groups.lengths.tolist() == [5] and groups.contiguous
    assert groups.split(np.arange(5))[0].tolist() == [0, 1, 2, 3, 4]


def test_group_rows_thousands_of_tiny_series():
    """4,000 series of 1 to 3 rows, shuffled: the same groups as the obvious loop."""
    rng = np.random.default_rng(0)
    ids = np.repeat(np.arange(4000), rng.integers(1, 4, 4000))
    ids = [f"id{k}" for k in rng.permutation(ids)]
    _check_against_naive(ids)


# ---------------------------------------------------------------------- many series validated


def _long(lengths, freq="D", start="2020-01-01", ids=None, interleave=False) -> pd.Series:
    """Regular series of the given lengths stacked as a long Series; value = 1000 * k + step."""
    ids = ids if ids is not None else [f"s{k}" for k in range(len(lengths))]
    parts = {
        key: pd.Series(1000.0 * k + np.arange(n), index=pd.date_range(start, periods=n, freq=freq))
        for k, (key, n) in enumerate(zip(ids, lengths, strict=True))
    }
    y = pd.concat(parts, names=["id", "ds"])
    if interleave:
        y = y.iloc[np.argsort(y.index.get_level_values(1).to_numpy(), kind="stable")]
    return y


def test_check_series_thousands_of_tiny_interleaved_series():
    """3,000 series of 3 to 6 points, rows interleaved by time: each comes back as one block
    in first-seen order, values and X rows with it, frequency set."""
    rng = np.random.default_rng(1)
    lengths = rng.integers(3, 7, 3000)
    y = _long(lengths, interleave=True)
    X = pd.DataFrame({"x": -y.to_numpy()}, index=y.index)
    out, X_out = check_series(y, X)
    first_seen = list(pd.unique(y.index.get_level_values(0)))
    assert list(pd.unique(out.index.get_level_values(0))) == first_seen
    groups = group_rows(out.index.get_level_values(0))
    assert groups.contiguous and groups.lengths.tolist() == [
        lengths[int(key[1:])] for key in first_seen
    ]
    k = first_seen.index("s1234")
    block = out.iloc[groups.starts[k] : groups.starts[k + 1]]
    assert block.tolist() == [1234000.0 + i for i in range(lengths[1234])]
    assert block.index.get_level_values(1)[0] == pd.Timestamp("2020-01-01")
    np.testing.assert_array_equal(X_out["x"].to_numpy(), -out.to_numpy())
    assert out.attrs["freq"] == "D"


def _broken(kind: str) -> pd.Series:
    """2,000 series of 10 days; series 's1500' broken in the way ``kind`` says."""
    y = _long([10] * 2000)
    key = "s1500"
    rows = np.flatnonzero(y.index.get_level_values(0) == key)
    if kind == "gap":
        return y.drop(y.index[rows[4]])
    if kind == "nan":
        y.iloc[rows[6]] = np.nan
        return y
    index = y.index.to_frame(index=False)
    if kind == "duplicated":
        index.loc[rows[3], "ds"] = index.loc[rows[2], "ds"]
    elif kind == "unsorted":
        index.loc[[rows[2], rows[3]], "ds"] = index.loc[[rows[3], rows[2]], "ds"].to_numpy()
    elif kind == "too-short":
        return y.drop(y.index[rows[2:]])
    elif kind == "weekly":
        index.loc[rows, "ds"] = pd.date_range("2020-01-05", periods=10, freq="W-SUN")
    y.index = pd.MultiIndex.from_frame(index)
    return y


@pytest.mark.parametrize(
    ("kind", "match"),
    [
        ("gap", r"\(series 's1500'\) has a gap: timestamp 2020-01-05 is missing"),
        ("nan", r"NaN at s1500, 2020-01-07"),
        ("duplicated", r"\(series 's1500'\) has duplicated timestamps, first 2020-01-03"),
        ("unsorted", r"\(series 's1500'\) is not sorted \(2020-01-03 comes after 2020-01-04\)"),
        ("weekly", r"different frequencies \('s0': D, 's1500': W-SUN\)"),
    ],
)
def test_check_series_names_the_bad_series_among_many(kind, match):
    """One bad series among 2,000 is named, with its first offending timestamp."""
    with pytest.raises(DataError, match=match) as info:
        check_series(_broken(kind))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("freq", "starts"),
    [
        ("MS", ["2020-01-01", "2021-07-01", "2019-02-01"]),
        ("ME", ["2020-01-31", "2021-02-28", "2019-04-30"]),
        ("QS-JAN", ["2020-01-01", "2020-04-01", "2019-10-01"]),
        ("QE-DEC", ["2020-03-31", "2020-06-30", "2019-12-31"]),
        ("YS-JAN", ["2000-01-01", "2010-01-01", "1990-01-01"]),
        ("W-SUN", ["2020-01-05", "2020-03-01", "2021-06-06"]),
        ("B", ["2020-01-03", "2020-01-06", "2020-02-07"]),
        ("h", ["2020-01-01 03:00", "2020-03-29 00:00", "2021-01-01 23:00"]),
    ],
)
def test_check_series_calendar_frequencies_of_many_series(freq, starts):
    """Series starting on different dates share a calendar frequency whose step in
    nanoseconds varies (months, quarters, years, business days); quarterly rules get one name
    whichever pandas infers them (QS-OCT in pandas 2 is QS-JAN)."""
    parts = [
        pd.Series(np.arange(8.0), index=pd.date_range(s, periods=8, freq=freq)) for s in starts
    ]
    y = pd.concat(dict(zip("abc", parts, strict=True)))
    out, _ = check_series(y)
    assert out.attrs["freq"] == freq


def test_check_series_other_anchor_is_another_frequency():
    """Weekly on Sundays and weekly on Mondays are two frequencies, as pandas infers them."""
    sunday = pd.Series(np.arange(6.0), index=pd.date_range("2020-01-05", periods=6, freq="W"))
    monday = pd.Series(np.arange(6.0), index=sunday.index + pd.Timedelta(days=1))
    with pytest.raises(DataError, match=r"different frequencies \('a': W-SUN, 'b': W-MON\)"):
        check_series(pd.concat({"a": sunday, "b": monday}))


def test_check_series_business_days_within_one_week_are_daily():
    """As pandas infers it: three business days without a weekend are daily, not 'B'."""
    weeks = pd.Series(np.arange(8.0), index=pd.date_range("2020-01-03", periods=8, freq="B"))
    days = pd.Series(np.arange(3.0), index=pd.date_range("2020-01-06", periods=3, freq="B"))
    with pytest.raises(DataError, match=r"different frequencies \('a': B, 'b': D\)"):
        check_series(pd.concat({"a": weeks, "b": days}))


def test_check_series_many_integer_indexed_series():
    """Integer time steps: a common step, and a gap named by its missing step."""
    parts = {k: pd.Series(np.arange(5.0), index=np.arange(k, k + 10, 2)) for k in range(300)}
    y = pd.concat(parts)
    out, _ = check_series(y)
    assert out.attrs["freq"] == 2 and len(out) == 1500
    with pytest.raises(DataError, match=r"series 7\) has a gap: integer step 11 is missing"):
        check_series(y.drop((7, 11)))


@pytest.mark.parametrize("freq", ["D", "MS", "W-SUN"])
def test_many_good_series_infer_the_frequency_once(monkeypatch, freq):
    """The frequency is inferred from the first series only; the others are checked against
    it in vectorised passes (pd.infer_freq is not called once per series)."""
    import tsrnn._data.stamps as stamps_module

    calls = []
    infer = stamps_module._infer_freq
    monkeypatch.setattr(stamps_module, "_infer_freq", lambda index: calls.append(1) or infer(index))
    out, _ = check_series(_long([12] * 1500, freq=freq, interleave=True))
    assert out.attrs["freq"] == freq and len(calls) == 1


def test_check_series_mixed_type_ids():
    """Ids 1, '1' and 2.5 are three series, kept in first-seen order with their types."""
    y = pd.concat({1: _long([5]).droplevel(0), "1": _long([6]).droplevel(0)})
    y = pd.concat([y, pd.concat({2.5: _long([4]).droplevel(0)})])
    out, _ = check_series(y)
    groups = group_rows(out.index.get_level_values(0))
    assert groups.keys.tolist() == [1, "1", 2.5] and groups.lengths.tolist() == [5, 6, 4]


def test_check_series_long_day_steps_follow_pandas_per_series():
    """365-day steps are 'YS-JAN' on January firsts and '365D' on other days, as pd.infer_freq
    has it for each series alone: the frequency of one series is not assumed for another."""
    jan_2 = pd.Series(
        np.arange(3.0), index=pd.to_datetime(["2021-01-02", "2022-01-02", "2023-01-02"])
    )
    jan_1 = pd.Series(
        np.arange(3.0), index=pd.to_datetime(["2021-01-01", "2022-01-01", "2023-01-01"])
    )
    with pytest.raises(DataError, match=r"different frequencies \('a': 365D, 'b': YS-JAN\)"):
        check_series(pd.concat({"a": jan_2, "b": jan_1}))


def test_short_series_among_many_take_the_common_frequency():
    """A series of one or two stamps is checked against the others' frequency, not refused:
    the forecaster pads short series and decides what is too short to forecast."""
    y = _broken("too-short")
    out, _ = check_series(y)
    assert out.attrs["freq"] == "D"
    assert (out.index.get_level_values(0) == "s1500").sum() == 2
    full = _long([10] * 2000)
    rows = np.flatnonzero(full.index.get_level_values(0) == "s1500")
    apart = full.drop(full.index[[rows[1], *rows[3:]]])  # two stamps, two days apart
    with pytest.raises(DataError, match=r"series 's1500'"):
        check_series(apart)
