"""SearchCV on real Dask scheduler and worker processes: strategies, journal, faults, placement."""

import json
import os
import time
from functools import partial

import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn.base import clone
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from tsrnn import RNNRegressor, SearchCV, make_windows
from tsrnn.cluster import gpu_worker_commands, local_cluster
from tsrnn.errors import ParameterError, SearchError, TrainingError
from tsrnn.search._plans import HalvingPlan, hyperband_brackets
from tsrnn.search._runner import default_resources

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning:distributed.*")


def _small(**params) -> RNNRegressor:
    defaults = dict(hidden_size=4, epochs=2, batch_size=32, random_state=0)
    return RNNRegressor(**{**defaults, **params})


@pytest.fixture(scope="module")
def data():
    t = np.arange(160, dtype=float)
    return make_windows(np.sin(t / 6) + 0.05 * np.cos(t / 2), lookback=6)


@pytest.fixture(scope="module")
def client():
    """Two worker processes (one thread each), shared by the tests of this module."""
    with local_cluster(2) as c:
        yield c


def _search(client, **params) -> SearchCV:
    defaults = dict(cv=TimeSeriesSplit(2), client=client, verbose=0, random_state=0)
    estimator = params.pop("estimator", _small())
    grid = params.pop("parameters", {"learning_rate": [1e-3, 1e-2]})
    return SearchCV(estimator, grid, **{**defaults, **params})


def test_grid_scores_every_candidate_with_sklearn_names(client, data):
    """A grid search fills cv_results_ as sklearn does and refits the best candidate."""
    X, y = data
    search = _search(client, parameters={"hidden_size": [4, 8], "learning_rate": [1e-3, 1e-2]})
    search.fit(X, y)
    res = search.cv_results_
    assert len(res["params"]) == 4
    for key in ("mean_test_score", "std_test_score", "rank_test_score", "split0_test_score",
                "split1_test_score", "mean_fit_time", "param_hidden_size"):  # fmt: skip
        assert len(res[key]) == 4, key
    assert np.all(np.isfinite(res["mean_test_score"]))
    assert res["rank_test_score"][search.best_index_] == 1
    assert search.best_score_ == res["mean_test_score"].max()
    assert search.best_params_ == res["params"][search.best_index_]
    assert search.best_estimator_.get_params()["hidden_size"] == search.best_params_["hidden_size"]
    assert search.predict(X[:3]).shape == (3,)
    assert len(search.fits_) == 8
    worker_pids = set(client.run(os.getpid).values())
    assert {f["pid"] for f in search.fits_} <= worker_pids
    assert {f["torch_threads"] for f in search.fits_} == {1}
    assert search.dashboard_link_.startswith("http")
    copy = clone(search)  # the client is shared, the rest copied
    assert copy.client is client and copy.estimator is not search.estimator


def test_random_search_draws_n_iter_candidates(client, data):
    """strategy='random' draws n_iter candidates from distributions."""
    X, y = data
    search = _search(
        client,
        parameters={"learning_rate": loguniform(1e-4, 1e-1), "hidden_size": [4, 6]},
        strategy="random",
        n_iter=3,
    )
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 3
    assert all(1e-4 <= p["learning_rate"] <= 1e-1 for p in search.cv_results_["params"])


def test_halving_trains_survivors_longer_and_picks_from_the_full_budget(client, data):
    """Hyperband brackets: rungs of 1 and 3 epochs; the best row has the full budget."""
    X, y = data
    grid = {"learning_rate": [1e-3, 3e-3, 1e-2, 3e-2], "hidden_size": [4, 6]}
    search = _search(client, parameters=grid, strategy="halving", max_epochs=3, factor=3)
    search.fit(X, y)
    res = search.cv_results_
    assert set(res["n_resources"]) == {1, 3}
    assert res["n_resources"][search.best_index_] == 3
    assert len(search.fits_) < 8 * 2 * 2  # fewer fits than a grid at both budgets
    assert search.best_estimator_.n_iter_ == 3
    # a model promoted to 3 epochs continued its 1-epoch model (steps 1 then 2)
    promoted = [f for f in search.fits_ if f["n_epochs"] == 3]
    assert promoted and all(f["error"] is None for f in promoted)


