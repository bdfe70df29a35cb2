"""Covariates on synthetic long data where the truth is known, and what they cost.

Daily sales of ``--series`` items over 300 days (forecast: the last 14):
``sales = level * weekday_shape * lift ** promo + past signal``, where ``promo`` (known in the
future) is on for 15 % of days at random and multiplies sales by ``LIFT``; ``signal`` is a
past-only column that leads the target by one step (its value today moves tomorrow's sales);
the weekday shape is what ``calendar="auto"`` can read off the stamps. Each kind of input is
measured against the same default model without it (mean absolute error on the last 14 days
over all items), the promotion lift is recovered as the ratio of forecasts with ``promo`` on and
off, and the fit time is compared with and without inputs at ``--cost-series`` series.

    python benchmarks/covariates.py [--series 500] [--cost-series 10000] [--seed 0]

No target: the figures are printed as measured.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

LIFT = 1.5
HORIZON = 14


def make(n: int, seed: int, days: int = 300) -> tuple[pd.Series, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    stamps = pd.date_range("2024-01-01", periods=days, freq="D")
    level = rng.uniform(20, 200, size=(n, 1))
    weekday = 1 + 0.3 * np.sin(2 * np.pi * (stamps.day_of_week.to_numpy() / 7 + rng.random((n, 1))))
    promo = (rng.random((n, days)) < 0.15).astype(float)
    signal = rng.normal(size=(n, days))
    noise = rng.normal(0, 0.03, size=(n, days))
    sales = level * weekday * LIFT**promo * (1 + noise) + 0.2 * level * np.roll(signal, 1, axis=1)
    index = pd.MultiIndex.from_product([[f"item{k}" for k in range(n)], stamps],
                                       names=["item", "ds"])  # fmt: skip
    y = pd.Series(np.maximum(sales, 0.1).ravel(), index=index, name="sales")
    X = pd.DataFrame({"promo": promo.ravel(), "signal": signal.ravel()}, index=index)
    return y, X


def split(y, X):
    train = y.groupby(level=0).cumcount().to_numpy() < y.groupby(level=0).size().iloc[0] - HORIZON
    return y[train], X[train], y[~train], X[~train]


def error(model, y_fit, X_fit, y_test, X_test, columns) -> tuple[float, float]:
    start = time.perf_counter()
    model.fit(y_fit, X_fit[columns] if columns else None)
    seconds = time.perf_counter() - start
    known = [c for c in columns if c not in (model.hist_exog or [])]
    pred = model.predict(X_future=X_test[known] if known else None)
    return float(np.mean(np.abs(pred["forecast"].to_numpy() - y_test.to_numpy()))), seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=500)
    parser.add_argument("--cost-series", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from tsrnn import RNNForecaster

    y, X = make(args.series, args.seed)
    y_fit, X_fit, y_test, X_test = split(y, X)
    runs = {
        "no inputs": ({}, []),
        "promo (known in the future)": ({}, ["promo"]),
        "signal (past-only)": ({"hist_exog": ["signal"]}, ["signal"]),
        "calendar='auto'": ({"calendar": "auto"}, []),
        "all three": ({"hist_exog": ["signal"], "calendar": "auto"}, ["promo", "signal"]),
    }
    print(f"{args.series} daily series, 286 days to fit, 14 to forecast (seed {args.seed})\n")
    print("| inputs | MAE | against no inputs | fit s |")
    print("| --- | --- | --- | --- |")
    base = None
    models = {}
    for label, (params, columns) in runs.items():
        model = RNNForecaster(horizon=HORIZON, random_state=args.seed, interval=None, **params)
        mae, seconds = error(model, y_fit, X_fit, y_test, X_test, columns)
        base = mae if base is None else base
        models[label] = model
        print(f"| {label} | {mae:.2f} | {mae / base:.3f} | {seconds:.0f} |", flush=True)
    model = models["promo (known in the future)"]
    on = model.predict(X_future=X_test[["promo"]].assign(promo=1.0))["forecast"].to_numpy()
    off = model.predict(X_future=X_test[["promo"]].assign(promo=0.0))["forecast"].to_numpy()
    print(f"\nrecovered promotion lift: {np.median(on / off):.3f} (true {LIFT})")

    y, X = make(args.cost_series, args.seed + 1)
    y_fit, X_fit, _, _ = split(y, X)
    print(f"\ncost at {args.cost_series} series (default forecaster, intervals on):\n")
    print("| inputs | fit s |")
    print("| --- | --- |")
    seconds = {}
    for label, params, columns in (("none", {}, None), ("promo, past-only signal, calendar",
                                   {"hist_exog": ["signal"], "calendar": "auto"},
                                   ["promo", "signal"])):  # fmt: skip
        start = time.perf_counter()
        RNNForecaster(horizon=HORIZON, random_state=args.seed, **params).fit(
            y_fit, X_fit[columns] if columns else None
        )
        seconds[label] = time.perf_counter() - start
        print(f"| {label} | {seconds[label]:.0f} |", flush=True)
    ratio = seconds["promo, past-only signal, calendar"] / seconds["none"]
    print(f"\nfit time with inputs / without: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
