"""Model files: round trips, and refusal of anything that is not a sound tsrnn file."""

import json
import pickle
import struct

import numpy as np
import pytest
import torch

import tsrnn.persist
from tsrnn import RNNRegressor, make_windows
from tsrnn.datasets import load as load_dataset
from tsrnn.errors import ModelFileError, NotFittedError, ParameterError
from tsrnn.forecaster import RNNForecaster
from tsrnn.persist import FORMAT_VERSION, load, save

SMALL = {"hidden_size": 4, "epochs": 2, "random_state": 0, "n_threads": 1}


@pytest.fixture(scope="module")
def windows():
    return make_windows(np.sin(np.arange(120) / 5), lookback=8, horizon=2)


@pytest.fixture(scope="module")
def regressor(windows):
    return RNNRegressor(cell="gru", device="cpu", **SMALL).fit(*windows)


@pytest.fixture(scope="module")
def forecaster():
    # Two networks: one reads its windows' scale, one does not.
    model = RNNForecaster(horizon=6, lookback=12, n_models=2, **SMALL)
    return model.fit(load_dataset("airpassengers"))


@pytest.fixture
def model_file(tmp_path, regressor):
    return save(regressor, tmp_path / "model.tsrnn")


def test_regressor_round_trip(regressor, windows, model_file):
    """Same predictions, parameters and fitted attributes after load."""
    loaded = load(model_file)
    X, _ = windows
    np.testing.assert_array_equal(loaded.predict(X), regressor.predict(X))
    assert loaded.get_params() == regressor.get_params()
    for name in ("n_features_in_", "n_channels_in_", "n_outputs_", "n_iter_", "seed_"):
        assert getattr(loaded, name) == getattr(regressor, name)
    assert loaded.history_ == regressor.history_


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_regressor_continues_training_like_the_original(tmp_path, windows, optimizer):
    """The optimizer state is saved: partial_fit after load matches partial_fit before save."""
    model = RNNRegressor(optimizer=optimizer, device="cpu", **SMALL).fit(*windows)
    loaded = load(save(model, tmp_path / "m.tsrnn"))
    model.partial_fit(*windows, epochs=1)
    loaded.partial_fit(*windows, epochs=1)
    np.testing.assert_allclose(loaded.predict(windows[0]), model.predict(windows[0]), atol=1e-6)


def test_forecaster_round_trip(tmp_path, forecaster):
    """A loaded forecaster predicts exactly what the original predicts."""
    loaded = load(save(forecaster, tmp_path / "f.tsrnn"))
    assert type(loaded) is RNNForecaster
    assert loaded.get_params() == forecaster.get_params()
    widths = [m.n_channels_in_ for m in loaded.models_]
    assert widths == [m.n_channels_in_ for m in forecaster.models_] and len(set(widths)) == 2
    expected = forecaster.predict(horizon=8)
    got = loaded.predict(horizon=8)
    assert got.index.equals(expected.index)
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())


def test_file_is_safetensors_with_json_metadata(model_file):
    """Versions and parameters are readable from the header without tsrnn."""
    raw = model_file.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    meta = json.loads(raw[8 : 8 + n])["__metadata__"]
    assert meta["format"] == "tsrnn" and int(meta["format_version"]) == FORMAT_VERSION
    document = json.loads(meta["tsrnn"])
    assert document["torch_version"] == torch.__version__
    assert document["regressors"]["self"]["params"]["cell"] == "gru"


def test_load_on_cpu_when_saved_device_is_missing(tmp_path, windows, monkeypatch):
    """A model whose device is 'cuda' loads on the CPU of a machine without CUDA."""
    model = RNNRegressor(device="cpu", **SMALL).fit(*windows)
    model.device = "cuda"  # as if trained on a GPU: the tensors are saved from the CPU anyway
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = load(save(model, tmp_path / "gpu.tsrnn"))
    assert loaded.device == "cuda" and loaded.device_ == torch.device("cpu")
    assert next(loaded.module_.parameters()).device.type == "cpu"
    assert loaded.predict(windows[0]).shape == (len(windows[0]), 2)


def test_load_never_unpickles(model_file, monkeypatch):
    """Loading does not call pickle or torch.load."""

    def forbidden(*args, **kwargs):
        raise AssertionError("unpickling attempted")

    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    assert load(model_file).n_iter_ == 2


def test_refuses_pickle_file(tmp_path, regressor):
    """A real pickle renamed .tsrnn is refused, and nothing is unpickled."""
    path = tmp_path / "evil.tsrnn"
    path.write_bytes(pickle.dumps(regressor))
    with pytest.raises(ModelFileError, match="pickle"):
        load(path)


def test_refuses_torch_save_file(tmp_path, regressor):
    path = tmp_path / "torch.tsrnn"
    torch.save(regressor.module_.state_dict(), path)
    with pytest.raises(ModelFileError, match=r"torch\.save"):
        load(path)


def test_refuses_newer_format(tmp_path, model_file, monkeypatch):
    monkeypatch.setattr(tsrnn.persist, "FORMAT_VERSION", FORMAT_VERSION + 1)
    newer = save(load(model_file), tmp_path / "newer.tsrnn")
    monkeypatch.setattr(tsrnn.persist, "FORMAT_VERSION", FORMAT_VERSION)
    with pytest.raises(ModelFileError, match=f"format {FORMAT_VERSION + 1}.*upgrade tsrnn"):
        load(newer)


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],
        lambda raw: raw[:-10],
        lambda raw: raw[:-1] + bytes([raw[-1] ^ 0xFF]),
        lambda raw: raw.replace(b'\\"gru\\"', b'\\"rnn\\"'),
    ],
    ids=["half", "tail-cut", "flipped-weight", "edited-params"],
)
def test_refuses_corrupted_file(model_file, damage):
    raw = model_file.read_bytes()
    damaged = damage(raw)
    assert damaged != raw
    model_file.write_bytes(damaged)
    with pytest.raises(ModelFileError, match="corrupted"):
        load(model_file)


@pytest.mark.parametrize(
    ("content", "match"),
    [(b"", "not a tsrnn model"), (b"date,value\n2020-01-01,1\n", "not a tsrnn model")],
)
def test_refuses_other_files(tmp_path, content, match):
    path = tmp_path / "other.tsrnn"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=match):
        load(path)


def test_refuses_foreign_safetensors(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "foreign.tsrnn"
    save_file({"w": torch.zeros(2)}, path)
    with pytest.raises(ModelFileError, match="not a tsrnn model"):
        load(path)


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        load(tmp_path / "nope.tsrnn")


def test_save_refuses_unfitted_and_foreign_models(tmp_path):
    with pytest.raises(NotFittedError):
        save(RNNRegressor(), tmp_path / "m.tsrnn")
    with pytest.raises(ParameterError, match="RNNRegressor and RNNForecaster"):
        save(object(), tmp_path / "m.tsrnn")
    assert not list(tmp_path.iterdir())


def test_save_refuses_random_state_instance(tmp_path, windows):
    model = RNNRegressor(random_state=np.random.RandomState(0), hidden_size=4, epochs=1)
    model.fit(*windows)
    with pytest.raises(ParameterError, match="random_state"):
        save(model, tmp_path / "m.tsrnn")
    assert not list(tmp_path.iterdir())


def test_save_refuses_unfitted_forecaster(tmp_path):
    with pytest.raises(NotFittedError):
        save(RNNForecaster(), tmp_path / "f.tsrnn")
    assert not list(tmp_path.iterdir())
