"""Accuracy of RNNForecaster's defaults on the bundled datasets, against simple and
statistical baselines.

For each dataset: a 3-origin rolling backtest whose origins are H apart (the last origin is the
classic holdout of the last H points). Reported per model: MASE and sMAPE on the holdout and
averaged over the 3 origins, seconds per fit, and the empirical coverage of the nominal 90%
intervals. RNNForecaster is run with 3 seeds and its figures are the mean over seeds. AutoETS is
included when statsforecast is importable (``pip install statsforecast``; it pins pandas below 3,
so use a separate environment rather than downgrade pandas in this one).

    python benchmarks/accuracy.py [--seeds 3] [--datasets airpassengers sunspots]

The forecaster gets the task's horizon (``horizon=H``) and nothing else: every other parameter
is the library default, which is not tuned to these series.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from tsrnn import RNNForecaster, backtest
from tsrnn.datasets import load

# dataset -> (horizon H, seasonal period m of MASE and of the seasonal naive)
TASKS = {"airpassengers": (12, 12), "sunspots": (24, 1)}
N_ORIGINS = 3
# Last-H holdout MASE / 3-origin mean MASE measured for the issue (None: not measured).
REFERENCE = {
    "airpassengers": {
        "seasonal naive": (1.57, 1.21),
        "AutoETS": (1.17, 1.11),
        "AutoARIMA": (0.61, 0.95),
        "neuralforecast LSTM": (0.56, None),
        "Darts BlockRNN-GRU": (0.96, None),
        "Keras SimpleRNN tutorial": (2.10, 1.91),
    },
    "sunspots": {
        "naive": (1.58, 1.17),
        "AutoETS": (0.89, 1.02),
        "neuralforecast LSTM": (2.61, None),
        "Darts BlockRNN-GRU": (2.15, None),
    },
}


class SeasonalNaive(BaseEstimator):
    """Repeat the last season (the last value when ``season_length=1``)."""

    def __init__(self, season_length: int = 1):
        self.season_length = season_length

    def fit(self, y: pd.Series, X=None) -> SeasonalNaive:
        self.y_ = y
        return self

    def predict(self, horizon: int, X_future=None) -> pd.DataFrame:
        last = self.y_.to_numpy()[-self.season_length :]
        values = np.resize(last, horizon)  # repeats the last season
        index = pd.date_range(self.y_.index[-1], periods=horizon + 1, freq=self.y_.index.freq)
        return pd.DataFrame({"forecast": values}, index=index[1:])


class StatsforecastAutoETS(BaseEstimator):
    """statsforecast's AutoETS behind the fit/predict interface that backtest expects."""

    def __init__(self, season_length: int = 1):
        self.season_length = season_length

    def fit(self, y: pd.Series, X=None) -> StatsforecastAutoETS:
        from statsforecast.models import AutoETS

        self.y_ = y
        self.model_ = AutoETS(season_length=self.season_length).fit(y.to_numpy(dtype=float))
        return self

    def predict(self, horizon: int, X_future=None) -> pd.DataFrame:
        out = self.model_.predict(h=horizon, level=[90])
        index = pd.date_range(self.y_.index[-1], periods=horizon + 1, freq=self.y_.index.freq)
        return pd.DataFrame(
            {"forecast": out["mean"], "lower": out["lo-90"], "upper": out["hi-90"]},
            index=index[1:],
        )


def _has_statsforecast() -> bool:
    try:
        import statsforecast  # noqa: F401
    except ImportError:
        return False
    return True


def evaluate(model, y: pd.Series, horizon: int, m: int) -> dict:
    """Backtest one model; return holdout and mean figures."""
    table = backtest(model, y, horizon=horizon, n_origins=N_ORIGINS, season_length=m)
    per_origin = table.loc[list(range(1, N_ORIGINS + 1))]
    return {
        "holdout MASE": float(per_origin.loc[N_ORIGINS, "mase"]),
        "holdout sMAPE": float(per_origin.loc[N_ORIGINS, "smape"]),
        "3-origin MASE": float(per_origin["mase"].mean()),
        "3-origin sMAPE": float(per_origin["smape"].mean()),
        "fit s": float(per_origin["fit_seconds"].mean()),
        "coverage": float(per_origin["coverage"].mean()),
    }


def run(datasets: list[str], seeds: int) -> pd.DataFrame:
    rows = []
    for name in datasets:
        horizon, m = TASKS[name]
        y = load(name)
        per_seed = [
            evaluate(RNNForecaster(horizon=horizon, random_state=seed), y, horizon, m)
            for seed in range(seeds)
        ]
        mean = pd.DataFrame(per_seed).mean().to_dict()
        rows.append({"dataset": name, "model": f"RNNForecaster (mean of {seeds} seeds)", **mean})
        baseline = "seasonal naive" if m > 1 else "naive"
        rows.append(
            {"dataset": name, "model": baseline, **evaluate(SeasonalNaive(m), y, horizon, m)}
        )
        if _has_statsforecast():
            ets = evaluate(StatsforecastAutoETS(m), y, horizon, m)
            rows.append({"dataset": name, "model": "AutoETS (statsforecast)", **ets})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", nargs="+", default=list(TASKS), choices=list(TASKS))
    args = parser.parse_args()
    table = run(args.datasets, args.seeds)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print("Measured (coverage: share of test points inside the nominal 90% interval)")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        if not _has_statsforecast():
            print("AutoETS skipped: statsforecast is not installed (pip install statsforecast).")
        print("\nReference figures from the issue (holdout MASE / 3-origin mean MASE):")
        for name in args.datasets:
            refs = ", ".join(
                f"{k} {a:.2f} / {'-' if b is None else f'{b:.2f}'}"
                for k, (a, b) in REFERENCE[name].items()
            )
            print(f"  {name}: {refs}")


if __name__ == "__main__":
    main()