def test_halving_searches_a_pipeline_ending_in_the_regressor(client, data):
    """A Pipeline is trained step-wise: its head fitted once, the regressor by partial_fit."""
    X, y = data
    pipe = make_pipeline(FunctionTransformer(lambda a: a * 2.0), _small())
    search = _search(
        client,
        estimator=pipe,
        parameters={"rnnregressor__learning_rate": [1e-3, 1e-2, 3e-2]},
        strategy="halving",
        max_epochs=2,
        factor=2,
    )
    search.fit(X, y)
    assert search.best_estimator_[-1].n_iter_ == 2
    assert search.predict(X[:2]).shape == (2,)


def test_journal_resumes_and_skips_finished_fits(client, data, tmp_path, capsys):
    """Each fit is journalled; a rerun runs only what is missing, or nothing at all."""
    X, y = data
    journal = tmp_path / "search.jsonl"
    first = _search(client, journal=journal).fit(X, y)
    lines = journal.read_text().splitlines()
    assert len(lines) == 4 and all("key" in json.loads(line) for line in lines)
    journal.write_text("\n".join(lines[:2]) + "\n" + lines[2][:10])  # lost 2, one cut short
    with pytest.warns(UserWarning, match="Dropped 1 unreadable"):
        second = _search(client, journal=journal).fit(X, y)
    assert sum(f.get("journal", False) for f in second.fits_) == 2
    assert second.cv_results_["params"] == first.cv_results_["params"]
    # everything is journalled now: no scheduler is contacted (this address has none)
    third = _search("tcp://127.0.0.1:9", journal=journal, verbose=1).fit(X, y)
    bar = capsys.readouterr().err
    assert "4/4" in bar and "best" in bar  # the progress bar, on stderr
    assert all(f["journal"] for f in third.fits_)
    assert third.dashboard_link_ is None
    np.testing.assert_allclose(
        third.cv_results_["mean_test_score"], second.cv_results_["mean_test_score"]
    )


def test_journal_of_other_data_is_not_reused(client, data, tmp_path):
    """Entries keyed to other data (another search) never count as done."""
    X, y = data
    journal = tmp_path / "search.jsonl"
    _search(client, journal=journal).fit(X, y)
    other = _search(client, journal=journal).fit(X * 2, y * 2)
    assert not any(f.get("journal", False) for f in other.fits_)


def _times_scheduled(dask_scheduler, prefix: str) -> dict:
    """How often each task whose key starts with ``prefix`` went to a worker (scheduler side)."""
    counts: dict = {}
    for key, _start, finish, *_ in dask_scheduler.transition_log:
        if isinstance(key, str) and key.startswith(prefix) and finish == "processing":
            counts[key] = counts.get(key, 0) + 1
    return counts


def test_search_survives_a_killed_worker_process(client, data, worker_killer):
    """SIGKILL of a busy worker mid-search: its fit runs again and every candidate is scored."""
    X, y = data
    search = _search(
        client,
        estimator=_small(epochs=12, hidden_size=8),
        parameters={"learning_rate": [1e-3, 3e-3, 1e-2], "hidden_size": [4, 8]},
    )
    killer = worker_killer(client, lambda key: key.startswith("tsrnn-fit"))
    search.fit(X, y)
    killer.join()
    assert killer.pid is not None
    prefix = search.fits_[0]["task"].split("-c0-")[0]  # this search's keys
    scheduled = client.run_on_scheduler(_times_scheduled, prefix=prefix)
    # the fit that was running went to a worker again: rescheduled by Dask (same key), or
    # resubmitted by the search (data lost with the worker: a new key)
    assert max(scheduled.values()) >= 2 or search.n_resubmitted_ >= 1, scheduled
    assert len(search.fits_) == 12
    assert all(f["error"] is None for f in search.fits_)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    client.wait_for_workers(2, timeout=60)  # the nanny restarted it, for the next tests


