"""Missing values: M3 monthly with 10 % of the training values removed at random, against
the complete data, with the same default ``RNNForecaster`` and seeds.

The removed values become NaN (``missing="mask"``, the default: unobserved in the inputs, out
of the loss); the forecast is scored on the competition's test part, which is complete.

    python benchmarks/missing_values.py [--seeds 1] [--share 0.1]

Target (exit 1 when missed, the figures are printed either way): the mean sMAPE with values
missing within 3 % of the complete data's (relative).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from m_competitions import load_subset, long_series, scores

TARGET = 0.03


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--share", type=float, default=0.1)
    args = parser.parse_args()
    from tsrnn import RNNForecaster

    ids, train, test, h, m = load_subset("m3-monthly")
    rng = np.random.default_rng(0)
    holed = []
    for x in train:
        x = x.copy()
        x[rng.random(len(x)) < args.share] = np.nan
        holed.append(x)
    removed = np.mean(np.isnan(np.concatenate(holed)))
    rows = {}
    for label, data in (("complete", train), ("values missing", holed)):
        runs = []
        for seed in range(args.seeds):
            start = time.perf_counter()
            model = RNNForecaster(horizon=h, random_state=seed).fit(long_series(ids, data, "MS"))
            seconds = time.perf_counter() - start
            pred = model.predict()
            result = scores(train, test, m, [pred.loc[i]["forecast"].to_numpy() for i in ids])
            runs.append({**result, "seconds": seconds})
        rows[label] = {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}
    print(f"M3 monthly, {removed:.1%} of the training values removed, {args.seeds} seed(s)\n")
    print("| data | sMAPE | MASE | fit s |")
    print("| --- | --- | --- | --- |")
    for label, r in rows.items():
        print(f"| {label} | {r['smape']:.2f} | {r['mase']:.3f} | {r['seconds']:.0f} |")
    ratio = rows["values missing"]["smape"] / rows["complete"]["smape"]
    print(f"\nsMAPE with values missing / complete: {ratio:.3f} (target at most {1 + TARGET:.2f})")
    return 0 if ratio <= 1 + TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
