"""The MLflow flavor against a real tracking store (SQLite, artifacts in a temporary folder):
log, load, pyfunc, a fresh process, ``mlflow models serve``, and bad URIs and altered files."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

mlflow = pytest.importorskip("mlflow", reason="MLflow is not installed: pip install -e '.[mlflow]'")

import tsrnn  # noqa: E402
import tsrnn.mlflow as flavor  # noqa: E402
from tsrnn import RNNForecaster  # noqa: E402
from tsrnn.datasets import load  # noqa: E402
from tsrnn.errors import DataError, ModelFileError, ModelStoreError, ParameterError  # noqa: E402
from tsrnn.io import flat_forecast  # noqa: E402

SMALL = {"steps": 20, "hidden_size": 8, "n_models": 1, "random_state": 0}
DAYS = pd.date_range("2020-01-01", periods=60, freq="D")
AHEAD = pd.date_range("2020-03-01", periods=4, freq="D")
STORES = ("a", "b", "c")


def panel(seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(len(DAYS))
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "store": store,
                    "day": DAYS,
                    "sales": 10 + 5 * k + np.sin(t / 3) + rng.normal(0, 0.1, len(t)),
                    "price": rng.normal(1, 0.1, len(t)),
                }
            )
            for k, store in enumerate(STORES)
        ],
        ignore_index=True,
    )


def future() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "store": np.repeat(STORES, len(AHEAD)),
            "day": np.tile(AHEAD, len(STORES)),
            "price": np.linspace(0.9, 1.1, len(STORES) * len(AHEAD)),
        }
    )


def by_series(frame, columns):
    return frame.set_index(["store", "day"])[columns]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A SQLite tracking store and an experiment whose artifacts live in a temporary folder
    (MLflow's defaults would write mlflow.db and mlruns/ into the working directory)."""
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        patch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        mlflow.set_tracking_uri(uri)
        experiment = mlflow.create_experiment("tsrnn", artifact_location=(folder / "a").as_uri())
        mlflow.set_experiment(experiment_id=experiment)
        yield {"uri": uri, "folder": folder, "env": {**os.environ}}
        mlflow.set_tracking_uri(None)


@pytest.fixture(scope="module")
def stores():
    data = panel()
    model = RNNForecaster(horizon=4, **SMALL)
    return model.fit(by_series(data, "sales"), by_series(data, ["price"]))


@pytest.fixture(scope="module")
def logged(store, stores):
    with mlflow.start_run():
        return flavor.log_model(stores, "forecaster", registered_model_name="stores")


def test_the_artifact_is_the_model_file_no_pickle_no_code(logged, tmp_path):
    folder = Path(mlflow.artifacts.download_artifacts(logged.model_uri, dst_path=str(tmp_path)))
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["MLmodel", "conda.yaml", "model.tsrnn", "python_env.yaml", "requirements.txt"]
    for path in folder.iterdir():  # no pickle (0x80 0x0N), no zip (torch.save) anywhere
        head = path.read_bytes()[:4]
        assert head[:1] != b"\x80" and head != b"PK\x03\x04", path.name
    flavors = mlflow.models.Model.load(str(folder / "MLmodel")).flavors
    assert flavors["python_function"]["loader_module"] == "tsrnn.mlflow"
    assert flavors["python_function"]["data"] == "model.tsrnn"
    assert "code" not in flavors["python_function"] or not flavors["python_function"]["code"]
    assert flavors["tsrnn"]["model_file"] == "model.tsrnn"
    assert flavors["tsrnn"]["tsrnn_version"] == tsrnn.__version__
    assert f"tsrnn=={tsrnn.__version__}" in (folder / "requirements.txt").read_text().split()


def test_load_model_gives_the_forecaster_back(logged, stores):
    loaded = flavor.load_model(logged.model_uri)
    assert type(loaded) is RNNForecaster and loaded.get_params() == stores.get_params()
    X_future = by_series(future(), ["price"])
    pd.testing.assert_frame_equal(
        loaded.predict(X_future=X_future), stores.predict(X_future=X_future)
    )
    # The registry's name and version reach the same model.
    registered = flavor.load_model("models:/stores/1")
    pd.testing.assert_frame_equal(
        registered.predict(X_future=X_future), stores.predict(X_future=X_future)
    )


