"""RNNRegressor: the sklearn contract, training behaviour and its errors."""

import pickle

import numpy as np
import pytest
import sklearn.exceptions
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tsrnn import RNNRegressor, TsrnnError, make_windows
from tsrnn.errors import DataError, DeviceError, NotFittedError, ParameterError, TrainingError


def _small(**params) -> RNNRegressor:
    defaults = dict(hidden_size=8, epochs=3, batch_size=32, random_state=0, n_threads=1)
    return RNNRegressor(**{**defaults, **params})


@pytest.fixture(scope="module")
def sine_windows():
    t = np.arange(400, dtype=float)
    series = np.sin(t / 8) + 0.1 * np.cos(t / 3)
    return make_windows(series, lookback=16, horizon=1)


def test_keras_tutorial_model_runs_as_written():
    """The classic SimpleRNN example (50 units, 10 steps, rmsprop, mse, 10 epochs, batch 32)."""
    X = np.random.random((1000, 10, 1))  # noqa: NPY002 (the tutorial as written)
    y = np.random.random(1000)  # noqa: NPY002
    model = RNNRegressor(
        cell="rnn", hidden_size=50, optimizer="rmsprop", loss="mse", epochs=10, batch_size=32
    ).fit(X, y)
    assert model.n_iter_ == 10
    assert model.predict(X[:5]).shape == (5,)
    assert model.module_.rnn.hidden_size == 50


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_fit_learns_a_sine(sine_windows, cell):
    """Each cell learns a smooth periodic series far better than predicting the mean."""
    X, y = sine_windows
    model = _small(cell=cell, hidden_size=16, epochs=30, learning_rate=1e-2).fit(X, y)
    assert model.score(X, y) > 0.9


def test_same_random_state_gives_identical_predictions(sine_windows):
    """Same seed, same data, same CPU: the same predictions, bit for bit."""
    X, y = sine_windows
    a = _small(dropout=0.2, num_layers=2).fit(X, y).predict(X)
    b = _small(dropout=0.2, num_layers=2).fit(X, y).predict(X)
    c = _small(dropout=0.2, num_layers=2, random_state=1).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_fit_leaves_global_torch_state_alone(sine_windows):
    """Neither the thread count nor the global random stream changes behind the user's back."""
    X, y = sine_windows
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _small(n_threads=threads + 1).fit(X, y).predict(X)
    assert torch.get_num_threads() == threads
    np.testing.assert_array_equal(torch.rand(3), expected)


def test_clone_and_pickle_round_trip(sine_windows):
    """clone gives an unfitted twin; a pickled fitted model predicts the same."""
    X, y = sine_windows
    model = _small().fit(X, y)
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    assert not hasattr(twin, "module_")
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))


def test_pipeline_grid_search_with_time_series_split(sine_windows):
    """The issue's example: StandardScaler + RNNRegressor tuned by GridSearchCV."""
    X, y = sine_windows
    pipe = make_pipeline(StandardScaler(), _small(cell="lstm", epochs=2))
    grid = {"rnnregressor__hidden_size": [4, 8], "rnnregressor__learning_rate": [1e-3, 1e-2]}
    search = GridSearchCV(pipe, grid, cv=TimeSeriesSplit(3)).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_.predict(X[:3]).shape == (3,)


def test_three_d_input_and_several_outputs():
    """X with channels and y with several horizons: predictions keep y's shape."""
    rng = np.random.default_rng(0)
    values = rng.normal(size=(300, 3)).cumsum(axis=0)
    X, y = make_windows(values, lookback=10, horizon=4, targets=[0])
    model = _small().fit(X, y)
    assert model.n_channels_in_ == 3
    assert model.n_outputs_ == 4
    assert model.predict(X).shape == (len(X), 4)
    assert model.predict(X).dtype == np.float64
    with pytest.raises(DataError, match="channels"):
        model.predict(X[:, :, :2])


