"""A forecast of a Parquet dataset that never passes through one process, at 100,000 and
1,000,000 series, on a `dask scheduler` and two `dask worker` processes of this machine.

For each size the script writes (once, kept in ``--folder``) a synthetic M4-like weekly dataset:
lengths 20 to 300, a yearly season, a level and a trend per series, noise; the last 8 values of
every series are held out (``truth.parquet``) and the rest is written partitioned by month
(``lake/part-YYYY-MM.parquet``), so that every series spans many files. It then starts
``dask scheduler`` and two ``dask worker --nthreads 1 --memory-limit 8GiB --preload
tsrnn.cluster`` processes, runs::

    tsrnn forecast lake/ --id-col id --horizon 8 --scheduler ADDR --output OUT/

with the default model, and reports the wall time of each stage (as the command prints it),
the peak RSS of the CLI process and of each worker (sampled every 0.2 s), whether a worker was
restarted, the rows of the output, and the holdout sMAPE. At 100,000 series it also runs
today's single-process ``tsrnn forecast`` of the same data (one Parquet file, read by the CLI
process) for the speed and accuracy comparison.

Usage::

    python benchmarks/distributed_data.py [--sizes 100000 1000000] [--folder DIR]

Targets, checked (exit status 1 on a miss; the figures are printed either way): 1,000,000
series in under 20 minutes; the CLI process' peak RSS under 1 GiB; no worker restarted;
exactly 8 rows per series and no duplicate; time per series at 1,000,000 within 1.3x of that
at 100,000; at 100,000 series the cluster at least 1.5x faster than the single process, at a
holdout sMAPE within 2% of it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

HORIZON = 8
STAGES = ("reading and shuffling", "statistics", "training", "calibration", "prediction", "writing")
BIN = Path(sys.executable).parent
TARGETS = {
    "minutes_1m": 20.0,
    "cli_rss_gib": 1.0,
    "per_series_ratio": 1.3,
    "speedup_100k": 1.5,
    "smape_rel": 0.02,
}


# ---------------------------------------------------------------------- data


def write_data(n_series: int, folder: Path, seed: int = 0, chunk: int = 50_000) -> None:
    """The dataset partitioned by month, the held-out truth, and (for a baseline) one file."""
    if (folder / "done").exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "lake").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    end = pd.Timestamp("2024-12-30")  # a Monday; series end on different weeks before it
    writers: dict[str, pq.ParquetWriter] = {}
    truths = []
    single = pq.ParquetWriter(folder / "single.parquet", _schema()) if n_series <= 100_000 else None
    for first in range(0, n_series, chunk):
        k = np.arange(first, min(first + chunk, n_series))
        length = rng.integers(20 + HORIZON, 300 + HORIZON + 1, len(k))
        stop = rng.integers(0, 52, len(k))  # weeks before `end` each series stops
        level = np.exp(rng.normal(6, 1.5, len(k)))
        trend = rng.normal(0.002, 0.004, len(k))
        season = rng.uniform(0, 0.3, len(k))
        phase = rng.uniform(0, 2 * np.pi, len(k))
        noise = rng.uniform(0.02, 0.15, len(k))
        owner = np.repeat(np.arange(len(k)), length)
        t = np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length, length)
        values = (
            level[owner]
            * np.exp(trend[owner] * t)
            * (1 + season[owner] * np.sin(2 * np.pi * t / 52 + phase[owner]))
            * np.exp(rng.normal(0, noise[owner]))
        )
        weeks = (np.repeat(length + stop, length) - t - 1).astype("timedelta64[W]")
        stamps = np.datetime64(end.date(), "ns") - weeks.astype("timedelta64[ns]")
        ids = np.char.add("W", np.char.zfill(k.astype(str), 7))[owner]
        held = t >= np.repeat(length - HORIZON, length)
        frame = pd.DataFrame({"id": ids, "week": stamps, "value": values})
        truths.append(frame[held])
        train = frame[~held]
        if single is not None:
            single.write_table(pa.Table.from_pandas(train, schema=_schema(), preserve_index=False))
        month = (train["week"].dt.year * 100 + train["week"].dt.month).to_numpy()
        for code, part in train.groupby(month, sort=True):
            key = f"{code // 100}-{code % 100:02d}"
            if key not in writers:
                writers[key] = pq.ParquetWriter(folder / "lake" / f"part-{key}.parquet", _schema())
            writers[key].write_table(
                pa.Table.from_pandas(part, schema=_schema(), preserve_index=False)
            )
    for writer in writers.values():
        writer.close()
    if single is not None:
        single.close()
    pd.concat(truths).to_parquet(folder / "truth.parquet", index=False)
    (folder / "done").write_text(json.dumps({"series": n_series, "files": len(writers)}))


def _schema() -> pa.Schema:
    return pa.schema([("id", pa.string()), ("week", pa.timestamp("ns")), ("value", pa.float64())])


def holdout_smape(forecast: pd.DataFrame, truth_path: Path) -> float:
    truth = pd.read_parquet(truth_path)
    merged = truth.merge(forecast, on=["id", "week"], how="left", validate="1:1")
    if merged["forecast"].isna().any():
        return float("nan")
    y, f = merged["value"].to_numpy(), merged["forecast"].to_numpy()
    per = 200 * np.abs(y - f) / (np.abs(y) + np.abs(f))
    return float(pd.Series(per).groupby(merged["id"].to_numpy()).mean().mean())


# ---------------------------------------------------------------------- processes


class Cluster:
    """`dask scheduler` and two `dask worker` processes, each in a session of its own."""

    def __init__(self, workdir: Path) -> None:
        self.file = workdir / f"scheduler-{time.monotonic_ns()}.json"
        self.scheduler = _popen(
            [
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--dashboard-address",
                ":0",
                "--scheduler-file",
                str(self.file),
            ]
        )
        deadline = time.monotonic() + 60
        while not self.file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.address = json.loads(self.file.read_text())["address"]
        self.workers = [
            _popen(
                [
                    "worker",
                    self.address,
                    "--nthreads",
                    "1",
                    "--memory-limit",
                    "8GiB",
                    "--preload",
                    "tsrnn.cluster",
                    "--name",
                    f"w{i}",
                ]
            )
            for i in range(2)
        ]
        self.pids = self.worker_pids()

    def worker_pids(self) -> list[int]:
        """PIDs of the worker processes now, as the workers report them (a worker a nanny
        restarts has a new one)."""
        from distributed import Client

        with Client(self.address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
            return sorted(client.run(os.getpid).values())

    def process_pids(self) -> list[int]:
        """PIDs of the processes under the nannies (the workers), for their memory."""
        pids = []
        for nanny in self.workers:
            with contextlib.suppress(psutil.NoSuchProcess):
                pids += [c.pid for c in psutil.Process(nanny.pid).children(recursive=True)]
        return sorted(pids)

    def close(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def _popen(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "dask"), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


class Peak(threading.Thread):
    """Peak RSS of some processes, sampled every 0.2 s."""

    def __init__(self, pids) -> None:
        super().__init__(daemon=True)
        self.pids = pids  # callable -> list of pids
        self.peak: dict[int, int] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.2):
            for pid in self.pids():
                try:
                    rss = psutil.Process(pid).memory_info().rss
                except psutil.NoSuchProcess:
                    continue
                self.peak[pid] = max(self.peak.get(pid, 0), rss)


def run_cli(args: list[str], watch=None) -> tuple[float, str, int, dict[int, int]]:
    """Run the tsrnn command; its wall time, stderr, its peak RSS, the watched peaks."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(BIN / "tsrnn"), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    own = Peak(lambda: [proc.pid])
    others = Peak(watch or (lambda: []))
    own.start()
    others.start()
    _, err = proc.communicate()
    seconds = time.perf_counter() - start
    own.stopped.set()
    others.stopped.set()
    if proc.returncode:
        raise SystemExit(f"tsrnn {' '.join(args)} failed:\n{err}")
    return seconds, err, own.peak.get(proc.pid, 0), dict(others.peak)