def test_the_pyfunc_model_forecasts_a_long_frame(logged, stores):
    model = mlflow.pyfunc.load_model(logged.model_uri)
    data = panel(seed=1)
    frame = pd.concat([data, future()], ignore_index=True)
    expected = stores.predict(
        X_future=by_series(future(), ["price"]),
        y=by_series(data, "sales"),
        X=by_series(data, ["price"]),
        level=[80],
        quantiles=[0.1, 0.9],
    )
    # MLflow's schema enforcement turns the stamps into datetime64[ns]: the values are equal.
    got = model.predict(frame, params={"level": [80], "quantiles": [0.1, 0.9]})
    pd.testing.assert_frame_equal(got, flat_forecast(expected), check_dtype=False)
    nixtla = frame.rename(columns={"store": "unique_id", "day": "ds", "sales": "y"})
    got = model.predict(nixtla, params={"level": [80], "quantiles": [0.1, 0.9]})
    pd.testing.assert_frame_equal(got, flat_forecast(expected), check_dtype=False)
    # The future rows alone: the series the model keeps.
    kept = model.predict(future(), params={"horizon": 2})
    expected = stores.predict(2, X_future=by_series(future(), ["price"]).groupby(level=0).head(2))
    pd.testing.assert_frame_equal(kept, flat_forecast(expected), check_dtype=False)
    assert type(model.get_raw_model()) is RNNForecaster


def test_the_signature_names_both_layouts_and_the_params(logged):
    signature = mlflow.models.get_model_info(logged.model_uri).signature
    inputs = {spec.name: spec for spec in signature.inputs.inputs}
    assert list(inputs) == ["store", "unique_id", "day", "ds", "sales", "y", "price"]
    assert not any(spec.required for spec in inputs.values())
    assert inputs["day"].type.name == "datetime" and inputs["price"].type.name == "double"
    params = {p.name: p.default for p in signature.params.params}
    assert params == {"horizon": 4, "level": [], "quantiles": []}


def test_an_empty_frame_forecasts_the_kept_series_and_bad_input_is_one_line(store, tmp_path):
    air = RNNForecaster(horizon=6, **SMALL).fit(load("airpassengers"))
    path = flavor.save_model(air, tmp_path / "air")
    model = mlflow.pyfunc.load_model(str(path))
    expected = flat_forecast(air.predict())
    pd.testing.assert_frame_equal(model.predict(pd.DataFrame()), expected)
    with pytest.raises(ParameterError, match=r"^level must hold percentages in \(0, 100\)"):
        model.predict(pd.DataFrame(), params={"level": [150.0]})
    history = load("airpassengers").rename("y").rename_axis("ds").reset_index()
    with pytest.raises(DataError) as caught:
        model.predict(history.iloc[[0, 1, 1]])
    assert str(caught.value) == (
        "the input frame has the timestamp 1949-02-01 twice (rows 2 and 3): keep one row per "
        "timestamp."
    )
    # The same error is MLflow's too, so a scoring server answers with its message.
    assert isinstance(caught.value, mlflow.exceptions.MlflowException)