def test_partial_fit_continues_the_same_network(sine_windows):
    """partial_fit adds epochs to the same weights; the history keeps counting."""
    X, y = sine_windows
    model = _small(epochs=2).fit(X, y)
    module = model.module_
    before = model.predict(X)
    model.partial_fit(X, y, epochs=3)
    assert model.module_ is module
    assert model.n_iter_ == 5
    assert [h["epoch"] for h in model.history_] == [1, 2, 3, 4, 5]
    assert not np.array_equal(before, model.predict(X))
    model.partial_fit(X, y)
    assert model.n_iter_ == 7


def test_warm_start_keeps_weights_and_cold_fit_resets(sine_windows):
    """warm_start=True continues; the default starts a new network each fit."""
    X, y = sine_windows
    warm = _small(warm_start=True).fit(X, y)
    warm.fit(X, y)
    assert warm.n_iter_ == 6
    cold = _small().fit(X, y)
    cold.fit(X, y)
    assert cold.n_iter_ == 3


def test_early_stopping_restores_best_weights(sine_windows):
    """Training stops after `patience` epochs without improvement, at the best epoch's weights."""
    X, y = sine_windows
    model = _small(epochs=200, learning_rate=5e-2, validation_fraction=0.25, patience=3)
    model.fit(X, y)
    losses = [h["valid_loss"] for h in model.history_]
    assert model.n_iter_ < 200
    best = int(np.argmin(losses))
    assert model.n_iter_ - 1 - best == 3
    n_valid = round(len(X) * 0.25)
    valid_mse = np.mean((model.predict(X[-n_valid:]) - y[-n_valid:]) ** 2)
    assert valid_mse == pytest.approx(losses[best], rel=1e-4)


def test_diverging_training_names_the_epoch():
    """A NaN loss stops training with advice instead of returning garbage."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 5)), rng.normal(size=64) * 1e30
    model = _small(optimizer="sgd", learning_rate=1e10)
    with pytest.raises(TrainingError, match=r"epoch 1.*learning_rate.*clip_grad_norm"):
        model.fit(X, y)
    assert model.n_iter_ == 1 and not np.isfinite(model.history_[0]["train_loss"])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_is_refused(sine_windows, bad):
    """NaN or inf in X or y is a DataError that says how to fix it."""
    X, y = (np.array(a, copy=True) for a in sine_windows)
    X[3, 2] = bad
    with pytest.raises(DataError, match="fill or drop"):
        _small().fit(X, y)
    X, y = (np.array(a, copy=True) for a in sine_windows)
    y[5] = bad
    with pytest.raises(DataError, match=r"(NaN|infinity)"):
        _small().fit(X, y)


def test_errors_join_the_families_users_catch(sine_windows):
    """Not fitted is sklearn's NotFittedError, bad parameters are ValueErrors: all TsrnnError."""
    X, y = sine_windows
    with pytest.raises(sklearn.exceptions.NotFittedError) as info:
        RNNRegressor().predict(X)
    assert isinstance(info.value, NotFittedError | TsrnnError)
    with pytest.raises(ParameterError, match="'cell' parameter of RNNRegressor must be"):
        RNNRegressor(cell="lsmt").fit(X, y)
    with pytest.raises(ParameterError, match="validation_fraction"):
        RNNRegressor(patience=3).fit(X, y)
    with pytest.raises(ValueError, match="validation"):
        _small(validation_fraction=0.001).fit(X[:10], y[:10])


def test_cuda_request_without_gpu_is_a_clear_error(sine_windows):
    """device='cuda' on a machine without CUDA says how to fall back."""
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    X, y = sine_windows
    with pytest.raises(DeviceError, match="device='auto'"):
        _small(device="cuda").fit(X, y)


def test_hidden_states_shape(sine_windows):
    """hidden_states exposes the last layer's state at every step."""
    X, y = sine_windows
    model = _small(cell="gru", hidden_size=6).fit(X, y)
    states = model.hidden_states(X[:7])
    assert states.shape == (7, X.shape[1], 6)
    np.testing.assert_allclose(
        model.module_.head(torch.as_tensor(states[:, -1], dtype=torch.float32))
        .detach()
        .numpy()[:, 0],
        model.predict(X[:7]),
        rtol=1e-5,
    )
