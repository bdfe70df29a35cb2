"""Many series from one long file: read + validate (CSV, Parquet), fit on a step budget, predict.

For each size (1,000, 10,000 and 100,000 daily series by default) a long-format file is written
once, as CSV and as Parquet: columns ``id``, ``ds`` (dates; a Parquet timestamp column) and
``y``, the series stacked one after the other, lengths drawn log-uniformly from 20 to 300
points (M4-like: many short series, some long ones), start dates and levels drawn too, all from
one seed. Each measurement runs in a fresh Python process (imports done before the clock
starts) that reports its wall time and its own peak RSS (``ru_maxrss``), so sizes do not share
caches or memory:

* ``read``: ``tsrnn.io.read_series(path, id_col="id")``, i.e. reading, column detection, date
  parsing, the per-series checks and the regrouping, for each size and format;
* ``fit`` and ``predict`` (:func:`fit_stage`, :func:`predict_stage`): ``RNNForecaster(
  horizon=8, interval=None, steps=<budget>).fit(y)`` then ``.predict()`` on the Parquet file;
  skipped (and said so) while the forecaster has no ``steps`` parameter.

Printed: rows, file size, seconds, time per row and peak RSS per size and stage, then for each
format and stage the ratio of time per row at the largest size to that at the smallest (and,
for fit and predict, the ratio of their total times).
* ``cli`` (with ``--cli``): the installed ``tsrnn forecast FILE.parquet --id-col id --horizon 8``
  on the largest size, with the default budget and intervals, timed with its peak RSS.

Targets: read + validate within 2x (linear time); with ``--cli``, the CLI forecast within 15
minutes and 8 GiB of peak RSS. The exit status is 1 when a target is missed.

Run: ``python benchmarks/many_series.py [--sizes 1000 10000 100000] [--formats csv parquet]
[--steps 300] [--no-fit] [--cli] [--folder DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SIZES = [1_000, 10_000, 100_000]
FORMATS = ["csv", "parquet"]
MIN_LENGTH, MAX_LENGTH = 20, 300
HORIZON = 8
SEED = 0
# Time per row at the largest size may be at most this multiple of that at the smallest.
READ_RATIO_TARGET = 2.0
CLI_SECONDS, CLI_RSS_GIB = 15 * 60, 8.0


# ---------------------------------------------------------------------- data


def make_long(n_series: int, seed: int = SEED):
    """Synthetic daily series stacked in long format, as a pyarrow Table.

    Parameters
    ----------
    n_series : int
    seed : int, default=SEED

    Returns
    -------
    pyarrow.Table of shape (n_rows, 3)
        Columns ``id`` (string, ``"s000042"``), ``ds`` (timestamp[s], daily, regular within
        each series) and ``y`` (float64, positive: a level, a trend, a weekly season and
        noise); ``n_rows`` is the sum of the lengths, about 110 per series.
    """
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    lengths = np.exp(rng.uniform(np.log(MIN_LENGTH), np.log(MAX_LENGTH + 1), n_series))
    lengths = lengths.astype(np.int64)
    n_rows = int(lengths.sum())
    series = np.repeat(np.arange(n_series), lengths)
    step = np.arange(n_rows) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    start = np.datetime64("2010-01-01", "D") + rng.integers(0, 3000, n_series)
    ds = np.repeat(start, lengths) + step
    level = rng.lognormal(5, 1, n_series)[series]
    trend = rng.normal(0, 0.002, n_series)[series]
    season = rng.uniform(0, 0.2, n_series)[series] * np.sin(2 * np.pi * step / 7)
    noise = rng.normal(0, 0.05, n_rows)
    y = np.round(level * (1 + trend * step + season + noise), 3)
    width = len(str(n_series - 1))
    names = np.char.add("s", np.char.zfill(np.arange(n_series).astype(str), width))
    return pa.table(
        {
            "id": pa.DictionaryArray.from_arrays(series, names).dictionary_decode(),
            "ds": pa.array(ds.astype("datetime64[s]")),
            "y": pa.array(y),
        }
    )


def write_files(n_series: int, folder: Path, formats: list[str]) -> dict[str, Path]:
    """Write (once: kept for later runs) the CSV and Parquet files of ``n_series`` series.

    Parameters
    ----------
    n_series : int
    folder : Path
    formats : list of {"csv", "parquet"}

    Returns
    -------
    dict
        Format -> path. The CSV writes dates as ``2010-01-31``; the Parquet file keeps them as
        a timestamp column.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    paths = {f: folder / f"many_{n_series}_seed{SEED}.{f}" for f in formats}
    if all(p.exists() for p in paths.values()):
        return paths
    table = make_long(n_series)
    for fmt, path in paths.items():
        tmp = path.with_name(path.name + ".part")
        if fmt == "parquet":
            pq.write_table(table, tmp)
        else:
            dates = pc.strftime(table["ds"], format="%Y-%m-%d")
            text = table.set_column(1, "ds", dates.cast(pa.string()))
            options = pacsv.WriteOptions(quoting_style="none")
            pacsv.write_csv(text, tmp, write_options=options)
        os.replace(tmp, path)
    return paths


