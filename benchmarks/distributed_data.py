"""A forecast of a Parquet dataset that never passes through one process, at 100,000 and
1,000,000 series, on a `dask scheduler` and two `dask worker` processes of this machine.

For each size the script writes (once, kept in ``--folder``) a synthetic M4-like dataset in
one of two layouts, and holds the last 8 values of every series out (``truth.parquet``):

- ``weekly`` (the default): lengths 20 to 300, a yearly season, a level and a trend per
  series, noise; written partitioned by month (``lake/part-YYYY-MM.parquet``), so that every
  series spans many files;
- ``daily``: the same shapes at a daily frequency (a weekly season), written as a nightly job
  per group of stores writes them: one file per calendar month and per block of 50,000
  series (``lake/part-YYYY-MM-bNNN.parquet``).

It then starts ``dask scheduler`` and two ``dask worker --nthreads 1 --memory-limit LIMIT
--preload tsrnn.cluster`` processes (``--memory-limit``, 8GiB by default; ``--on-disk`` sets
the workers' shares of it for buckets and training windows to 0, so that every bucket and
every rank's windows live on their disk, as when a worker's share does not fit), runs::

    tsrnn forecast lake/ --id-col id --horizon H --scheduler ADDR --output OUT/

with the default model, and reports the wall time of each stage and the peak memory of each
worker during it (as the command prints them), the peak RSS of the CLI process and of each
worker (sampled every 0.2 s), whether a worker was restarted or paused for memory, the
bytes per row a worker held in training (its peak during training less its memory before the
run, over the rows it holds: half of the dataset's), the peak bytes per row of the workers'
files in their local directories (buckets and mapped windows), the rows of the output, and
the holdout sMAPE. At 100,000 series it also runs today's single-process ``tsrnn forecast``
of the same data (one Parquet file, read by the CLI process) for the speed and accuracy
comparison.

With ``--kill`` it runs each size a second time on a fresh cluster, SIGKILLing rank 1's
worker process halfway through training (half the first run's training seconds after rank 1
starts training, as ``benchmarks/elastic_training.py`` does); its nanny restarts it, the
ranks resume from the survivors' state, and the run is timed and scored like the first.

Usage::

    python benchmarks/distributed_data.py [--sizes 100000 1000000] [--folder DIR]
        [--layout weekly|daily] [--memory-limit 8GiB] [--on-disk] [--no-baseline] [--kill]

Targets, checked (exit status 1 on a miss; the figures are printed either way): 1,000,000
series in under 20 minutes; the CLI process' peak RSS under 1 GiB; no worker restarted or
paused; exactly 8 rows per series and no duplicate; time per series at 1,000,000 within 1.3x
of that at 100,000; at 100,000 series the cluster at least 1.5x faster than the single
process, at a holdout sMAPE within 2% of it; with ``--kill``, the run with a worker killed
mid-training completes within 1.5x the first run's wall time, with its holdout sMAPE within 2%
of the first run's, exactly 8 rows per series and no duplicate, and says the step it resumed
from.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
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
    "kill_ratio": 1.5,
}


# ---------------------------------------------------------------------- data


def write_data(
    n_series: int, folder: Path, layout: str = "weekly", seed: int = 0, chunk: int = 50_000
) -> None:
    """The dataset in ``layout``, the held-out truth, and (for a baseline) one file."""
    if (folder / "done").exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "lake").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    daily = layout == "daily"
    unit, season_length = ("D", 7) if daily else ("W", 52)
    end = pd.Timestamp("2024-12-30")  # a Monday; series end on different steps before it
    writers: dict[str, pq.ParquetWriter] = {}
    truths = []
    single = pq.ParquetWriter(folder / "single.parquet", _schema()) if n_series <= 100_000 else None
    for first in range(0, n_series, chunk):
        k = np.arange(first, min(first + chunk, n_series))
        length = rng.integers(20 + HORIZON, 300 + HORIZON + 1, len(k))
        stop = rng.integers(0, 52, len(k))  # steps before `end` each series stops
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
            * (1 + season[owner] * np.sin(2 * np.pi * t / season_length + phase[owner]))
            * np.exp(rng.normal(0, noise[owner]))
        )
        steps = (np.repeat(length + stop, length) - t - 1).astype(f"timedelta64[{unit}]")
        stamps = np.datetime64(end.date(), "ns") - steps.astype("timedelta64[ns]")
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
            if daily:  # one file per month and block of series, written once
                name = f"part-{key}-b{first // chunk:03d}.parquet"
                pq.write_table(
                    pa.Table.from_pandas(part, schema=_schema(), preserve_index=False),
                    folder / "lake" / name,
                )
                continue
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
    files = len(list((folder / "lake").iterdir()))
    (folder / "done").write_text(json.dumps({"series": n_series, "files": files}))


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

    def __init__(self, workdir: Path, memory_limit: str = "8GiB", on_disk: bool = False) -> None:
        self.file = workdir / f"scheduler-{time.monotonic_ns()}.json"
        self.local = workdir / "local"
        self.logs = [workdir / f"worker-{i}.log" for i in range(2)]
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
        env = dict(os.environ)
        if on_disk:  # no share of the memory limit for rows: every array on disk
            env.update({"DASK_TSRNN__MEMORY__BUCKETS": "0", "DASK_TSRNN__MEMORY__WINDOWS": "0"})
        self.workers = [
            _popen(
                [
                    "worker",
                    self.address,
                    "--nthreads",
                    "1",
                    "--memory-limit",
                    memory_limit,
                    "--local-directory",
                    str(self.local),
                    "--preload",
                    "tsrnn.cluster",
                    "--name",
                    f"w{i}",
                ],
                env=env,
                log=self.logs[i],
            )
            for i in range(2)
        ]
        self.pids = self.worker_pids()
        self.base = self.worker_memory()

    def worker_pids(self) -> list[int]:
        """PIDs of the worker processes now, as the workers report them (a worker a nanny
        restarts has a new one)."""
        from distributed import Client

        with Client(self.address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
            return sorted(client.run(os.getpid).values())

    def worker_memory(self) -> list[int]:
        """RSS of each worker once torch and tsrnn's networks are imported (as a fit does)."""
        from distributed import Client

        from tsrnn._dask.worker import warm_worker

        def rss() -> int:
            warm_worker()
            return psutil.Process().memory_info().rss

        with Client(self.address, timeout="60s") as client:
            return sorted(client.run(rss).values())

    def paused(self, killed: bool = False) -> bool:
        """Whether a worker's log says it was paused or restarted for memory (``killed``: a
        worker was killed on purpose, so its nanny's "Restarting worker" is not counted)."""
        words = ("Pausing worker", "exceeded 95% memory budget")
        words += () if killed else ("Restarting worker",)
        return any(w in log.read_text(errors="replace") for log in self.logs for w in words)

    def disk_bytes(self) -> int:
        """Bytes of the workers' files in their local directory: stored buckets (``.npy``)
        and the mapped files of training windows (temporary, deleted while mapped)."""
        total = 0
        for path in self.local.rglob("*.npy"):
            with contextlib.suppress(OSError):
                total += path.stat().st_size
        for pid in self.process_pids():  # the windows' files, deleted once mapped
            with contextlib.suppress(OSError):  # /proc/PID/maps: cheap, unlike smaps
                for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
                    if "/tsrnn-rows/" in line and ".npy" not in line:
                        low, high = line.split(maxsplit=1)[0].split("-")
                        total += int(high, 16) - int(low, 16)
        return total

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


