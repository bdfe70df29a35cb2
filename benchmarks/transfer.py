"""Transfer to series never seen in fit: a model fitted on M3 monthly forecasts the M1 monthly
series from their own history (``predict(y=history)``, each series scaled on itself), next to
AutoETS fitted on M1 itself and to the same default model fitted on M1.

    python benchmarks/transfer.py [--seeds 3] [--baselines-json benchmarks/results/m_baselines.json]

Prints sMAPE / MASE (means over series, ``tsrnn.metrics``, ``m`` = 12) and the coverage of the
80 % and 95 % intervals for each; AutoETS's figures come from the saved statsforecast run of
``m_competitions.py`` (see its docstring). No target: the figures are reported as measured.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from m_competitions import LEVELS, load_subset, long_series, scores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--baselines-json", default="benchmarks/results/m_baselines.json")
    args = parser.parse_args()
    from tsrnn import RNNForecaster

    ids, train, test, h, m = load_subset("m1-monthly")
    source_ids, source_train, _, source_h, _ = load_subset("m3-monthly")
    y_m1 = long_series([f"m1-{i}" for i in ids], train, "MS")
    y_m3 = long_series(source_ids, source_train, "MS")
    fits = {"transfer (fitted on M3 monthly)": y_m3, "fitted on M1 monthly": y_m1}
    rows = {label: [] for label in fits}
    assert source_h == h  # both competitions forecast 18 months
    for seed in range(args.seeds):
        for label, y_fit in fits.items():
            start = time.perf_counter()
            model = RNNForecaster(horizon=h, random_state=seed).fit(y_fit)
            seconds = time.perf_counter() - start
            pred = model.predict(horizon=h, y=y_m1, level=LEVELS)
            parts = [pred.loc[f"m1-{i}"] for i in ids]
            bounds = [{f"{s}-{v}": p[f"{s}-{v}"].to_numpy() for v in LEVELS for s in ("lo", "hi")}
                      for p in parts]  # fmt: skip
            result = scores(train, test, m, [p["forecast"].to_numpy() for p in parts])
            for level in LEVELS:
                inside = [np.mean((a >= b[f"lo-{level}"]) & (a <= b[f"hi-{level}"]))
                          for a, b in zip(test, bounds, strict=True)]  # fmt: skip
                result[f"cov{level}"] = float(np.mean(inside))
            result["seconds"] = seconds
            rows[label].append(result)
            print(f"seed {seed}, {label}: {result}", file=sys.stderr, flush=True)
    with open(args.baselines_json) as f:
        ets = json.load(f).get("m1-monthly", {}).get("AutoETS")
    print(f"M1 monthly ({len(ids)} series, h={h}), mean of {args.seeds} seed(s)\n")
    print("| model | sMAPE | MASE | coverage 80 % | coverage 95 % | fit s |")
    print("| --- | --- | --- | --- | --- | --- |")
    if ets:
        print(f"| AutoETS fitted on M1 monthly | {ets['smape']:.2f} | {ets['mase']:.3f} | "
              f"{ets['cov80']:.3f} | {ets['cov95']:.3f} | |")  # fmt: skip
    for label, runs in rows.items():
        mean = {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}
        print(f"| tsrnn {label} | {mean['smape']:.2f} | {mean['mase']:.3f} | {mean['cov80']:.3f} "
              f"| {mean['cov95']:.3f} | {mean['seconds']:.0f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
