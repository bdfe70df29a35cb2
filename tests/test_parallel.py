"""Training on a Dask cluster: networks side by side, one network data-parallel over ranks.

Real worker processes (a LocalCluster of nannies), a real gloo process group, a worker killed
by its PID (a data-parallel fit that loses one resumes: tests/test_elastic.py).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest
import torch

from tsrnn import RNNForecaster, RNNRegressor
from tsrnn._dask.connect import warn_malloc_trap
from tsrnn._dask.elastic import rank_task
from tsrnn._dask.worker import worker_facts
from tsrnn.cluster import local_cluster
from tsrnn.errors import ClusterError, ParameterError
from tsrnn.estimator import WindowsJob
from tsrnn.parallel import train_on_dask

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def client():
    """Two worker processes (one thread each), shared by the tests of this module."""
    with local_cluster(2) as c:
        yield c


@pytest.fixture(scope="module")
def windows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 8, 1)).astype(np.float32)
    return X, X[:, -3:, 0].sum(axis=1)


def _panel(n_series: int = 10) -> pd.Series:
    rng = np.random.default_rng(1)
    parts = []
    for k in range(n_series):
        n = 16 + 4 * k
        stamps = pd.date_range("2001-01", periods=n, freq="MS")
        values = 20 + k + 3 * np.sin(np.arange(n) * np.pi / 6) + rng.normal(0, 0.3, n)
        index = pd.MultiIndex.from_arrays([[f"s{k}"] * n, stamps], names=["id", "month"])
        parts.append(pd.Series(values, index=index, name="y"))
    return pd.concat(parts)


def _weights(model: RNNRegressor) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.module_.state_dict().items()}


def test_two_gloo_ranks_hold_the_same_weights_after_a_step(client, windows):
    """One step of two ranks on half a batch each = one step of one process on the whole batch."""
    X, y = windows
    params = dict(hidden_size=6, batch_size=64, epochs=1, learning_rate=0.05, random_state=3)
    alone = RNNRegressor(**params).fit(X, y)  # one batch of 64 rows: one optimizer step

    fresh = RNNRegressor(**params)
    fresh._check_params()
    X_t, y_t = fresh._validate_fit_data(X, y, reset=True)
    fresh._initialize(n_channels=1, n_outputs=1)
    job = WindowsJob(fresh, (X_t, y_t, None), epochs=1, batch=64)
    workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
    futures, group = [], f"tsrnn-test-group-{time.monotonic_ns()}"
    for rank in range(2):
        shard = job.shard(rank, 2)
        futures.append(
            client.submit(
                rank_task,
                shard,
                shard.data,
                rank,
                2,
                group,
                30.0,
                workers=[workers[rank]],
                allow_other_workers=False,
                pure=False,
            )
        )
    ranks = client.gather(futures)
    first, second = (_weights(m) for m in ranks)
    reference = _weights(alone)
    before = _weights(fresh)
    for key in reference:
        assert torch.equal(first[key], second[key]), key  # both ranks: the same weights
        torch.testing.assert_close(first[key], reference[key], rtol=1e-5, atol=1e-6)
    assert any(not torch.equal(before[k], first[k]) for k in before)  # the step happened
    assert ranks[0].history_[-1]["train_loss"] == pytest.approx(alone.history_[-1]["train_loss"])


def test_regressor_trains_data_parallel_and_is_an_ordinary_model(client, windows, tmp_path):
    X, y = windows
    with train_on_dask(client):  # one network, two workers: two ranks
        model = RNNRegressor(
            hidden_size=8, epochs=40, batch_size=16, learning_rate=1e-2, random_state=0
        )
        model.fit(X, y)
    assert model.n_iter_ == 40 and model.device_.type == "cpu"
    pred = model.predict(X)
    assert pred.shape == (64,) and np.all(np.isfinite(pred))
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(X), pred)
    from tsrnn import load, save

    np.testing.assert_array_equal(load(save(model, tmp_path / "m.tsrnn")).predict(X), pred)
    # It learnt: better than predicting the mean.
    assert np.mean((pred - y) ** 2) < np.var(y)


def test_early_stopping_is_decided_once_for_every_rank(client, windows):
    """Patience on rank 0's validation loss, broadcast: both ranks stop at the same epoch
    (a rank that went on alone would wait in its next all-reduce and time out)."""
    X, y = windows
    with train_on_dask(client, ranks=2, timeout=20):
        model = RNNRegressor(
            hidden_size=8, epochs=300, batch_size=16, learning_rate=0.05,
            validation_fraction=0.25, patience=2, random_state=0,
        ).fit(X, y)  # fmt: skip
    assert model.n_iter_ < 300  # it stopped early
    valid = [record["valid_loss"] for record in model.history_]
    assert all(v is not None for v in valid)
    assert int(np.argmin(valid)) == len(valid) - 3  # the best, then 2 epochs of patience


def test_forecaster_networks_side_by_side_equal_the_in_process_fit(client):
    y = _panel()
    params = dict(horizon=4, steps=40, hidden_size=8, random_state=5)
    here = RNNForecaster(**params).fit(y).predict()
    with train_on_dask(client):  # eight networks on two workers: one rank each
        model = RNNForecaster(**params).fit(y)
    pd.testing.assert_frame_equal(model.predict(), here)
    keys = [k for k in client.run_on_scheduler(_task_prefixes) if k.startswith("tsrnn-net")]
    assert keys, "the networks ran as Dask tasks"


def test_forecaster_trains_one_network_over_two_ranks(client):
    y = _panel()
    with train_on_dask(client, ranks=2):
        model = RNNForecaster(horizon=4, steps=40, hidden_size=8, n_models=1, random_state=2)
        model.fit(y)
    result = model.predict()
    assert len(result) == 10 * 4 and np.all(np.isfinite(result["forecast"]))
    assert len(model.models_) == 1 and model.models_[0].n_iter_ == 40
    restored = pickle.loads(pickle.dumps(model))
    pd.testing.assert_frame_equal(restored.predict(), result)


def test_two_data_parallel_fits_at_once_take_turns(client, windows):
    """Without gang scheduling their ranks could interleave and wait forever; the lock."""
    X, y = windows
    results, errors = {}, []

    def fit(name: str, seed: int) -> None:
        try:
            with train_on_dask(client, ranks=2, timeout=30):
                results[name] = RNNRegressor(
                    hidden_size=8, epochs=30, batch_size=8, random_state=seed
                ).fit(X, y)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=fit, args=(f"job{i}", i)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=200)
    assert not errors, errors
    assert sorted(results) == ["job0", "job1"]
    assert all(m.n_iter_ == 30 for m in results.values())


def test_bad_settings_fail_before_training(client, windows):
    X, y = windows
    with (
        pytest.raises(ParameterError, match="ranks=5 asks for more workers"),
        train_on_dask(client, ranks=5),
    ):
        RNNRegressor(epochs=1).fit(X, y)
    with pytest.raises(ParameterError, match="ranks must be a positive int"):
        train_on_dask(client, ranks=0).__enter__()
    with pytest.raises(ClusterError, match="Cannot reach the Dask scheduler"):
        train_on_dask("tcp://127.0.0.1:1").__enter__()


def test_estimators_outside_the_block_train_here(windows):
    X, y = windows
    model = RNNRegressor(epochs=1, hidden_size=4, random_state=0).fit(X, y)
    assert model.n_iter_ == 1  # no cluster involved: fit_jobs ran in this process


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_model_fitted_on_cuda_unpickles_on_the_cpu(windows):
    X, y = windows
    model = RNNRegressor(epochs=2, hidden_size=4, device="cuda", random_state=0).fit(X, y)
    state = model.__getstate__()
    assert all(t.device.type == "cpu" for t in state["module_"].values())
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(again.predict(X), model.predict(X), rtol=1e-5)


def _task_prefixes(dask_scheduler) -> list[str]:
    return [str(key) for key, *_ in dask_scheduler.transition_log]


def _imported() -> bool:
    import sys

    return "torch._dynamo" in sys.modules and "tsrnn.estimator" in sys.modules


def test_a_trainer_warms_fresh_workers_before_the_first_fit():
    """Starting to train imports torch's optimisers and tsrnn in every worker, unasked."""
    with local_cluster(1) as fresh:
        assert not any(fresh.run(_imported).values())  # a new worker has imported neither
        with train_on_dask(fresh):
            deadline = time.monotonic() + 60
            while not all(fresh.run(_imported).values()) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert all(fresh.run(_imported).values())


