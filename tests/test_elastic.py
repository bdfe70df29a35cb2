"""Training that outlives a worker: a data-parallel fit resumes from a checkpoint.

The loop's part without a cluster (a collective that fails, the checkpoint it leaves, a fit
resumed from it); then `dask scheduler` + `dask worker` processes started here, killed by
their PIDs during training: every worker process (their nannies restart them: the checkpoint
rank 0 published), a worker's whole process group, nanny included (the survivor's state, one
rank carrying on; in memory and through the CLI), every worker's (one error), and the only
worker of networks side by side.
"""

from __future__ import annotations

import copy
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from tsrnn import RNNForecaster, RNNRegressor
from tsrnn._forecast.jobs import PanelJob
from tsrnn._train.checkpoint import Checkpoint, PeerLost, sampling_seed
from tsrnn.errors import ClusterWarning

pytestmark = pytest.mark.timeout(300)

TSRNN = str(Path(sys.executable).with_name("tsrnn"))
FAST = {"hidden_size": 8, "random_state": 0, "device": "cpu"}
RESUMED = re.compile(r"left the cluster during data-parallel training: training resumed from "
                     r"(step|epoch) (\d+) on (\d) worker")  # fmt: skip


# ---------------------------------------------------------------- the loop, in this process


class Breaks:
    """A Sync of one rank whose collective fails at step ``at`` (a lost peer), keeping the
    checkpoint offered after step ``keep_at``."""

    world = 1

    def __init__(self, at: int | None, keep_at: int | None = None) -> None:
        self.at, self.keep_at, self.calls, self.kept = at, keep_at, 0, []

    def gradients(self, modules, losses):
        self.calls += 1
        if self.calls == self.at:
            raise PeerLost("Connection closed by peer")
        return [v.item() for v in losses]

    def mean(self, value):
        return value

    def agree(self, flag):
        return flag

    def keep(self, state):
        if self.calls == self.keep_at:
            self.kept.append(state())


def _panel_job(steps: int = 30) -> PanelJob:
    rng = np.random.default_rng(0)
    index = pd.MultiIndex.from_product(
        [[f"s{k}" for k in range(6)], pd.date_range("2020-01", periods=40, freq="MS")]
    )
    y = pd.Series(rng.normal(size=len(index)).cumsum() + 50, index=index)
    jobs = []
    from tsrnn._train.executor import using

    class Keep:
        def fit(self, given):
            jobs.extend(given)
            return [job.fit(quiet=True) for job in given]

    with using(Keep()):
        RNNForecaster(horizon=3, steps=steps, hidden_size=6, n_models=1, interval=None,
                      random_state=0, device="cpu").fit(y)  # fmt: skip
    return jobs[0]


def _weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.module_.state_dict().items()}


def test_a_failed_collective_leaves_the_state_of_the_last_completed_step():
    """The checkpoint a broken rank hands back is that of the step before the one that broke,
    and a fit resumed from it runs the remaining steps only, reproducibly."""
    job = _panel_job(steps=30)
    with pytest.raises(PeerLost) as caught:
        job.fit(sync=Breaks(at=12), quiet=True)
    checkpoint = caught.value.checkpoint
    assert (checkpoint.step, checkpoint.unit) == (11, "step")
    whole = Breaks(at=None, keep_at=11)  # the same fit, not interrupted
    job.fit(sync=whole, quiet=True)
    restored = []
    for saved in (checkpoint, whole.kept[0]):
        model = RNNRegressor(**job.params)
        model._start_steps(n_steps=job.n_steps, n_channels=job.n_channels, n_outputs=job.out)
        saved.restore([model.module_], [model.optimizer_], [model.history_])
        restored.append(_weights(model))
    for key, value in restored[0].items():
        assert torch.equal(value, restored[1][key]), key
    # resumed twice from the same checkpoint: the same events, the same weights
    first = job.fit(sync=Breaks(at=None), quiet=True, resume=checkpoint)
    again = job.fit(sync=Breaks(at=None), quiet=True, resume=checkpoint)
    assert first.n_iter_ == 30 and [r["step"] for r in first.history_] == [30]
    for key, value in _weights(first).items():
        assert torch.equal(value, _weights(again)[key]), key
        assert not torch.equal(value, restored[0][key]), key  # it trained on