# ---------------------------------------------------------------------- stages (child side)


def read_stage(path: Path):
    """Read and validate the long file: the stage whose time per row must not grow.

    Parameters
    ----------
    path : Path

    Returns
    -------
    Series of shape (n_rows,)
        On a MultiIndex (id, ds).
    """
    from tsrnn.io import read_series

    y, _ = read_series(path, id_col="id")
    return y


def has_step_budget() -> bool:
    """Whether ``RNNForecaster`` takes ``steps`` (gradient steps per network)."""
    from tsrnn import RNNForecaster

    return "steps" in RNNForecaster().get_params()


def fit_stage(y, steps: int):
    """HOOK: fit one global model on every series with a fixed budget of gradient steps.

    Parameters
    ----------
    y : Series of shape (n_rows,)
        As returned by :func:`read_stage`.
    steps : int
        Gradient steps per network (batches drawn across all windows of all series).

    Returns
    -------
    RNNForecaster
    """
    from tsrnn import RNNForecaster

    return RNNForecaster(horizon=HORIZON, interval=None, steps=steps).fit(y)


def predict_stage(model):
    """HOOK: forecast every series the model was fitted on.

    Parameters
    ----------
    model : RNNForecaster
        As returned by :func:`fit_stage`.

    Returns
    -------
    DataFrame of shape (n_series * HORIZON, 3)
    """
    return model.predict()


def _peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(stage: str, path: Path, steps: int) -> dict:
    """Run one stage in this (fresh) process; return its figures."""
    import pyarrow.parquet  # noqa: F401  (imports are not part of the timing)

    import tsrnn.io  # noqa: F401

    out = {"rss_start_mib": _peak_rss_mib()}
    start = time.perf_counter()
    y = read_stage(path)
    out.update(read_s=time.perf_counter() - start, rows=len(y))
    out["series"] = int(y.index.get_level_values(0).nunique())
    out["rss_read_mib"] = _peak_rss_mib()
    if stage == "fit":
        if not has_step_budget():
            out["skipped"] = "forecaster has no step budget yet"
            return out
        start = time.perf_counter()
        model = fit_stage(y, steps)
        out["fit_s"] = time.perf_counter() - start
        out["rss_fit_mib"] = _peak_rss_mib()
        start = time.perf_counter()
        forecast = predict_stage(model)
        out["predict_s"] = time.perf_counter() - start
        out["forecast_rows"] = len(forecast)
        out["rss_predict_mib"] = _peak_rss_mib()
    return out


# ---------------------------------------------------------------------- parent side