def _profiling() -> bool:
    import dask

    return bool(dask.config.get("distributed.worker.profile.enabled"))


def test_local_cluster_workers_run_without_the_statistical_profiler():
    """Also a worker its nanny restarts after this process' dask config was put back."""
    import dask

    assert dask.config.get("distributed.worker.profile.enabled")  # dask's default, here
    with local_cluster(1) as fresh:
        assert not any(fresh.run(_profiling).values())
        [(address, pid)] = fresh.run(os.getpid).items()
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            workers = fresh.scheduler_info(n_workers=-1)["workers"]
            if workers and address not in workers:
                break
            time.sleep(0.2)
        fresh.wait_for_workers(1, timeout=60)
        restarted = fresh.run(_profiling)
        assert list(restarted) != [address]  # a new worker process
        assert not any(restarted.values())


@pytest.mark.timeout(300)
def test_workers_started_with_the_preload_get_no_malloc_warning(dask_processes):
    """`dask worker --preload tsrnn.cluster` retunes malloc: the warning that recommends it
    stays silent (their nannies still set MALLOC_TRIM_THRESHOLD_)."""
    import warnings

    from distributed import Client

    from tsrnn._dask.connect import connect

    cluster = dask_processes(2, preload=True)
    with contextlib.ExitStack() as stack, warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        connection = connect(cluster.address, n_workers=None, stack=stack)
        connection.client.wait_for_workers(2, timeout=60)
        facts = connection.client.run(worker_facts)
        assert all(f["malloc_trim"] is not None and f["malloc_tuned"] for f in facts.values())
    plain = dask_processes(1, preload=False)
    with Client(plain.address, timeout="30s") as c, pytest.warns(RuntimeWarning, match="preload"):
        c.wait_for_workers(1, timeout=60)
        warn_malloc_trap(c.run(worker_facts))