def test_the_regressor_resumes_at_the_start_of_the_epoch_that_broke():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(48, 6, 1)).astype(np.float32)
    y = X[:, -2:, 0].sum(axis=1)
    model = RNNRegressor(hidden_size=4, epochs=6, batch_size=16, random_state=0)
    model._check_params()
    X_t, y_t = model._validate_fit_data(X, y, reset=True)
    model._initialize(n_channels=1, n_outputs=1)
    from tsrnn.estimator import WindowsJob

    job = WindowsJob(model, (X_t, y_t, None), epochs=6, batch=16)
    with pytest.raises(PeerLost) as caught:  # a copy each, as each rank unpickles its own
        copy.deepcopy(job).fit(sync=Breaks(at=8), quiet=True)  # 3 batches an epoch
    assert (caught.value.checkpoint.step, caught.value.checkpoint.unit) == (2, "epoch")
    resumed = copy.deepcopy(job).fit(sync=Breaks(None), quiet=True, resume=caught.value.checkpoint)
    assert resumed.n_iter_ == 6 and [r["epoch"] for r in resumed.history_] == list(range(1, 7))


def test_a_checkpoint_travels_as_a_message_and_sampling_seeds_by_step():
    job = _panel_job(steps=10)
    sync = Breaks(at=None, keep_at=7)
    job.fit(sync=sync, quiet=True)
    [kept] = sync.kept
    again = Checkpoint.from_message(kept.to_message())
    assert (again.step, again.data) == (7, kept.data)
    assert sampling_seed(5) == 5 and sampling_seed(5, 7) != sampling_seed(6, 7)


# ---------------------------------------------------------------- real processes


def long_frame(n_series: int, seed: int = 0) -> pd.DataFrame:
    """Weekly series of 30 to 80 points, in long format."""
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(n_series):
        n = int(rng.integers(30, 80))
        t = np.arange(n)
        values = 30 + k % 17 + 3 * np.sin(t / 3 + k) + 0.1 * t + rng.normal(0, 0.5, n)
        stamps = pd.date_range("2022-01-03", periods=n, freq="W-MON")
        parts.append(pd.DataFrame({"item": f"i{k:04d}", "week": stamps, "sales": values}))
    return pd.concat(parts, ignore_index=True)


def by_date(frame: pd.DataFrame, folder: Path, files: int = 3) -> Path:
    """The frame as files of dates: every long series spans them (a shuffle makes buckets)."""
    folder.mkdir(parents=True, exist_ok=True)
    stamps = frame["week"].astype("int64")
    edges = np.quantile(stamps, np.linspace(0, 1, files + 1))
    part = np.clip(np.searchsorted(edges, stamps, "right") - 1, 0, files - 1)
    for i in range(files):
        frame[part == i].to_parquet(folder / f"date-{i}.parquet", index=False)
    return folder


@pytest.fixture
def lake(tmp_path) -> Path:
    return by_date(long_frame(240), tmp_path / "lake")


class Killer(threading.Thread):
    """SIGKILL the worker executing a task whose key ``matches``, ``delay`` seconds after it
    started: its process alone (``whole=False``: its nanny restarts it), or its whole process
    group, nanny included (:meth:`DaskProcesses.kill_group`); ``every``: every worker;
    ``published``: only once rank 0 has published a checkpoint."""

    def __init__(self, cluster, client, matches, *, delay: float, whole: bool,
                 every: bool = False, published: bool = False) -> None:  # fmt: skip
        super().__init__(daemon=True)
        self.cluster, self.client, self.matches = cluster, client, matches
        self.delay, self.whole, self.every, self.published = delay, whole, every, published
        self.pids = client.run(os.getpid)
        info = client.scheduler_info(n_workers=-1)["workers"]
        self.names = {address: str(w["name"]) for address, w in info.items()}
        self.killed: list[str] = []

    def run(self) -> None:
        def executing(dask_worker) -> list[str]:  # nested: sent by value (tests/ is no package)
            return [str(t.key) for t in dask_worker.state.tasks.values() if t.state == "executing"]

        def checkpoints(dask_scheduler) -> list[str]:
            names = dask_scheduler.extensions["variables"].variables
            return [n for n in names if str(n).endswith("-checkpoint")]

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for worker, keys in self.client.run(executing).items():
                if worker in self.pids and any(self.matches(k) for k in keys):
                    while self.published and not self.client.run_on_scheduler(checkpoints):
                        time.sleep(0.05)  # until rank 0 has published one
                    time.sleep(self.delay)
                    self.killed = list(self.pids) if self.every else [worker]
                    for target in self.killed:
                        if self.whole:
                            self.cluster.kill_group(int(self.names[target].lstrip("w")))
                        else:
                            os.kill(self.pids[target], signal.SIGKILL)
                    return
            time.sleep(0.05)


