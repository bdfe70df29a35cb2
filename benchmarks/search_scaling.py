"""Scaling of one hyperparameter search: in-process, on 1 and 2 Dask workers, and with sklearn.

One search (12 candidates x 3 ``TimeSeriesSplit`` folds = 36 fits of a small LSTM) is run, in
one process and one go:

* sequentially in-process: sklearn's ``GridSearchCV(n_jobs=1)`` with 1 torch thread (the
  baseline, 1.00x);
* ``tsrnn.SearchCV`` on a local Dask cluster of 1 and of 2 worker processes started by
  tsrnn (``tsrnn.cluster.local_cluster``: one thread per worker, no malloc trap);
* sklearn's ``GridSearchCV(n_jobs=2)`` (joblib's loky processes);
* with ``--trap-search``, ``tsrnn.SearchCV`` on a plain ``distributed.LocalCluster`` of 2
  workers, which carry distributed's default ``MALLOC_TRIM_THRESHOLD_=65536``.

Every configuration trains the same 36 models (same seeds). Workers are warmed up (torch
imported, one tiny fit) before timing, as is the in-process baseline; cluster start-up is
reported apart. Printed: wall seconds, speedup against the baseline, the mean fit time measured
inside the fit's process, the Dask overhead per task on one worker ((wall - time inside the
tasks) / tasks) and a bare ``client.submit`` round trip. Then one fit (hidden 64) timed in
this process, in a worker of tsrnn's cluster and in a worker of a plain ``LocalCluster``
(with distributed's default ``MALLOC_TRIM_THRESHOLD_=65536``), interleaved round by round so
that all see the same machine load: a fit in a tsrnn worker must take as long as in-process.

Targets on a 2-core machine: 2 workers >= 1.9x faster than sequential; overhead < 20 ms/task.

Run: ``python benchmarks/search_scaling.py [--epochs 8] [--points 1500] [--rounds 5]
[--trap-search]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time

import numpy as np

HIDDEN = [16, 32, 64]
RATES = [1e-3, 3e-3, 1e-2, 3e-2]
LOOKBACK = 24


def make_data(points: int) -> tuple[np.ndarray, np.ndarray]:
    from tsrnn import make_windows

    rng = np.random.default_rng(0)
    t = np.arange(points)
    series = np.sin(t / 12) + 0.5 * np.sin(t / 5) + 0.1 * rng.normal(size=points)
    X, y = make_windows(series.astype(np.float32), lookback=LOOKBACK)
    return np.ascontiguousarray(X), np.ascontiguousarray(y)


def estimator(epochs: int, n_threads: int | None):
    from tsrnn import RNNRegressor

    return RNNRegressor(epochs=epochs, batch_size=64, random_state=0, n_threads=n_threads)


def grid() -> dict:
    return {"hidden_size": HIDDEN, "learning_rate": RATES}


def run_sklearn(X, y, epochs: int, n_jobs: int, n_threads: int | None) -> dict:
    from sklearn.model_selection import GridSearchCV, TimeSeriesSplit

    model = estimator(epochs, n_threads)
    search = GridSearchCV(model, grid(), cv=TimeSeriesSplit(3), n_jobs=n_jobs, error_score="raise")
    start = time.perf_counter()
    search.fit(X, y)
    wall = time.perf_counter() - start
    fit = float(np.mean(search.cv_results_["mean_fit_time"]))
    return {"wall": wall, "fit": fit, "best": search.best_params_}


def run_tsrnn(client, X, y, epochs: int) -> dict:
    from sklearn.model_selection import TimeSeriesSplit

    from tsrnn import SearchCV

    search = SearchCV(
        estimator(epochs, None), grid(), cv=TimeSeriesSplit(3), client=client, verbose=0
    )
    start = time.perf_counter()
    search.fit(X, y)
    wall = time.perf_counter() - start - search.refit_time_
    fits = search.fits_
    inside = sum(f["fit_time"] + f["score_time"] for f in fits)
    return {
        "wall": wall,
        "fit": float(np.mean([f["fit_time"] for f in fits])),
        "inside": inside,
        "n": len(fits),
        "threads": sorted({f["torch_threads"] for f in fits}),
        "best": search.best_params_,
    }


def warm(client) -> None:
    """Import torch and run one tiny fit in every worker, as the in-process baseline has."""
    client.run(_warm_up)


def _warm_up() -> None:
    from tsrnn import RNNRegressor

    X = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32)
    RNNRegressor(hidden_size=4, epochs=1, n_threads=1).fit(X, X[:, -1])


def round_trip_ms(client, n: int = 100) -> float:
    client.submit(int, 0, pure=False).result()
    start = time.perf_counter()
    for i in range(n):
        client.submit(int, i, pure=False).result()
    return (time.perf_counter() - start) / n * 1000


def compare_strategies(X, y, epochs: int) -> dict[str, dict]:
    """Grid against Hyperband and plain successive halving, on one 2-worker cluster."""
    from sklearn.model_selection import TimeSeriesSplit

    from tsrnn import SearchCV
    from tsrnn.cluster import local_cluster

    settings = {
        "grid": {"strategy": "grid"},
        "halving, Hyperband brackets (default)": {"strategy": "halving", "min_epochs": 1},
        "halving, one bracket (plain, from 1 epoch)": {
            "strategy": "halving",
            "min_epochs": 1,
            "n_brackets": 1,
        },
    }
    out = {}
    with local_cluster(2) as client:
        warm(client)
        for name, extra in settings.items():
            search = SearchCV(
                estimator(epochs, None),
                grid(),
                cv=TimeSeriesSplit(3),
                client=client,
                verbose=0,
                random_state=0,
                **extra,
            )
            start = time.perf_counter()
            search.fit(X, y)
            out[name] = {
                "wall": time.perf_counter() - start - search.refit_time_,
                "fits": len(search.fits_),
                "score": search.best_score_,
                "best": search.best_params_,
            }
    return out


def _median_run(results: list[dict]) -> dict:
    """The run of median wall time (its other figures come with it)."""
    return sorted(results, key=lambda r: r["wall"])[(len(results) - 1) // 2]


def timed_fit(X, y, hidden: int, epochs: int) -> float:
    """Seconds of one fit, measured in the process that runs it (1 torch thread)."""
    from tsrnn import RNNRegressor

    model = RNNRegressor(hidden_size=hidden, epochs=epochs, random_state=0, n_threads=1)
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start


def compare_fits(X, y, epochs: int, rounds: int) -> dict[str, float]:
    """Median seconds of the same fit in-process, in a tsrnn worker and in a trapped worker.

    Interleaved round by round, so that all three see the same load of the machine.
    """
    from distributed import Client, LocalCluster

    from tsrnn.cluster import local_cluster

    times: dict[str, list[float]] = {"in-process": [], "tsrnn worker": [], "trap worker": []}
    # The plain LocalCluster second: it writes MALLOC_TRIM_THRESHOLD_ into os.environ.
    with (
        local_cluster(1) as ours,
        LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as plain,
        Client(plain) as theirs,
    ):
        trap = theirs.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
        data = {c: c.scatter([X, y], broadcast=True) for c in (ours, theirs)}
        for c in (ours, theirs):
            warm(c)
        for _ in range(rounds):
            times["in-process"].append(timed_fit(X, y, 64, epochs))
            for name, c in (("tsrnn worker", ours), ("trap worker", theirs)):
                Xf, yf = data[c]
                times[name].append(c.submit(timed_fit, Xf, yf, 64, epochs, pure=False).result())
    medians = {name: float(np.median(values)) for name, values in times.items()}
    medians["trap"] = next(iter(trap.values()))
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--points", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the fit comparison")
    parser.add_argument(
        "--search-rounds", type=int, default=2, help="rounds of the searches (median shown)"
    )
    parser.add_argument(
        "--trap-search", action="store_true", help="also search on a plain LocalCluster"
    )
    parser.add_argument(
        "--halving",
        action="store_true",
        help="also compare grid, Hyperband and plain halving on 2 workers (time, best score)",
    )
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    from tsrnn.cluster import local_cluster

    X, y = make_data(args.points)
    n_fits = len(HIDDEN) * len(RATES) * 3
    print(
        f"search: {len(HIDDEN) * len(RATES)} candidates x 3 folds = {n_fits} fits of an LSTM "
        f"(hidden {HIDDEN}, lr {RATES}), {len(X)} windows of {LOOKBACK} steps, "
        f"{args.epochs} epochs, batch 64; {os.cpu_count()} cores; load average before: "
        f"{os.getloadavg()[0]:.2f}"
    )
    _warm_up()
    names = {
        "seq": "sequential in-process, 1 torch thread (GridSearchCV n_jobs=1)",
        1: "tsrnn.SearchCV, 1 Dask worker (tsrnn's local_cluster)",
        2: "tsrnn.SearchCV, 2 Dask workers (tsrnn's local_cluster)",
        "gs2": "sklearn GridSearchCV(n_jobs=2), 1 torch thread per fit (loky)",
    }
    runs: dict = {key: [] for key in names}
    starts, trip = {}, {}
    with contextlib.ExitStack() as stack:
        clients = {}
        for n in (1, 2):
            start = time.perf_counter()
            clients[n] = stack.enter_context(local_cluster(n))
            starts[n] = time.perf_counter() - start
            warm(clients[n])
            trip[n] = round_trip_ms(clients[n])
        for _ in range(args.search_rounds):  # interleaved: every run sees the same load
            runs["seq"].append(run_sklearn(X, y, args.epochs, 1, 1))
            for n in (1, 2):
                runs[n].append(run_tsrnn(clients[n], X, y, args.epochs))
            runs["gs2"].append(run_sklearn(X, y, args.epochs, 2, 1))
    rows = {names[key]: _median_run(values) for key, values in runs.items()}
    one = rows[names[1]]
    overhead = (one["wall"] - one["inside"]) / one["n"] * 1000
    if args.trap_search:  # last: a plain LocalCluster also writes the trap into os.environ
        with (
            LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster,
            Client(cluster) as client,
        ):
            warm(client)
            rows["tsrnn.SearchCV, 2 workers of a plain LocalCluster (MALLOC_TRIM_THRESHOLD_)"] = (
                run_tsrnn(client, X, y, args.epochs)
            )
    fits = compare_fits(X, y, args.epochs, args.rounds)
    strategies = compare_strategies(X, y, args.epochs) if args.halving else None

    base = next(iter(rows.values()))
    print(f"\n{'configuration':<78} {'wall s':>7} {'speedup':>8} {'fit s':>7} {'fit ratio':>9}")
    for name, r in rows.items():
        print(
            f"{name:<78} {r['wall']:7.1f} {base['wall'] / r['wall']:7.2f}x {r['fit']:7.3f} "
            f"{r['fit'] / base['fit']:8.2f}x"
        )
    print(
        f"\n(median of {args.search_rounds} interleaved rounds; fit s: mean seconds of one fit "
        "of the search, measured inside the fit's process; fit ratio: against the in-process "
        "search's)"
    )
    base_fit = fits["in-process"]
    print(
        f"one fit (hidden 64, {args.epochs} epochs), median of {args.rounds} interleaved rounds: "
        f"in-process {base_fit:.3f} s; in a tsrnn worker {fits['tsrnn worker']:.3f} s "
        f"({fits['tsrnn worker'] / base_fit:.2f}x); in a plain LocalCluster worker "
        f"(MALLOC_TRIM_THRESHOLD_={fits['trap']}) {fits['trap worker']:.3f} s "
        f"({fits['trap worker'] / base_fit:.2f}x)"
    )
    print(f"cluster start-up: 1 worker {starts[1]:.1f} s, 2 workers {starts[2]:.1f} s")
    print(
        f"Dask overhead per task, 1 worker: {overhead:.1f} ms "
        "((wall - time inside the tasks) / tasks; includes scatter, scheduling, results)"
    )
    print(f"bare client.submit round trip: {trip[1]:.1f} ms (1 worker), {trip[2]:.1f} ms (2)")
    threads = {name: r["threads"] for name, r in rows.items() if "threads" in r}
    print(f"torch threads inside the tasks: {sorted({t for v in threads.values() for t in v})}")
    bests = sorted({str(r["best"]) for r in rows.values()})
    print(f"best parameters found: {', '.join(bests)}")
    if strategies:
        grid_wall = strategies["grid"]["wall"]
        print(f"\nstrategies on 2 workers, {args.epochs} epochs at most:")
        for name, r in strategies.items():
            print(
                f"  {name:<44} {r['wall']:6.1f} s ({r['wall'] / grid_wall:.2f}x of the grid's time)"
                f"  {r['fits']:3d} fits  best CV score {r['score']:.4f}  {r['best']}"
            )
    print(f"load average after: {os.getloadavg()[0]:.2f} (other processes share the cores)")


if __name__ == "__main__":
    main()