def test_a_model_logged_by_one_process_loads_in_a_fresh_one(logged, store, stores, tmp_path):
    code = (
        "import sys, mlflow, pandas as pd\n"
        "frame = pd.read_json(sys.argv[2], orient='split', convert_dates=['day'])\n"
        "model = mlflow.pyfunc.load_model(sys.argv[1])\n"
        "model.predict(frame, params={'level': [95]}).to_json(sys.argv[3], orient='split',\n"
        "                                                      date_format='iso')\n"
        "print('tsrnn.mlflow' in sys.modules, 'tsrnn.persist' in sys.modules)\n"
    )
    (tmp_path / "future.json").write_text(future().to_json(orient="split", date_format="iso"))
    out = subprocess.run(
        [sys.executable, "-c", code, logged.model_uri, tmp_path / "future.json",
         tmp_path / "f.json"],
        capture_output=True, text=True, env=store["env"], cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["True", "True"]
    got = pd.read_json(tmp_path / "f.json", orient="split")
    expected = flat_forecast(stores.predict(X_future=by_series(future(), ["price"]), level=[95]))
    np.testing.assert_allclose(
        got[expected.columns[2:]].to_numpy(), expected.iloc[:, 2:].to_numpy()
    )
    assert got["store"].tolist() == expected["store"].tolist()
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlruns").exists()


def test_tsrnn_predict_reads_a_registered_model_and_an_unreachable_store_is_one_line(
    logged, store, stores, tmp_path
):
    """The installed command forecasts from ``models:/NAME/VERSION`` (the tracking store of
    MLFLOW_TRACKING_URI) as the library does; with a store nothing answers at, one line, exit
    2, no output file."""
    tsrnn_command = str(Path(sys.executable).with_name("tsrnn"))
    future().to_csv(tmp_path / "future.csv", index=False)
    out = subprocess.run(
        [tsrnn_command, "predict", "--model", "models:/stores/1", "--future", "future.csv",
         "--level", "95", "--output", "forecast.csv", "--quiet"],
        capture_output=True, text=True, env=store["env"], cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    got = pd.read_csv(tmp_path / "forecast.csv")
    expected = flat_forecast(stores.predict(X_future=by_series(future(), ["price"]), level=[95]))
    assert got["store"].tolist() == expected["store"].tolist()
    np.testing.assert_allclose(
        got[expected.columns[2:]].to_numpy(), expected.iloc[:, 2:].to_numpy(), rtol=1e-9
    )
    dead = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    env = {**store["env"], "MLFLOW_TRACKING_URI": dead, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
           "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}  # fmt: skip
    out = subprocess.run(
        [tsrnn_command, "predict", "--model", "models:/stores/1", "--future", "future.csv",
         "--output", "nowhere.csv"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2
    [line] = [x for x in out.stderr.splitlines() if not x.startswith("event=")]
    assert line.startswith("Error: ") and f"Connection refused at {dead[7:]}" in line
    assert "Traceback" not in out.stderr and not (tmp_path / "nowhere.csv").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@contextlib.contextmanager
def _serving(model_uri: str, env: dict, folder: Path):
    """``mlflow models serve`` on a free localhost port, stopped (its process group) after."""
    port = _free_port()
    log = folder / "serve.log"
    command = [str(Path(sys.executable).parent / "mlflow"), "models", "serve", "-m", model_uri,
               "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1"]  # fmt: skip
    with log.open("wb") as out:
        server = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=folder,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as r,
            ):
                if r.status == 200:
                    break
            time.sleep(0.5)
        else:
            tail = log.read_text(errors="replace")[-1500:]
            pytest.skip(f"mlflow models serve did not start here (exit {server.poll()}): {tail}")
        yield f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, 15)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait(timeout=20)


@pytest.mark.timeout(240)
def test_mlflow_models_serve_answers_a_scoring_request(logged, store, stores, tmp_path):
    frame = future()
    frame["day"] = frame["day"].dt.strftime("%Y-%m-%d")  # as a client writes JSON
    with _serving(logged.model_uri, store["env"], tmp_path) as url:
        status, answer = _post(
            f"{url}/invocations",
            {"dataframe_split": frame.to_dict(orient="split") | {"index": None},
             "params": {"horizon": 3, "level": [80]}},
        )  # fmt: skip
        assert status == 200, answer
        got = pd.DataFrame(answer["predictions"])
        expected = stores.predict(
            3, X_future=by_series(future(), ["price"]).groupby(level=0).head(3), level=[80]
        )
        expected = flat_forecast(expected)
        assert got.columns.tolist() == expected.columns.tolist()
        assert got["store"].tolist() == expected["store"].tolist()
        assert pd.to_datetime(got["day"]).tolist() == expected["day"].tolist()
        np.testing.assert_allclose(got.iloc[:, 2:].to_numpy(), expected.iloc[:, 2:].to_numpy())
        # An empty frame: the series the model keeps need their future prices; one line says so.
        status, answer = _post(f"{url}/invocations", {"dataframe_records": []})
        assert status == 400
        assert "Series 'a' has 0 future row(s) for a horizon of 4" in answer["message"]


def test_an_altered_model_file_is_refused_in_one_line(store, stores, tmp_path):
    with mlflow.start_run():
        info = flavor.log_model(stores, "altered")
    stored = Path(mlflow.artifacts.download_artifacts(info.model_uri, dst_path=str(tmp_path)))
    # Alter the artifact where the store keeps it: one weight byte.
    artifacts = store["folder"] / "a"
    (kept,) = [p for p in artifacts.rglob("model.tsrnn") if info.model_id in str(p)]
    raw = bytearray(kept.read_bytes())
    raw[-3] ^= 0x01
    kept.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError) as caught:
        flavor.load_model(info.model_uri)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"The model file of {info.model_uri}")
    assert "corrupted (its checksum does not match its content)" in message
    with pytest.raises(ModelFileError, match="checksum does not match"):
        mlflow.pyfunc.load_model(info.model_uri)
    # The MLmodel file may not point the loader outside the model's folder.
    described = stored / "MLmodel"
    described.write_text(described.read_text().replace("model_file: model.tsrnn",
                                                       "model_file: ../../etc/passwd"))  # fmt: skip
    with pytest.raises(ModelFileError, match=r"names the model file '\.\./\.\./etc/passwd'"):
        flavor.load_model(stored)


def test_an_unreachable_uri_is_one_line(store, stores, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    dead = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    monkeypatch.setenv("MLFLOW_TRACKING_URI", dead)
    try:
        mlflow.set_tracking_uri(dead)
        started = time.monotonic()
        for call in (
            lambda: flavor.load_model("runs:/0123456789abcdef/forecaster"),
            lambda: flavor.load_model("models:/stores/1"),
            lambda: flavor.log_model(stores, "nowhere"),
        ):
            with pytest.raises(ModelStoreError) as caught:
                call()
            message = str(caught.value)
            assert "\n" not in message and f"Connection refused at {dead[7:]}" in message
        assert time.monotonic() - started < 30
    finally:
        mlflow.set_tracking_uri(store["uri"])
    with pytest.raises(ModelStoreError, match=r"No such artifact: 'no-such-folder'$"):
        flavor.load_model("no-such-folder")


def test_load_model_runs_no_code_from_the_folder(logged, stores, monkeypatch):
    """MLflow may refuse every pyfunc model (it names a module to import); tsrnn's loader
    imports none, and still loads."""
    monkeypatch.setenv("MLFLOW_ALLOW_MODEL_CODE_EXECUTION", "false")
    if hasattr(mlflow.environment_variables, "MLFLOW_ALLOW_MODEL_CODE_EXECUTION"):  # 3.18 on
        with pytest.raises(mlflow.exceptions.MlflowException, match="disallowed"):
            mlflow.pyfunc.load_model(logged.model_uri)
    loaded = flavor.load_model(logged.model_uri)
    X_future = by_series(future(), ["price"])
    pd.testing.assert_frame_equal(
        loaded.predict(X_future=X_future), stores.predict(X_future=X_future)
    )


def test_save_model_writes_a_whole_folder_or_nothing(stores, tmp_path, monkeypatch):
    path = flavor.save_model(stores, tmp_path / "model")
    with pytest.raises(ParameterError, match="already exists"):
        flavor.save_model(stores, path)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(flavor._flavor, "_write_environment", broken)
    with pytest.raises(OSError, match="disk full"):
        flavor.save_model(stores, tmp_path / "half")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no half, no .part
    with pytest.raises(ParameterError, match="saves a fitted RNNForecaster; got RNNRegressor"):
        flavor.save_model(stores.models_[0], tmp_path / "regressor")
    with pytest.raises(ParameterError, match="does not exist"):
        flavor.save_model(stores, tmp_path / "no" / "such" / "folder")


def test_an_input_example_is_stored_and_serves(stores, tmp_path):
    path = flavor.save_model(stores, tmp_path / "model", input_example=future())
    assert {"input_example.json", "serving_input_example.json"} <= {p.name for p in path.iterdir()}
    example = mlflow.models.Model.load(str(path)).load_input_example(str(path))
    answer = mlflow.pyfunc.load_model(str(path)).predict(example)
    expected = stores.predict(X_future=by_series(future(), ["price"]))
    np.testing.assert_allclose(answer["forecast"], expected["forecast"])


def test_import_tsrnn_does_not_import_mlflow():
    code = "import sys, tsrnn, tsrnn.mlflow; print('mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["False"], out.stderr