def _connect(cluster, n_workers: int = 2):
    from distributed import Client

    from tsrnn._dask.worker import warm_worker

    client = Client(cluster.address, timeout="30s")
    client.wait_for_workers(n_workers, timeout=60)
    client.run(warm_worker)  # torch imported: a rank's task starts training at once
    return client


def _rank1(key: str) -> bool:
    return "rank1" in key


def _resumed(caught) -> list[tuple[str, int, int]]:
    found = [RESUMED.search(str(w.message)) for w in caught if w.category is ClusterWarning]
    return [(m[1], int(m[2]), int(m[3])) for m in found if m]


def test_a_dataset_fit_resumes_when_every_worker_is_killed_and_restarted(dask_processes, lake):
    """Both worker processes SIGKILLed mid-training, once rank 0 has published a checkpoint;
    their nannies restart them. No rank survives to hand back its state: the two new ranks
    resume from the checkpoint on the scheduler, on buckets Dask rebuilt from their files,
    and run the same total; the forecasts of every series come out once and finite."""
    from tsrnn._dask.rank import EVERY
    from tsrnn.parallel import fit_dataset, forecast_dataset, read_dataset

    cluster = dask_processes(2)
    with _connect(cluster) as client:
        data = read_dataset(lake, id_col="item", client=client, n_buckets=4)
        killer = Killer(cluster, client, _rank1, delay=0.2, whole=False, every=True,
                        published=True)  # fmt: skip
        killer.start()
        model = RNNForecaster(horizon=3, n_models=1, interval=None, steps=1000, **FAST)
        with pytest.warns(ClusterWarning, match=r"Workers .* and .* left the cluster") as caught:
            fit_dataset(model, data, timeout=20)
        killer.join(timeout=5)
        assert len(killer.killed) == 2
        [(unit, step, workers)] = _resumed(caught)
        assert unit == "step" and 0 < step < 1000 and step % EVERY == 0 and workers == 2
        [network] = model.models_
        assert network.n_iter_ == 1000 and network.history_[-1]["step"] == 1000
        out = forecast_dataset(model, data).compute()
    assert len(out) == 3 * 240 and not out.duplicated(["item", "week"]).any()
    assert np.isfinite(out["forecast"]).all()


def test_buckets_slower_to_rebuild_than_the_rendezvous_timeout_are_waited_for(
    dask_processes, tmp_path
):
    """A lost worker's buckets are rebuilt from their lineage before the new group forms: at
    a million series that reading and shuffling takes minutes, longer than the rendezvous'
    ``timeout``, and the group timed out waiting for the rank whose buckets were not there
    ("could not join the training group within 60 s"). Here each partition sleeps 8 s when
    it is computed again, with a timeout of 4 s: the fit resumes and completes."""
    import dask.dataframe as dd

    from tsrnn.parallel import fit_dataset, read_dataset

    frame = long_frame(120)
    items = sorted(frame["item"].unique())
    parts = [frame[frame["item"].isin(items[i::4])].reset_index(drop=True) for i in range(4)]
    marks = tmp_path / "computed"
    marks.mkdir()

    def part(i: int) -> pd.DataFrame:  # nested: sent by value (tests/ is no package)
        mark = marks / str(i)
        if mark.exists():  # rebuilt after a lost worker: slower than the timeout
            time.sleep(8)
        mark.touch()
        return parts[i]

    cluster = dask_processes(2)
    with _connect(cluster) as client:
        lazy = dd.from_map(part, range(4), meta=parts[0].iloc[:0], enforce_metadata=False)
        data = read_dataset(lazy, id_col="item", client=client, whole_series=True)
        assert data.n_series == 120
        killer = Killer(cluster, client, _rank1, delay=0.5, whole=False, published=True)
        killer.start()
        model = RNNForecaster(horizon=3, n_models=1, interval=None, steps=1000, **FAST)
        with pytest.warns(ClusterWarning) as caught:
            fit_dataset(model, data, timeout=4)
        killer.join(timeout=5)
        assert len(killer.killed) == 1
        [(unit, step, workers)] = _resumed(caught)
        assert unit == "step" and 0 < step < 1000 and workers == 2
        assert model.models_[0].n_iter_ == 1000


