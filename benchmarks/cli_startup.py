"""Start-up time of the ``tsrnn`` command, and the wall time of the README's main job.

Runs each command line several times in a fresh process and prints the median wall time,
next to a bare ``python -c pass`` for reference, and the heavy modules ``tsrnn --help``
imports (there should be none). Then it runs the README's first command, the forecast of the
bundled AirPassengers CSV with its plot (defaults: intervals, 8 networks), three times.

Usage::

    python benchmarks/cli_startup.py [--repeat 9]

Targets (exit status 1 when one is missed, the figures are printed either way): the median of
``tsrnn --help`` under 0.3 s with no heavy import, and the median AirPassengers forecast under
30 s.
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 0.3
FORECAST_TARGET_S = 30.0
AIRPASSENGERS = Path(__file__).resolve().parents[1] / "tsrnn" / "datasets" / "airpassengers.csv"
HEAVY = ("torch", "dask", "pandas", "numpy", "matplotlib", "sklearn", "tsrnn")


def median_seconds(command: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def heavy_imports_of_help() -> list[str]:
    code = (
        "import sys\nfrom tsrnn_cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    return [m for m in result.stderr.strip().split(",") if m]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="runs per command (default 9)")
    args = parser.parse_args()
    tsrnn = shutil.which("tsrnn", path=str(Path(sys.executable).parent)) or shutil.which("tsrnn")
    if tsrnn is None:
        print("The tsrnn command is not installed: pip install -e .", file=sys.stderr)
        return 2
    rows = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("tsrnn --help", [tsrnn, "--help"]),
        ("tsrnn --version", [tsrnn, "--version"]),
        ("tsrnn forecast --help", [tsrnn, "forecast", "--help"]),
        ("tsrnn datasets list (imports the library)", [tsrnn, "datasets", "list"]),
    ]
    median_seconds([tsrnn, "--help"], 2)  # warm the file cache
    print(f"median wall time of {args.repeat} runs:")
    results = {}
    for label, command in rows:
        results[label] = median_seconds(command, args.repeat)
        print(f"  {label:<45} {results[label]:6.3f} s")
    heavy = heavy_imports_of_help()
    print(f"heavy modules imported by 'tsrnn --help': {', '.join(heavy) or 'none'}")
    ok = results["tsrnn --help"] < TARGET_S and not heavy
    print(f"target: tsrnn --help under {TARGET_S} s with no heavy import -> {_verdict(ok)}")
    with tempfile.TemporaryDirectory() as tmp:
        forecast = [tsrnn, "forecast", str(AIRPASSENGERS), "--horizon", "12",
                    "--output", f"{tmp}/forecast.csv", "--plot", f"{tmp}/forecast.png"]  # fmt: skip
        seconds = median_seconds(forecast, 3)
        wrote = Path(f"{tmp}/forecast.csv").is_file() and Path(f"{tmp}/forecast.png").is_file()
    print(f"  {'tsrnn forecast airpassengers.csv (median of 3)':<45} {seconds:6.3f} s")
    if not wrote:
        print("  the forecast wrote no forecast.csv and forecast.png: run it by hand to see why")
    fast = seconds < FORECAST_TARGET_S and wrote
    print(f"target: the AirPassengers forecast under {FORECAST_TARGET_S:.0f} s -> {_verdict(fast)}")
    return 0 if ok and fast else 1


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


if __name__ == "__main__":
    sys.exit(main())
