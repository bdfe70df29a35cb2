"""The cluster data path on `dask scheduler` and `dask worker` processes started by the tests.

As a user runs it: the scheduler and each worker (a nanny and its worker process) are
processes of their own, started with the commands a user types (tests/conftest.py
``DaskProcesses``), and the faults are real: a worker process is SIGKILLed by its PID while a
stage runs on it, and its nanny starts a new one. Small data: 600 weekly series over four
files partitioned by date, so every series spans files and the reading shuffles.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest
from conftest import DaskProcesses, WorkerKiller
from distributed import Client
from test_dataset import SMALL, TSRNN, by_date, in_memory, long_frame

from tsrnn import RNNForecaster
from tsrnn.parallel import fit_dataset, forecast_dataset, read_dataset, write_dataset

pytestmark = pytest.mark.timeout(300)

N_SERIES = 600


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """``dask scheduler`` + two ``dask worker --nthreads 1 --preload tsrnn.cluster``."""
    processes = DaskProcesses(tmp_path_factory.mktemp("dask"), n_workers=2)
    try:
        with Client(processes.address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        yield processes
    finally:
        processes.close()


@pytest.fixture
def client(cluster):
    with Client(cluster.address, timeout=60) as client:
        client.wait_for_workers(2, timeout=60)
        yield client


@pytest.fixture(scope="module")
def frame():
    return long_frame(N_SERIES, seed=5)


@pytest.fixture(scope="module")
def lake(frame, tmp_path_factory):
    return by_date(frame, tmp_path_factory.mktemp("lake") / "sales")


def test_the_user_story_equals_the_single_process_forecast_series_by_series(
    client, frame, lake, tmp_path
):
    """Read, fit and forecast where the data live; every series' forecast is the one the same
    networks give in one process from its history (``predict(y=...)``)."""
    data = read_dataset(lake, id_col="item", client=client, n_buckets=6)
    assert data.shuffled and data.n_series == N_SERIES
    model = fit_dataset(RNNForecaster(horizon=4, n_models=2, **SMALL), data)
    write_dataset(forecast_dataset(model, data, level=[80]), str(tmp_path / "out"))
    out = pd.read_parquet(tmp_path / "out").set_index(["item", "week"]).sort_index()
    assert len(out) == 4 * N_SERIES and not out.index.duplicated().any()
    here = model.predict(y=in_memory(frame), level=[80]).sort_index()
    assert list(out.index) == list(here.index)
    for column in ("forecast", "lower", "upper", "lo-80", "hi-80"):
        np.testing.assert_allclose(out[column], here[column], rtol=1e-6, err_msg=column)


def test_a_worker_killed_during_the_shuffle_loses_no_series(client, lake):
    """The shuffle that puts whole series into buckets survives a worker SIGKILLed while it
    runs: Dask rebuilds what the worker held, and every series is read once."""
    killer = WorkerKiller(client, lambda key: "shuffle" in key or "p2p" in key, within=60)
    killer.start()
    data = read_dataset(lake, id_col="item", client=client, n_buckets=6, whole_series=False)
    killer.join(timeout=60)
    assert killer.pid is not None  # a worker really died during the reading
    assert data.n_series == N_SERIES
    model = fit_dataset(RNNForecaster(horizon=2, n_models=1, interval=None, **SMALL), data)
    out = forecast_dataset(model, data).compute()
    assert len(out) == 2 * N_SERIES and not out.duplicated(["item", "week"]).any()


def test_a_worker_killed_during_prediction_leaves_a_complete_output(client, lake, tmp_path):
    """The forecast's partitions are recomputed from their lineage (the buckets' too): the
    output is complete, duplicate-free, and marked complete."""
    data = read_dataset(lake, id_col="item", client=client, n_buckets=6)
    model = fit_dataset(RNNForecaster(horizon=3, n_models=1, interval=None, **SMALL), data)
    killer = WorkerKiller(client, lambda key: "forecast_bucket" in key, within=60)
    killer.start()
    write_dataset(forecast_dataset(model, data), str(tmp_path / "out"))
    killer.join(timeout=60)
    assert killer.pid is not None
    out = pd.read_parquet(tmp_path / "out")
    assert len(out) == 3 * N_SERIES and not out.duplicated(["item", "week"]).any()
    assert (tmp_path / "out" / "_SUCCESS").exists()


@pytest.mark.timeout(400)
def test_the_cli_forecasts_a_dataset_on_a_scheduler_address(cluster, lake, tmp_path):
    """`tsrnn forecast DATASET --scheduler ADDR --output DIR --plot PNG`: the installed
    command, on the scheduler the user started; one row per series and step, written whole,
    and a PNG of the first 3 series and the 3 hardest (the rows the workers send:
    tests/test_dataset.py); an id of no series in --plot-ids stops it before any training,
    writing nothing."""
    from matplotlib.image import imread

    out, png = tmp_path / "forecast", tmp_path / "forecast.png"
    common = [
        *(TSRNN, "forecast", str(lake), "--id-col", "item", "--horizon", "3"),
        *("--scheduler", cluster.address),
        *("--steps", "30", "--hidden-size", "8", "--n-models", "1", "--random-state", "0"),
    ]
    command = [*common, "--output", str(out), "--plot", str(png)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=380)
    assert result.returncode == 0, result.stderr
    written = pd.read_parquet(out)
    assert len(written) == 3 * N_SERIES and not written.duplicated(["item", "week"]).any()
    assert (out / "_SUCCESS").exists() and "Traceback" not in result.stderr
    assert f"{png} (plot of i00000, i00001, i00002 and the hardest i" in result.stderr
    assert imread(png).shape == (1620, 900, 4)
    other, none = tmp_path / "other", tmp_path / "none.png"
    bad = [*common, "--output", str(other), "--plot", str(none), "--plot-ids", "i00001,x"]
    refused = subprocess.run(bad, capture_output=True, text=True, timeout=380)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    line = refused.stderr.strip().splitlines()[-1]
    assert line.startswith("Error: ") and "no series 'x' in" in line
    assert "its id column 'item' (its first ids: i00000,i00001,i00002)" in line
    assert not other.exists() and not none.exists()