def stages(stderr: str) -> dict[str, float]:
    line = next((ln for ln in stderr.splitlines() if ln.startswith("Stages: ")), "")
    return {name: float(s) for name, s in re.findall(r"([a-z][a-z ]*?) ([\d.]+) s", line[8:])}


# ---------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "tsrnn-dd")
    parser.add_argument("--no-baseline", action="store_true", help="skip the single process")
    args = parser.parse_args()
    results = {}
    for n in args.sizes:
        folder = args.folder / f"n{n}"
        start = time.perf_counter()
        write_data(n, folder)
        print(
            f"{n} series: data ready in {time.perf_counter() - start:.0f} s "
            f"({json.loads((folder / 'done').read_text())['files']} files)",
            flush=True,
        )
        out = folder / "out"
        cluster = Cluster(folder)
        try:
            seconds, err, rss, peaks = run_cli(
                [
                    "forecast",
                    str(folder / "lake"),
                    "--id-col",
                    "id",
                    "--horizon",
                    str(HORIZON),
                    "--scheduler",
                    cluster.address,
                    "--output",
                    str(out) + "/",
                ],
                watch=cluster.process_pids,
            )
            restarted = cluster.worker_pids() != cluster.pids
        finally:
            cluster.close()
        forecast = pd.read_parquet(out, columns=["id", "week", "forecast"])
        rows_ok = len(forecast) == HORIZON * n and not forecast.duplicated(["id", "week"]).any()
        per_id = forecast.groupby("id").size()
        rows_ok = rows_ok and len(per_id) == n and bool((per_id == HORIZON).all())
        results[n] = {
            "seconds": seconds,
            "stages": stages(err),
            "cli_rss": rss,
            "worker_rss": sorted(peaks.values(), reverse=True)[:2],
            "restarted": restarted,
            "rows_ok": rows_ok,
            "smape": holdout_smape(forecast, folder / "truth.parquet"),
        }
        del forecast
        if n == 100_000 and not args.no_baseline:
            base, _, base_rss, _ = run_cli(
                [
                    "forecast",
                    str(folder / "single.parquet"),
                    "--id-col",
                    "id",
                    "--horizon",
                    str(HORIZON),
                    "--output",
                    str(folder / "single.csv"),
                    "--quiet",
                ]
            )
            single = pd.read_csv(folder / "single.csv", parse_dates=["week"])
            results[n]["single"] = {
                "seconds": base,
                "rss": base_rss,
                "smape": holdout_smape(single, folder / "truth.parquet"),
            }
        print(json.dumps({str(n): results[n]}, default=str), flush=True)
    return report(results)


