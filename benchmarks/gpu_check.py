"""Check the CUDA paths once on a machine with a GPU (about 1-3 minutes); prints what it saw.

(a) ``RNNRegressor(device="cuda")`` trains and predicts on the GPU (and agrees roughly with the
    same fit on the CPU).
(b) ``SearchCV`` on a mixed local cluster (one CPU worker + one worker per GPU declaring
    ``GPU=1`` and seeing only its device): with ``device="auto"`` the fits ask for
    ``{"GPU": 1}`` by default and land only on GPU workers, training on ``cuda``; the CPU worker
    sees no GPU. With ``resources={}`` both kinds of worker train (mixed cluster).
(c) An unsatisfiable request (``{"GPU": 2}`` per fit) fails at once with SearchError.
(d) ``tsrnn.parallel.train_on_dask`` on GPU workers: one ``RNNRegressor(device="cuda")`` trained
    by 2 NCCL ranks when there are 2 GPUs (else one task on the GPU worker), and a forecaster's
    networks side by side; the models come back and unpickle in a process that sees no GPU
    (``CUDA_VISIBLE_DEVICES=""``), predicting what they predicted here.

Exit code 0 when every check holds, 1 otherwise. Run: ``python benchmarks/gpu_check.py``
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np


def main() -> int:
    import torch
    from sklearn.model_selection import TimeSeriesSplit

    from tsrnn import RNNRegressor, SearchCV, make_windows
    from tsrnn.cluster import local_cluster, visible_gpus
    from tsrnn.errors import SearchError

    if not torch.cuda.is_available():
        print("CUDA is not available to torch here: nothing to check.")
        return 1
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, GPUs: {visible_gpus()} "
          f"({torch.cuda.get_device_name(0)})")  # fmt: skip
    ok = True

    def check(label: str, condition: bool, detail: str = "") -> None:
        nonlocal ok
        ok &= bool(condition)
        print(f"[{'ok' if condition else 'FAIL'}] {label}{': ' + detail if detail else ''}")

    t = np.arange(3000, dtype=np.float32)
    X, y = make_windows(np.sin(t / 12) + 0.3 * np.sin(t / 5), lookback=24)
    X, y = np.ascontiguousarray(X), np.ascontiguousarray(y)

    # (a) the estimator on CUDA
    start = time.perf_counter()
    gpu = RNNRegressor(hidden_size=32, epochs=5, random_state=0, device="cuda").fit(X, y)
    gpu_s = time.perf_counter() - start
    start = time.perf_counter()
    cpu = RNNRegressor(hidden_size=32, epochs=5, random_state=0, device="cpu").fit(X, y)
    cpu_s = time.perf_counter() - start
    diff = float(np.max(np.abs(gpu.predict(X[:200]) - cpu.predict(X[:200]))))
    check("RNNRegressor(device='cuda') trains on", gpu.device_.type == "cuda", str(gpu.device_))
    check("CUDA and CPU fits agree roughly", diff < 0.1, f"max |diff| {diff:.2e}")
    print(f"     fit seconds: cuda {gpu_s:.2f} (incl. CUDA start-up), cpu {cpu_s:.2f}")

    # (b) placement on a mixed cluster
    grid = {"hidden_size": [16, 32], "learning_rate": [1e-3, 1e-2]}
    with local_cluster(1, gpus="all") as client:
        info = client.scheduler_info(n_workers=-1)["workers"]
        gpu_workers = {a for a, w in info.items() if w["resources"].get("GPU")}
        seen = client.run(lambda: (os.environ.get("CUDA_VISIBLE_DEVICES"), _cuda_count()))
        print(f"     workers (CUDA_VISIBLE_DEVICES, devices torch sees): {seen}")
        check(
            "each GPU worker sees exactly one device, the CPU worker none",
            all(seen[a][1] == (1 if a in gpu_workers else 0) for a in seen),
        )
        search = SearchCV(
            RNNRegressor(epochs=3, random_state=0, device="auto"),
            grid,
            cv=TimeSeriesSplit(2),
            client=client,
            verbose=0,
        ).fit(X, y)
        placed = {f["worker"] for f in search.fits_}
        devices = {f["device"] for f in search.fits_}
        check("device='auto' fits ask for a GPU and land only on GPU workers",
              placed <= gpu_workers, f"{len(search.fits_)} fits on {sorted(placed)}")  # fmt: skip
        check("those fits trained on CUDA", devices <= {"cuda", "cuda:0"}, str(devices))
        check("best_estimator_ refit in this process", hasattr(search, "best_estimator_"),
              str(search.best_estimator_.device_))  # fmt: skip
        mixed = SearchCV(
            RNNRegressor(epochs=3, random_state=0, device="auto"),
            grid,
            cv=TimeSeriesSplit(2),
            client=client,
            resources={},
            verbose=0,
        ).fit(X, y)
        by_device = {}
        for f in mixed.fits_:
            by_device.setdefault(f["device"], set()).add(f["worker"])
        print(f"     resources={{}}: devices -> workers {by_device}")
        check("resources={} lets every worker train (mixed CPU/GPU)",
              np.all(np.isfinite(mixed.cv_results_["mean_test_score"])))  # fmt: skip
        start = time.perf_counter()
        try:
            SearchCV(RNNRegressor(epochs=1), grid, cv=TimeSeriesSplit(2), client=client,
                     resources={"GPU": 2}, verbose=0).fit(X, y)  # fmt: skip
            check("an unsatisfiable request fails fast", False, "no error")
        except SearchError as exc:
            check("an unsatisfiable request fails fast", time.perf_counter() - start < 30,
                  str(exc)[:120] + "...")  # fmt: skip
    # (d) training on GPU workers, models unpickled without a GPU
    import pickle
    import subprocess

    from tsrnn import RNNForecaster, datasets
    from tsrnn.parallel import train_on_dask

    ranks = min(2, len(visible_gpus()))
    with local_cluster(0, gpus="all") as client, train_on_dask(client, ranks=ranks):
        start = time.perf_counter()
        model = RNNRegressor(hidden_size=32, epochs=3, random_state=0, device="cuda").fit(X, y)
        ddp_s = time.perf_counter() - start
        forecaster = RNNForecaster(horizon=12, device="cuda", random_state=0)
        forecaster.fit(datasets.load("airpassengers"))
    backend = "NCCL, 2 ranks" if ranks == 2 else "1 GPU: one task, no process group"
    check(f"RNNRegressor trained on GPU workers ({backend})", model.n_iter_ == 3,
          f"{ddp_s:.1f} s, came back on {model.device_}")  # fmt: skip
    code = (
        "import pickle, sys, numpy as np, torch\n"
        "assert not torch.cuda.is_available()\n"
        "model, forecaster, X = pickle.loads(sys.stdin.buffer.read())\n"
        "np.save(sys.stdout.buffer, model.predict(X))\n"
        "np.save(sys.stdout.buffer, forecaster.predict()['forecast'].to_numpy())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=pickle.dumps((model, forecaster, X[:200])),
        capture_output=True,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
    )
    if done.returncode != 0:
        check("GPU-trained models unpickle on a CPU-only process", False, done.stderr[-300:])
    else:
        import io

        stream = io.BytesIO(done.stdout)
        there, there_fc = np.load(stream), np.load(stream)
        here = model.predict(X[:200])
        here_fc = forecaster.predict()["forecast"].to_numpy()
        gap = max(np.max(np.abs(there - here)), np.max(np.abs(there_fc - here_fc) / here_fc))
        check("GPU-trained models unpickle on a CPU-only process and agree", gap < 1e-3,
              f"max difference {gap:.2e}")  # fmt: skip
    print("all checks passed" if ok else "SOME CHECKS FAILED")
    return 0 if ok else 1


def _cuda_count() -> int:
    import torch

    return torch.cuda.device_count()


if __name__ == "__main__":
    sys.exit(main())