@pytest.mark.timeout(400)
def test_a_worker_killed_whole_costs_only_its_networks(dask_processes):
    """Fault (a) of the data-path issue: `dask scheduler` + 2 `dask worker` processes, one
    worker's process group (nanny and worker) SIGKILLed during a forecaster's fit: the fit
    ends as the other worker trains what the dead one held, its data having lineage."""
    cluster = dask_processes(2, preload=True)
    y = _panel(30)
    params = dict(lookback=6, horizon=3, hidden_size=16, steps=400, random_state=0, device="cpu")
    with train_on_dask(cluster.address, timeout=30) as client:
        client.wait_for_workers(2, timeout=60)
        started = threading.Event()

        def kill_when_training() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if any(
                    "tsrnn-net" in str(k) for keys in client.processing().values() for k in keys
                ):
                    time.sleep(1.0)
                    cluster.kill_group(0)
                    started.set()
                    return
                time.sleep(0.05)

        killer = threading.Thread(target=kill_when_training, daemon=True)
        killer.start()
        model = RNNForecaster(**params).fit(y)
        killer.join(timeout=10)
    assert started.is_set()  # the kill happened during the fit
    assert len(model.models_) == 4 and np.isfinite(model.predict().to_numpy()).all()


@pytest.mark.timeout(300)
def test_the_preload_stops_the_workers_statistical_profiler(dask_processes):
    from distributed import Client

    def profiling(dask_worker) -> bool:
        return "profile" in dask_worker.periodic_callbacks

    with_preload, without = dask_processes(1, preload=True), dask_processes(1, preload=False)
    for cluster, expected in ((with_preload, False), (without, True)):
        with Client(cluster.address, timeout="30s") as c:
            c.wait_for_workers(1, timeout=60)
            assert list(c.run(profiling).values()) == [expected]