def test_an_in_memory_fit_carries_on_with_fewer_ranks(dask_processes):
    """train_on_dask, one regressor over two ranks; rank 1's worker killed whole (nanny
    included): rank 0 carries on alone with every row, from the epoch both ranks began."""
    from tsrnn.parallel import train_on_dask

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2048, 8, 1)).astype(np.float32)
    y = X[:, -3:, 0].sum(axis=1)
    cluster = dask_processes(2)
    with _connect(cluster) as client:
        killer = Killer(cluster, client, _rank1, delay=1.0, whole=True)
        killer.start()
        with (
            pytest.warns(ClusterWarning, match=r"rank 1 of 2\) left the cluster") as caught,
            train_on_dask(client, timeout=20),
        ):
            model = RNNRegressor(hidden_size=16, epochs=40, batch_size=64, random_state=0)
            model.fit(X, y)
        killer.join(timeout=5)
    assert killer.killed
    [(unit, epoch, workers)] = _resumed(caught)
    assert unit == "epoch" and 0 < epoch < 40 and workers == 1
    assert model.n_iter_ == 40 and [r["epoch"] for r in model.history_] == list(range(1, 41))
    pred = model.predict(X[:256])
    assert np.isfinite(pred).all() and np.mean((pred - y[:256]) ** 2) < 0.1 * np.var(y)


def _cli(*args: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.Popen([TSRNN, *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def _forecast(cluster, steps: int) -> tuple[str, ...]:
    return ("forecast", "lake", "--id-col", "item", "-H", "3", "--scheduler", cluster.address,
            "--output", "out/", "--steps", str(steps), "--hidden-size", "8", "--n-models", "1",
            "--no-interval", "--random-state", "0")  # fmt: skip


def test_the_cli_says_in_one_line_that_training_resumed(dask_processes, lake):
    """A worker's whole process group (nanny included) SIGKILLed mid-training: no worker
    comes back, the other carries on alone from the step the group reached (the dead one's
    buckets rebuilt from their files), and the command says so in one line; the forecast
    is complete and has no duplicate."""
    cluster = dask_processes(2)
    with _connect(cluster) as client:
        command = _cli(*_forecast(cluster, steps=1200), cwd=lake.parent)
        killer = Killer(cluster, client, _rank1, delay=1.0, whole=True)
        killer.start()
        _, stderr = command.communicate(timeout=240)
        killer.join(timeout=5)
    assert killer.killed and command.returncode == 0, stderr
    [line] = [x for x in stderr.splitlines() if "resumed" in x]
    found = RESUMED.search(line)
    assert line.startswith("Warning: Worker ") and found, stderr
    assert found[1] == "step" and 0 < int(found[2]) < 1200 and found[3] == "1"
    out = pd.read_parquet(lake.parent / "out")
    assert len(out) == 3 * 240 and not out.duplicated(["item", "week"]).any()
    assert np.isfinite(out["forecast"]).all()


def test_every_worker_lost_is_one_line_exit_2_and_nothing_written(dask_processes, lake):
    cluster = dask_processes(2)
    with _connect(cluster) as client:
        command = _cli(*_forecast(cluster, steps=3000), cwd=lake.parent)
        killer = Killer(cluster, client, _rank1, delay=1.0, whole=True, every=True)
        killer.start()
        _, stderr = command.communicate(timeout=240)
        killer.join(timeout=5)
    assert len(killer.killed) == 2 and command.returncode == 2, stderr
    assert "Traceback" not in stderr and "resumed" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("Error: Every worker training a network left the cluster"), stderr
    assert "none came back: the fit was stopped" in last
    assert not (lake.parent / "out").exists()
    assert not [p for p in lake.parent.iterdir() if p.name.startswith(".out")]


def test_side_by_side_with_every_worker_gone_is_one_error(dask_processes):
    """Networks side by side are tasks Dask runs again on another worker; with none left
    (the only worker killed whole) the fit ends with one ClusterError after ``timeout``."""
    from tsrnn.errors import ClusterError
    from tsrnn.parallel import train_on_dask

    y = long_frame(20, seed=4).set_index(["item", "week"])["sales"]
    cluster = dask_processes(1)
    with _connect(cluster, n_workers=1) as client:
        killer = Killer(cluster, client, lambda k: "tsrnn-net" in k, delay=0.5, whole=True)
        killer.start()
        started = time.monotonic()
        with (
            pytest.raises(ClusterError, match=r"Every worker of the cluster .* left"),
            train_on_dask(client, timeout=5),
        ):
            RNNForecaster(horizon=3, n_models=2, steps=3000, **FAST).fit(y)
        killer.join(timeout=5)
    assert killer.killed and time.monotonic() - started < 60