def test_diverging_candidate_is_recorded_and_the_search_goes_on(client, data):
    """A NaN loss scores error_score with a warning naming the candidate; never retried."""
    X, y = data
    grid = {"learning_rate": [1e-2, 1e12], "optimizer": ["sgd"]}
    with pytest.warns(FitFailedWarning, match=r"Candidate 1 .*1000000000000\.0.*TrainingError"):
        search = _search(client, parameters=grid).fit(X, y)
    assert np.isnan(search.cv_results_["mean_test_score"][1])
    assert np.isfinite(search.cv_results_["mean_test_score"][0])
    assert search.cv_results_["rank_test_score"].tolist() == [1, 2]
    assert search.best_params_["learning_rate"] == 1e-2
    assert len(search.fits_) == 4  # each failing fit ran once


def _failing_scorer(estimator, X, y):
    if estimator.learning_rate > 5e-3:
        raise ValueError("this scorer always fails for large learning rates")
    return -float(np.mean((estimator.predict(X) - y) ** 2))


def test_deterministic_scoring_error_is_recorded_once_not_retried(client, data):
    """An exception in the scorer is a result: recorded once with error_score=-1."""
    X, y = data
    with pytest.warns(FitFailedWarning, match="always fails"):
        search = _search(client, scoring=_failing_scorer, error_score=-1.0).fit(X, y)
    assert search.cv_results_["mean_test_score"][1] == -1.0
    assert [f["error"] is not None for f in search.fits_] == [False, False, True, True]


def test_error_score_raise_stops_with_the_fit_exception(client, data):
    """error_score='raise' re-raises the fit's own exception."""
    X, y = data
    grid = {"learning_rate": [1e12], "optimizer": ["sgd"]}
    with pytest.raises(TrainingError, match="diverged"):
        _search(client, parameters=grid, error_score="raise").fit(X, y)


def test_every_fit_failing_raises_search_error(client, data):
    """When no candidate could be scored there is no best: SearchError."""
    X, y = data
    grid = {"learning_rate": [1e12], "optimizer": ["sgd"]}
    with pytest.raises(SearchError, match="All 2 fits"):
        _search(client, parameters=grid).fit(X, y)


def test_unsatisfiable_resources_fail_fast_with_advice(client, data):
    """Asking for a resource no worker declares fails before any fit waits forever."""
    X, y = data  # without the check, these fits would wait in Dask's no-worker state forever
    with pytest.raises(SearchError, match=r"--resources GPU=1"):
        _search(client, resources={"GPU": 1}).fit(X, y)
    with pytest.raises(SearchError, match=r"dask worker .* --resources TPU=2"):
        _search(client, resources={"TPU": 2}).fit(X, y)
    with pytest.raises(SearchError, match="declares the resources"):
        _search(client, estimator=_small(device="cuda")).fit(X, y)


def test_gpu_fits_land_only_on_workers_declaring_a_gpu(data):
    """Fake GPU: one CPU worker and one declaring GPU=1; CUDA-bound fits go to the latter."""
    X, y = data
    with local_cluster(1, gpus=[0]) as client:
        info = client.scheduler_info(n_workers=-1)["workers"]
        gpu = {a for a, w in info.items() if w["resources"].get("GPU")}
        assert len(info) == 2 and len(gpu) == 1
        grid = {"learning_rate": [1e-3, 3e-3, 1e-2]}
        explicit = _search(client, parameters=grid, resources={"GPU": 1}).fit(X, y)
        assert {f["worker"] for f in explicit.fits_} == gpu
        # device="auto" on a cluster whose workers declare a GPU: {"GPU": 1} by default
        auto = _search(client, parameters=grid, estimator=_small(device="auto")).fit(X, y)
        assert {f["worker"] for f in auto.fits_} == gpu
        # device="cpu": no request, both workers train
        cpu = _search(client, parameters=grid, estimator=_small(device="cpu")).fit(X, y)
        assert len(cpu.fits_) == 6
        # the CPU worker of a mixed cluster sees no GPU
        assert set(client.run(lambda: os.environ["CUDA_VISIBLE_DEVICES"]).values()) == {"", "0"}


