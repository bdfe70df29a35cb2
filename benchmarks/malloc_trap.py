"""The malloc trap, measured: one LSTM fit with and without ``MALLOC_TRIM_THRESHOLD_`` set.

distributed's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` in every worker it spawns; setting
the variable at all switches off glibc's dynamic mmap threshold, so every tensor above 128 KiB
is mmap-ed and munmap-ed again (``tsrnn.cluster``'s docstring). This script runs the same fit
(an ``RNNRegressor`` on windows of a sine, single-threaded) alternately with the variable set
and without, and prints each run's seconds and the median ratio, in two settings: in a Dask
worker (a plain ``distributed.LocalCluster``, whose nanny sets the variable, against
:func:`tsrnn.cluster.local_cluster`, which leaves it out; the fit timed inside the task), and
in a fresh process started with and without the variable. The figure quoted in the README and
in ``tsrnn/cluster.py`` comes from it; it depends on the machine (its allocator, its page-fault
cost), on its load and on the size of the network (larger tensors cross the 128 KiB threshold
more).

Usage::

    python benchmarks/malloc_trap.py [--repeats 3] [--hidden 64 128]

Prints the figures only (no target: the trap is a fact of glibc, the ratio a property of the
machine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

FIT = """
import numpy as np, torch
torch.set_num_threads(1)
from tsrnn import RNNRegressor, make_windows
X, y = make_windows(np.sin(np.arange(20_000) / 7.0), lookback=48)
RNNRegressor(hidden_size={hidden}, epochs=2, batch_size=256, random_state=0, device="cpu").fit(X, y)
"""


def run(hidden: int, trapped: bool) -> tuple[float, float]:
    """Wall and system seconds of one fit in a fresh process."""
    env = dict(os.environ)
    env.pop("MALLOC_TRIM_THRESHOLD_", None)
    if trapped:
        env["MALLOC_TRIM_THRESHOLD_"] = "65536"
    before = os.times()
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", FIT.format(hidden=hidden)], env=env, check=True)
    wall = time.perf_counter() - start
    after = os.times()
    return wall, after.children_system - before.children_system


def fit_seconds(hidden: int) -> float:
    """Seconds of the fit, in the process that runs it (a Dask worker)."""
    import numpy as np
    import torch

    from tsrnn import RNNRegressor, make_windows

    torch.set_num_threads(1)
    X, y = make_windows(np.sin(np.arange(20_000) / 7.0), lookback=48)
    model = RNNRegressor(hidden_size=hidden, epochs=2, batch_size=256, random_state=0, device="cpu")
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start


def in_workers(hidden: int, repeats: int) -> list[float]:
    """The fit in a worker of a plain LocalCluster (trapped) and of tsrnn's (not), alternately."""
    import logging

    from distributed import Client, LocalCluster

    from tsrnn.cluster import local_cluster

    ratios = []
    for repeat in range(repeats):
        with local_cluster(1, dashboard_address=None) as client:
            free = client.submit(fit_seconds, hidden, pure=False).result()
        with (
            LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                         dashboard_address=None, silence_logs=logging.CRITICAL) as cluster,
            Client(cluster) as client,
        ):  # fmt: skip
            trapped = client.submit(fit_seconds, hidden, pure=False).result()
        ratios.append(trapped / free)
        print(
            f"hidden {hidden}, worker run {repeat + 1}: tsrnn's local_cluster {free:.2f} s, "
            f"distributed.LocalCluster {trapped:.2f} s: {trapped / free:.2f}x",
            flush=True,
        )
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 128])
    args = parser.parse_args()
    for hidden in args.hidden:
        ratios = in_workers(hidden, args.repeats)
        print(
            f"hidden {hidden}, in a Dask worker: median slowdown "
            f"{statistics.median(ratios):.2f}x (range {min(ratios):.2f}-{max(ratios):.2f}x)"
        )
        ratios = []
        for repeat in range(args.repeats):
            free_wall, free_sys = run(hidden, trapped=False)
            trap_wall, trap_sys = run(hidden, trapped=True)
            ratios.append(trap_wall / free_wall)
            print(
                f"hidden {hidden}, run {repeat + 1}: without {free_wall:.2f} s "
                f"({free_sys:.2f} s system), with MALLOC_TRIM_THRESHOLD_ {trap_wall:.2f} s "
                f"({trap_sys:.2f} s system): {trap_wall / free_wall:.2f}x",
                flush=True,
            )
        print(
            f"hidden {hidden}, a process started with the variable: median slowdown "
            f"{statistics.median(ratios):.2f}x (range {min(ratios):.2f}-{max(ratios):.2f}x)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