def report(results: dict) -> int:
    gib = 2**30
    head = ["series", "wall s", *STAGES, "CLI peak RSS GiB", "worker peak RSS GiB", "restarted"]
    print("\n| " + " | ".join([*head, "rows", "holdout sMAPE"]) + " |")
    print("| --- " * 13 + "|")
    for n, r in results.items():
        s = r["stages"]
        cells = [f"{s.get(k, float('nan')):.1f}" for k in STAGES]
        workers = " / ".join(f"{b / gib:.2f}" for b in r["worker_rss"])
        print(
            f"| {n:,} | {r['seconds']:.0f} | "
            + " | ".join(cells)
            + f" | {r['cli_rss'] / gib:.2f} | {workers} | {r['restarted']} | "
            f"{'ok' if r['rows_ok'] else 'WRONG'} | {r['smape']:.3f} |"
        )
    misses = []
    for n, r in results.items():
        if r["cli_rss"] / gib >= TARGETS["cli_rss_gib"]:
            misses.append(f"CLI peak RSS {r['cli_rss'] / gib:.2f} GiB at {n} series")
        if r["restarted"]:
            misses.append(f"a worker was restarted at {n} series")
        if not r["rows_ok"]:
            misses.append(f"the output at {n} series is not exactly {HORIZON} rows per series")
    if 1_000_000 in results:
        minutes = results[1_000_000]["seconds"] / 60
        print(f"1,000,000 series: {minutes:.1f} min (target < {TARGETS['minutes_1m']:.0f})")
        if minutes >= TARGETS["minutes_1m"]:
            misses.append(f"1,000,000 series took {minutes:.1f} min")
    if 100_000 in results and 1_000_000 in results:
        ratio = (results[1_000_000]["seconds"] / 1e6) / (results[100_000]["seconds"] / 1e5)
        print(
            f"time per series at 1,000,000 over 100,000: {ratio:.2f}x "
            f"(target <= {TARGETS['per_series_ratio']})"
        )
        if ratio > TARGETS["per_series_ratio"]:
            misses.append(f"time per series grew {ratio:.2f}x")
    if 100_000 in results and "single" in results[100_000]:
        r = results[100_000]
        speedup = r["single"]["seconds"] / r["seconds"]
        rel = r["smape"] / r["single"]["smape"] - 1
        print(
            f"100,000 series: single process {r['single']['seconds']:.0f} s "
            f"(peak RSS {r['single']['rss'] / gib:.2f} GiB, sMAPE {r['single']['smape']:.3f}), "
            f"cluster {r['seconds']:.0f} s: {speedup:.2f}x (target >= "
            f"{TARGETS['speedup_100k']}); sMAPE {rel:+.1%} (target within "
            f"{TARGETS['smape_rel']:.0%})"
        )
        if speedup < TARGETS["speedup_100k"]:
            misses.append(f"the cluster is {speedup:.2f}x the single process")
        if abs(rel) > TARGETS["smape_rel"]:
            misses.append(f"the cluster's sMAPE differs by {rel:+.1%}")
    for miss in misses:
        print(f"MISSED: {miss}")
    print("every target met" if not misses else f"{len(misses)} target(s) missed")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