def test_default_resources_follow_the_device():
    """resources='auto' asks for a GPU exactly when fits would train on CUDA."""
    cpu, auto, cuda = _small(device="cpu"), _small(device="auto"), _small(device="cuda")
    kw = dict(gpu_declared=False, cuda_on_workers=False)
    assert default_resources(cpu, [{}], **kw) == {}
    assert default_resources(auto, [{}], **kw) == {}
    assert default_resources(cuda, [{}], **kw) == {"GPU": 1}
    assert default_resources(cpu, [{"device": "cuda:1"}], **kw) == {"GPU": 1}
    assert default_resources(auto, [{}], gpu_declared=True, cuda_on_workers=False) == {"GPU": 1}
    assert default_resources(auto, [{}], gpu_declared=False, cuda_on_workers=True) == {"GPU": 1}
    pipe = make_pipeline(FunctionTransformer(), _small(device="cuda"))
    assert default_resources(pipe, [{}], **kw) == {"GPU": 1}


def test_no_client_starts_and_closes_a_local_cluster(data):
    """client=None: a LocalCluster for the search, closed after; the environment is left clean."""
    X, y = data
    before = {k: os.environ.get(k) for k in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")}
    search = SearchCV(_small(), {"learning_rate": [1e-2]}, cv=TimeSeriesSplit(2), n_workers=1,
                      verbose=0).fit(X, y)  # fmt: skip
    assert len(search.fits_) == 2
    assert {k: os.environ.get(k) for k in before} == before
    pid = search.fits_[0]["pid"]
    deadline = time.monotonic() + 60  # a wait, not a timing check: the process must end
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie waiting to be reaped counts as ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_local_cluster_workers_run_without_the_malloc_trap(client):
    """Workers tsrnn starts do not inherit MALLOC_TRIM_THRESHOLD_; one thread each."""
    env = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
    assert set(env.values()) == {None}
    info = client.scheduler_info(n_workers=-1)["workers"]
    assert {w["nthreads"] for w in info.values()} == {1}


def test_searchcv_is_a_sklearn_estimator():
    """get_params / clone work on SearchCV itself; bad settings raise ParameterError."""
    search = SearchCV(_small(), {"learning_rate": [1e-3]}, strategy="halving", n_workers=2)
    params = search.get_params()
    assert params["strategy"] == "halving" and params["estimator__hidden_size"] == 4
    assert clone(search).get_params()["n_workers"] == 2
    with pytest.raises(ParameterError, match="strategy"):
        SearchCV(_small(), {"learning_rate": [1e-3]}, strategy="bayes").fit([[0.0]], [0.0])
    with pytest.raises(ParameterError, match="partial_fit or an epochs parameter"):
        SearchCV(FunctionTransformer(), {"validate": [True]}, strategy="halving").fit(
            [[0.0]], [0.0]
        )


def test_hyperband_brackets_share_candidates_and_budgets():
    """Brackets start later and later; every candidate is in exactly one bracket."""
    brackets = hyperband_brackets(12, 1, 20, 3, None, random_state=0)
    assert [b.budgets for b in brackets] == [[2, 7, 20], [7, 20], [20]]
    assert [b.keep for b in brackets] == [[6, 2, 1], [4, 1], [2]]
    assert sorted(c for b in brackets for c in b.candidates) == list(range(12))
    assert brackets[0].steps(2) == (2, 5, 13)
    plain = hyperband_brackets(12, 1, 20, 3, 1)
    assert len(plain) == 1 and plain[0].keep == [12, 4, 1]
    assert HalvingPlan(plain, 3).total == (12 + 4 + 1) * 3


def test_gpu_worker_commands_pin_one_device_each():
    """The documented command for GPU workers: one device, GPU=1, one thread, malloc fix."""
    command = gpu_worker_commands("tcp://h:8786", gpus=[1])[0]
    assert command.startswith("CUDA_VISIBLE_DEVICES=1 dask worker tcp://h:8786")
    assert "--resources GPU=1" in command and "--preload tsrnn.cluster" in command


def test_importing_tsrnn_does_not_import_dask():
    """The CLI starts fast: dask is loaded only when SearchCV is used."""
    import subprocess
    import sys

    code = "import sys, tsrnn; print('distributed' in sys.modules or 'dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_forecaster_search_scores_backtest_origins(client):
    """RNNForecaster is searched on rolling origins; its score is minus the backtest MAE."""
    from tsrnn import RNNForecaster, RollingOrigin, backtest
    from tsrnn.datasets import load

    y = load("airpassengers")
    forecaster = RNNForecaster(epochs=1, hidden_size=4, interval=None, n_threads=1, random_state=0)
    search = _search(
        client,
        estimator=forecaster,
        parameters={"learning_rate": [1e-3, 1e-2]},
        cv=RollingOrigin(horizon=6, n_origins=2),
    ).fit(y)
    best = clone(forecaster).set_params(**search.best_params_)
    table = backtest(best, y, horizon=6, n_origins=2)
    assert search.best_score_ == pytest.approx(-table.loc["mean", "mae"], rel=1e-6)
    assert len(search.predict(horizon=3)) == 3


def test_forecaster_halving_refits_with_more_epochs(client):
    """Without partial_fit, a halving rung refits the forecaster with factor times the epochs."""
    from tsrnn import RNNForecaster, RollingOrigin
    from tsrnn.datasets import load

    forecaster = RNNForecaster(hidden_size=4, interval=None, random_state=0)
    search = _search(
        client,
        estimator=forecaster,
        parameters={"learning_rate": [1e-3, 1e-2, 3e-2]},
        cv=RollingOrigin(horizon=6, n_origins=2),
        strategy="halving",
        max_epochs=2,
        factor=2,
        n_brackets=1,
        scoring="rmse",
    ).fit(load("airpassengers"))
    assert search.cv_results_["n_resources"].tolist() == [1, 1, 1, 2]
    assert search.best_estimator_.epochs == 2 and search.best_estimator_.steps_ >= 2


def test_cli_search_writes_ranked_results(client, tmp_path):
    """`tsrnn search` (the installed command) on a scheduler address; errors are one line.

    Its JSON log has one line per candidate, with the parameters and mean error of its row of
    the results; a warning (a broken journal line) is a JSON line too."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import pandas as pd

    from tsrnn.datasets import load

    tsrnn = shutil.which("tsrnn", path=str(Path(sys.executable).parent)) or "tsrnn"
    load("airpassengers").rename("passengers").rename_axis("month").to_csv(tmp_path / "air.csv")
    common = [tsrnn, "search", "air.csv", "-H", "6", "--origins", "2"]
    run = partial(subprocess.run, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    searched = [*common, "--param", "learning_rate=1e-3,1e-2", "--param", "cell=lstm,gru",
                "--epochs", "1", "--hidden-size", "4", "--scheduler", client.scheduler.address,
                "--output", "results.csv", "--journal", "search.jsonl",
                "--log-format", "json"]  # fmt: skip
    result = run(searched)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "results.csv")
    assert len(table) == 4 and table["rank"].tolist()[0] == 1
    assert {"learning_rate", "cell", "mean_mae", "origin1_mae"} <= set(table.columns)
    assert len((tmp_path / "search.jsonl").read_text().splitlines()) == 8
    events = [json.loads(line) for line in result.stderr.splitlines()]
    candidates = [e for e in events if e["event"] == "candidate"]
    assert len(candidates) == 4 and {e["candidates"] for e in candidates} == {4}
    for e in candidates:
        row = table[(table["cell"] == e["params"]["cell"])
                    & np.isclose(table["learning_rate"], e["params"]["learning_rate"])]  # fmt: skip
        assert e["fits"] == 2 and e["mean_mae"] == pytest.approx(row["mean_mae"].item())
    assert events[-1]["event"] == "done" and events[-1]["best_params"] == {
        "cell": table["cell"][0], "learning_rate": table["learning_rate"][0]}  # fmt: skip
    with open(tmp_path / "search.jsonl", "a") as journal:
        journal.write("{not json\n")
    again = run(searched)  # every fit read from the journal
    assert again.returncode == 0, again.stderr
    events = [json.loads(line) for line in again.stderr.splitlines()]
    assert sum(e["event"] == "candidate" for e in events) == 4
    [warning] = [e for e in events if e["event"] == "warning"]
    assert "Dropped 1 unreadable line(s) of the journal" in warning["message"]
    bad = run([*common, "--quiet", "--param", "hiden_size=4,8"])
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "did you mean 'hidden_size'" in bad.stderr