def _popen(args: list[str], env: dict | None = None, log: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "dask"), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL if log is None else open(log, "w"),
        start_new_session=True,
        env=env,
    )


class Peak(threading.Thread):
    """Peak RSS of some processes, sampled every 0.2 s (and, given ``disk``, the peak of
    ``disk()``, sampled every second)."""

    def __init__(self, pids, disk=None) -> None:
        super().__init__(daemon=True)
        self.pids = pids  # callable -> list of pids
        self.disk = disk  # callable -> bytes, or None
        self.peak: dict[int, int] = {}
        self.disk_peak = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        ticks = 0
        while not self.stopped.wait(0.2):
            for pid in self.pids():
                try:
                    rss = psutil.Process(pid).memory_info().rss
                except psutil.NoSuchProcess:
                    continue
                self.peak[pid] = max(self.peak.get(pid, 0), rss)
            ticks += 1
            if self.disk is not None and ticks % 5 == 0:
                self.disk_peak = max(self.disk_peak, self.disk())


def run_cli(args: list[str], watch=None, disk=None) -> tuple[float, str, int, Peak]:
    """Run the tsrnn command; its wall time, stderr, its peak RSS, the watched peaks."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(BIN / "tsrnn"), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    own = Peak(lambda: [proc.pid])
    others = Peak(watch or (lambda: []), disk)
    own.start()
    others.start()
    _, err = proc.communicate()
    seconds = time.perf_counter() - start
    own.stopped.set()
    others.stopped.set()
    if proc.returncode:
        raise SystemExit(f"tsrnn {' '.join(args)} failed:\n{err}")
    return seconds, err, own.peak.get(proc.pid, 0), others


def stages(stderr: str) -> dict[str, float]:
    line = next((ln for ln in stderr.splitlines() if ln.startswith("Stages: ")), "")
    return {name: float(s) for name, s in re.findall(r"([a-z][a-z ]*?) ([\d.]+) s", line[8:])}


def stage_peaks(stderr: str) -> dict[str, list[float]]:
    """Each stage's workers' peaks (GiB), as the command prints them."""
    line = next((ln for ln in stderr.splitlines() if ln.startswith("Stages: ")), "")
    found = re.findall(r"([a-z][a-z ]*?) [\d.]+ s \(workers' peak ([\d. /]+) GiB\)", line[8:])
    return {name.strip(): [float(v) for v in peaks.split(" / ")] for name, peaks in found}


def rows_read(stderr: str) -> int:
    found = re.search(r"Read (\d+) rows", stderr)
    return int(found.group(1)) if found else 0


# ---------------------------------------------------------------------- main


def on_cluster(folder: Path, n: int, args: argparse.Namespace, kill_after: float | None = None):
    """One ``tsrnn forecast`` of the lake on a fresh cluster; with ``kill_after``, rank 1's
    worker process is SIGKILLed that many seconds into its training."""
    from elastic_training import RESUMED, kill_rank1

    tag = "" if kill_after is None else "kill"
    out = folder / f"out{tag}"
    shutil.rmtree(out, ignore_errors=True)
    workdir = folder / tag if tag else folder
    workdir.mkdir(exist_ok=True)
    cluster = Cluster(workdir, args.memory_limit, args.on_disk)
    killed: dict = {}
    killer = None
    if kill_after is not None:
        killer = threading.Thread(target=kill_rank1, args=(cluster, kill_after, False, killed))
        killer.start()
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
            disk=cluster.disk_bytes,
        )
        if killer is not None:
            killer.join(timeout=60)
        restarted = cluster.worker_pids() != cluster.pids
        paused = cluster.paused(killed=bool(killed))
    finally:
        cluster.close()
    forecast = pd.read_parquet(out, columns=["id", "week", "forecast"])
    rows_ok = len(forecast) == HORIZON * n and not forecast.duplicated(["id", "week"]).any()
    per_id = forecast.groupby("id").size()
    rows_ok = rows_ok and len(per_id) == n and bool((per_id == HORIZON).all())
    per_stage = stage_peaks(err)
    per_worker = rows_read(err) / 2
    training = per_stage.get("training", [])
    bases = cluster.base[::-1]
    held = [(2**30 * p - b) / per_worker for p, b in zip(training, bases, strict=False)]
    result = {
        "rows": rows_read(err),
        "seconds": seconds,
        "stages": stages(err),
        "stage_peaks": per_stage,
        "cli_rss": rss,
        "worker_rss": sorted(peaks.peak.values(), reverse=True)[:2],
        "worker_base": cluster.base,
        "held_per_row": held,
        "disk_per_row": peaks.disk_peak / max(2 * per_worker, 1),
        "restarted": restarted,
        "paused": paused,
        "rows_ok": rows_ok,
        "smape": holdout_smape(forecast, folder / "truth.parquet"),
    }
    if kill_after is not None:
        found = [RESUMED.search(line) for line in err.splitlines()]
        result["killed"] = bool(killed)
        result["resumed"] = [(int(m[1]), int(m[2])) for m in found if m]
        result["warnings"] = [line for line in err.splitlines() if line.startswith("Warning: ")]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "tsrnn-dd")
    parser.add_argument("--layout", choices=["weekly", "daily"], default="weekly")
    parser.add_argument("--memory-limit", default="8GiB", help="each worker's --memory-limit")
    parser.add_argument("--on-disk", action="store_true", help="every bucket and window on disk")
    parser.add_argument("--no-baseline", action="store_true", help="skip the single process")
    parser.add_argument(
        "--kill", action="store_true", help="again, with a worker SIGKILLed mid-training"
    )
    args = parser.parse_args()
    results = {}
    for n in args.sizes:
        folder = args.folder / f"{args.layout}-n{n}"
        start = time.perf_counter()
        write_data(n, folder, args.layout)
        print(
            f"{n} series ({args.layout}): data ready in {time.perf_counter() - start:.0f} s "
            f"({json.loads((folder / 'done').read_text())['files']} files)",
            flush=True,
        )
        results[n] = on_cluster(folder, n, args)
        print(json.dumps({str(n): results[n]}, default=str), flush=True)
        if args.kill:
            half = results[n]["stages"].get("training", 0.0) / 2
            results[n]["kill"] = on_cluster(folder, n, args, kill_after=half)
            print(json.dumps({f"{n} kill": results[n]["kill"]}, default=str), flush=True)
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
            print(json.dumps({f"{n} single": results[n]["single"]}, default=str), flush=True)
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
    print("\nEach worker's peak memory (GiB) during each stage, as the command prints them:\n")
    print("| series | " + " | ".join(STAGES[:-1]) + " | before the run | held in training |")
    print("| --- " * (len(STAGES) + 2) + "|")
    for n, r in results.items():
        cells = [" / ".join(f"{v:.2f}" for v in r["stage_peaks"].get(k, [])) for k in STAGES[:-1]]
        base = " / ".join(f"{b / gib:.2f}" for b in sorted(r["worker_base"], reverse=True))
        held = " / ".join(f"{b:.1f}" for b in r["held_per_row"])
        print(
            f"| {n:,} | " + " | ".join(cells) + f" | {base} | {held} B/row "
            f"(disk {r['disk_per_row']:.1f} B/row) |"
        )
    sizes = sorted(results)
    for small, big in itertools.pairwise(sizes):  # per row, the fixed costs apart
        a, b = results[small], results[big]
        more_rows = (b["rows"] - a["rows"]) / 2
        for stage in ("training", "prediction"):
            grew = [
                (y - x) * gib / more_rows
                for x, y in zip(a["stage_peaks"][stage], b["stage_peaks"][stage], strict=False)
            ]
            print(
                f"{stage} peak from {small:,} to {big:,} series: "
                + " / ".join(f"{g:.1f}" for g in grew)
                + " bytes per row more a worker"
            )
    misses = []
    for n, r in results.items():
        if r["cli_rss"] / gib >= TARGETS["cli_rss_gib"]:
            misses.append(f"CLI peak RSS {r['cli_rss'] / gib:.2f} GiB at {n} series")
        if r["restarted"]:
            misses.append(f"a worker was restarted at {n} series")
        if r["paused"]:
            misses.append(f"a worker was paused for memory at {n} series")
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
    for n, r in results.items():
        if "kill" not in r:
            continue
        k = r["kill"]
        ratio = k["seconds"] / r["seconds"]
        rel = k["smape"] / r["smape"] - 1
        print(
            f"{n:,} series, rank 1's worker SIGKILLed mid-training: {k['seconds']:.0f} s, "
            f"{ratio:.2f}x the run without a fault (target <= {TARGETS['kill_ratio']}), "
            f"resumed {k['resumed']} (step, workers), sMAPE {k['smape']:.3f} ({rel:+.2%}, "
            f"target within {TARGETS['smape_rel']:.0%}), stages {k['stages']}, "
            f"rows {'ok' if k['rows_ok'] else 'WRONG'}"
        )
        if not k["killed"] or not k["resumed"]:
            misses.append(f"{n}: no worker was killed mid-training, or no resume was said")
        if ratio > TARGETS["kill_ratio"]:
            misses.append(f"{n}: the run with a worker killed took {ratio:.2f}x")
        if abs(rel) > TARGETS["smape_rel"]:
            misses.append(f"{n}: the killed run's sMAPE differs by {rel:+.2%}")
        if not k["rows_ok"]:
            misses.append(f"{n}: the killed run's output is not exactly {HORIZON} rows per series")
        if k["paused"]:
            misses.append(f"{n}: a worker was paused for memory in the killed run")
    for miss in misses:
        print(f"MISSED: {miss}")
    print("every target met" if not misses else f"{len(misses)} target(s) missed")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
