"""make_windows and SlidingWindowTransformer."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from tsrnn import RNNRegressor, SlidingWindowTransformer, make_windows
from tsrnn.errors import DataError, ParameterError


def test_windows_match_a_plain_loop_and_are_views():
    """Every window equals the slice a loop would cut, and no window is copied."""
    series = np.arange(50.0)
    X, y = make_windows(series, lookback=7, horizon=3, stride=2)
    starts = range(0, 50 - 10 + 1, 2)
    np.testing.assert_array_equal(X, [series[s : s + 7] for s in starts])
    np.testing.assert_array_equal(y, [series[s + 7 : s + 10] for s in starts])
    assert np.shares_memory(X, series) and np.shares_memory(y, series)
    assert X.base is not None and not X.flags.writeable


def test_one_step_target_is_one_dimensional():
    """horizon=1 with one target gives y of shape (n_windows,)."""
    X, y = make_windows(np.arange(10.0), lookback=3)
    assert X.shape == (7, 3) and y.shape == (7,)
    np.testing.assert_array_equal(y, np.arange(3.0, 10.0))


def test_exogenous_columns_are_inputs_only():
    """With targets=[0], the other columns appear in X but not in y."""
    values = np.column_stack([np.arange(20.0), 100 + np.arange(20.0), 200 + np.arange(20.0)])
    X, y = make_windows(values, lookback=4, horizon=2, targets=[0])
    assert X.shape == (15, 4, 3) and y.shape == (15, 2)
    np.testing.assert_array_equal(X[0], values[:4])
    np.testing.assert_array_equal(y[0], values[4:6, 0])
    assert np.shares_memory(X, values) and np.shares_memory(y, values)
    X, y = make_windows(values, lookback=4, horizon=2, targets=[0, 2])
    assert y.shape == (15, 2, 2)
    np.testing.assert_array_equal(y[1], values[5:7, [0, 2]])


def test_views_add_almost_no_memory():
    """A million-point series with lookback 256: the windows reference the series' buffer."""
    series = np.zeros(1_000_000)
    X, _ = make_windows(series, lookback=256)
    assert X.shape == (1_000_000 - 256, 256)
    assert np.shares_memory(X, series)
    assert X.strides == (8, 8)


def test_too_short_series_says_how_long_it_must_be():
    """The error names the length needed."""
    with pytest.raises(DataError, match=r"has 5 time steps.*at least 7"):
        make_windows(np.arange(5.0), lookback=4, horizon=3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lookback": 0}, "lookback must be a positive integer"),
        ({"lookback": 3, "horizon": 1.5}, "horizon must be a positive integer"),
        ({"lookback": 3, "targets": [5]}, "targets must name columns"),
    ],
)
def test_bad_arguments(kwargs, match):
    """Bad window arguments are ParameterErrors with the rule in the message."""
    with pytest.raises(ParameterError, match=match):
        make_windows(np.ones((20, 2)), **kwargs)


def test_transformer_keeps_rows_aligned_in_a_pipeline():
    """One output row per input row, so y stays aligned; the pipeline fits and predicts."""
    t = np.arange(300.0)
    table = np.column_stack([np.sin(t / 5), np.cos(t / 7)])
    target = np.roll(table[:, 0], -1)[:-1]  # next value of column 0
    windows = SlidingWindowTransformer(lookback=6).fit_transform(table[:-1])
    assert windows.shape == (299, 6, 2)
    np.testing.assert_array_equal(windows[10], table[5:11])
    np.testing.assert_array_equal(windows[0], np.repeat(table[:1], 6, axis=0))
    pipe = make_pipeline(
        SlidingWindowTransformer(lookback=6),
        RNNRegressor(hidden_size=8, epochs=20, learning_rate=1e-2, random_state=0, n_threads=1),
    )
    pipe.fit(table[:-1], target)
    assert pipe.score(table[:-1], target) > 0.8