def measure(stage: str, path: Path, steps: int, timeout: float | None) -> dict:
    """Run :func:`_child` in a fresh interpreter; its figures, or ``{"error": ...}``."""
    command = [sys.executable, __file__, "--child", stage, str(path), "--steps", str(steps)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f} s"}
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        return {"error": tail[0]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _per_row_us(seconds: float, rows: int) -> float:
    return seconds / rows * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES, metavar="N_SERIES")
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=FORMATS)
    parser.add_argument("--steps", type=int, default=300, help="gradient steps per network")
    parser.add_argument("--no-fit", action="store_true", help="only read + validate")
    parser.add_argument("--cli", action="store_true", help="time `tsrnn forecast` on the largest")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per measurement")
    parser.add_argument(
        "--folder",
        type=Path,
        default=Path(tempfile.gettempdir()) / "tsrnn-many-series",
        help="where the data files are written (and reused)",
    )
    parser.add_argument("--child", nargs=2, metavar=("STAGE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        stage, path = args.child
        print(json.dumps(_child(stage, Path(path), args.steps)))
        return 0

    sizes = sorted(set(args.sizes))
    args.folder.mkdir(parents=True, exist_ok=True)
    print(f"files in {args.folder}; seed {SEED}; lengths {MIN_LENGTH} to {MAX_LENGTH}", flush=True)
    header = f"{'stage':<8}{'format':<9}{'series':>8}{'rows':>12}{'file MiB':>10}"
    header += f"{'seconds':>10}{'us/row':>9}{'peak RSS MiB':>14}"
    print(header, flush=True)
    per_row: dict[tuple[str, str], dict[int, float]] = {}
    seconds_of: dict[tuple[str, str], dict[int, float]] = {}
    failed = False
    for n in sizes:
        start = time.perf_counter()
        paths = write_files(n, args.folder, args.formats)
        written = time.perf_counter() - start
        if written > 1:
            print(f"(wrote the files of {n} series in {written:.0f} s)", flush=True)
        for fmt, path in paths.items():
            stage = "fit" if fmt == "parquet" and not args.no_fit else "read"
            got = measure(stage, path, args.steps, args.timeout)
            size = path.stat().st_size / 2**20
            if "error" in got:
                print(f"{'read':<8}{fmt:<9}{n:>8}  failed: {got['error']}", flush=True)
                failed = True
                continue
            rows = got["rows"]
            us = _per_row_us(got["read_s"], rows)
            per_row.setdefault(("read", fmt), {})[n] = us
            print(
                f"{'read':<8}{fmt:<9}{got['series']:>8}{rows:>12,}{size:>10.1f}"
                f"{got['read_s']:>10.2f}{us:>9.3f}{got['rss_read_mib']:>14.0f}",
                flush=True,
            )
            if stage != "fit":
                continue
            if "skipped" in got:
                print(f"{'fit':<8}{fmt:<9}{n:>8}  skipped: {got['skipped']}", flush=True)
                continue
            for what in ("fit", "predict"):
                seconds = got[f"{what}_s"]
                us = _per_row_us(seconds, rows)
                per_row.setdefault((what, fmt), {})[n] = us
                seconds_of.setdefault((what, fmt), {})[n] = seconds
                print(
                    f"{what:<8}{fmt:<9}{got['series']:>8}{rows:>12,}{'':>10}"
                    f"{seconds:>10.2f}{us:>9.3f}{got[f'rss_{what}_mib']:>14.0f}",
                    flush=True,
                )
    print()
    for (what, fmt), figures in per_row.items():
        if len(figures) < 2:
            continue
        small, large = min(figures), max(figures)
        ratio = figures[large] / figures[small]
        line = f"{what} {fmt}: time per row at {large:,} series / at {small:,} = {ratio:.2f}x"
        if what == "read":
            met = ratio <= READ_RATIO_TARGET
            failed |= not met
            line += f" (target <= {READ_RATIO_TARGET:g}x: {'met' if met else 'MISSED'})"
        else:  # a fixed step budget: the whole stage should cost about the same at every size
            whole = seconds_of[what, fmt][large] / seconds_of[what, fmt][small]
            line += f"; its total time = {whole:.2f}x"
        print(line)
    if args.cli:
        largest = args.folder / f"many_{sizes[-1]}_seed{SEED}.parquet"
        failed |= not cli_forecast(largest, args.folder)
    return 1 if failed else 0


def cli_forecast(path: Path, folder: Path) -> bool:
    """Time the installed ``tsrnn forecast`` on ``path`` (defaults); True if on target."""
    import shutil

    out = folder / "forecast_cli.csv"
    command = [shutil.which("tsrnn") or "tsrnn", "forecast", str(path), "--id-col", "id"]
    command += ["--horizon", str(HORIZON), "--output", str(out), "--quiet"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    # The largest child so far (the read stages before it stay far below it): KiB -> GiB.
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    ok = done.returncode == 0 and seconds <= CLI_SECONDS and rss <= CLI_RSS_GIB
    rows = sum(1 for _ in out.open()) - 1 if out.exists() else 0
    print(
        f"cli forecast {path.name}: exit {done.returncode}, {seconds:.0f} s (target <= "
        f"{CLI_SECONDS}), peak RSS {rss:.2f} GiB (target <= {CLI_RSS_GIB:g}), {rows:,} rows "
        f"written: {'met' if ok else 'MISSED'}"
    )
    if done.returncode:
        print(done.stderr.strip()[-2000:])
    return ok


if __name__ == "__main__":
    sys.exit(main())
