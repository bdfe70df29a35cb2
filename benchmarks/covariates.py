"""Covariates on synthetic long data where the truth is known, and what they cost.

Daily sales of ``--series`` items over 300 days (forecast: the last 14):
``sales = level * weekday_shape * lift ** promo + past signal``, where ``promo`` (known in the
future) is on for 15 % of days at random and multiplies sales by ``LIFT``; ``signal`` is a
past-only column that leads the target by one step (its value today moves tomorrow's sales);
the weekday shape is set by the item's ``category`` (one of 5, a static covariate given as
text) and is what ``calendar="auto"`` can read off the stamps. Each kind of input is measured
against the same default model without it (mean absolute error on the last 14 days over all
items), the promotion lift is recovered as the ratio of forecasts with ``promo`` on and off,
and the fit time is compared with and without inputs at ``--cost-series`` series.

New products: ``--series // 5`` more items, never seen in fit, with only their first 14 days
as history (too short to show their weekly shape), are forecast for the next 14 days by the
models fitted with the calendar, with and without the category.

    python benchmarks/covariates.py [--series 500] [--cost-series 10000 (0: skip)] [--seed 0]

No target: the figures are printed as measured.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

LIFT = 1.5
HORIZON = 14


CATEGORIES = ["bakery", "dairy", "drinks", "frozen", "produce"]


def make(n: int, seed: int, days: int = 300, prefix: str = "item"):
    """``y``, ``X`` (promo, signal) and ``static`` (category) of ``n`` items."""
    rng = np.random.default_rng(seed)
    stamps = pd.date_range("2024-01-01", periods=days, freq="D")
    level = rng.uniform(20, 200, size=(n, 1))
    category = rng.integers(0, len(CATEGORIES), n)
    phase = (category / len(CATEGORIES) + rng.normal(0, 0.02, n))[:, None]
    weekday = 1 + 0.3 * np.sin(2 * np.pi * (stamps.day_of_week.to_numpy() / 7 + phase))
    promo = (rng.random((n, days)) < 0.15).astype(float)
    signal = rng.normal(size=(n, days))
    noise = rng.normal(0, 0.03, size=(n, days))
    sales = level * weekday * LIFT**promo * (1 + noise) + 0.2 * level * np.roll(signal, 1, axis=1)
    ids = [f"{prefix}{k}" for k in range(n)]
    index = pd.MultiIndex.from_product([ids, stamps], names=["item", "ds"])
    y = pd.Series(np.maximum(sales, 0.1).ravel(), index=index, name="sales")
    X = pd.DataFrame({"promo": promo.ravel(), "signal": signal.ravel()}, index=index)
    static = pd.DataFrame({"category": np.array(CATEGORIES)[category]}, index=ids)
    return y, X, static


def split(y, X):
    train = y.groupby(level=0).cumcount().to_numpy() < y.groupby(level=0).size().iloc[0] - HORIZON
    return y[train], X[train], y[~train], X[~train]


def error(model, y_fit, X_fit, y_test, X_test, columns, static=None) -> tuple[float, float]:
    start = time.perf_counter()
    model.fit(y_fit, X_fit[columns] if columns else None, static=static)
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

    y, X, static = make(args.series, args.seed)
    y_fit, X_fit, y_test, X_test = split(y, X)
    everything = {"hist_exog": ["signal"], "calendar": "auto"}
    runs = {
        "no inputs": ({}, [], None),
        "promo (known in the future)": ({}, ["promo"], None),
        "signal (past-only)": ({"hist_exog": ["signal"]}, ["signal"], None),
        "calendar='auto'": ({"calendar": "auto"}, [], None),
        "category (static, text)": ({}, [], static),
        "calendar and category": ({"calendar": "auto"}, [], static),
        "all four": (everything, ["promo", "signal"], static),
    }
    print(f"{args.series} daily series, 286 days to fit, 14 to forecast (seed {args.seed})\n")
    print("| inputs | MAE | against no inputs | fit s |")
    print("| --- | --- | --- | --- |")
    base = None
    models = {}
    for label, (params, columns, table) in runs.items():
        model = RNNForecaster(horizon=HORIZON, random_state=args.seed, interval=None, **params)
        mae, seconds = error(model, y_fit, X_fit, y_test, X_test, columns, table)
        base = mae if base is None else base
        models[label] = model
        print(f"| {label} | {mae:.2f} | {mae / base:.3f} | {seconds:.0f} |", flush=True)
    model = models["promo (known in the future)"]
    on = model.predict(X_future=X_test[["promo"]].assign(promo=1.0))["forecast"].to_numpy()
    off = model.predict(X_future=X_test[["promo"]].assign(promo=0.0))["forecast"].to_numpy()
    print(f"\nrecovered promotion lift: {np.median(on / off):.3f} (true {LIFT})")

    y_new, _, static_new = make(max(args.series // 5, 1), args.seed + 2, days=28, prefix="new")
    first = y_new.groupby(level=0).cumcount().to_numpy() < HORIZON
    print(
        f"\nnew products ({len(static_new)} items never seen in fit, {HORIZON} days of history):\n"
    )
    print("| inputs | MAE | against calendar alone |")
    print("| --- | --- | --- |")
    alone = None
    for label in ("calendar='auto'", "calendar and category"):
        given = static_new if models[label].static_names_ else None
        pred = models[label].predict(y=y_new[first], static=given)["forecast"].to_numpy()
        mae = float(np.mean(np.abs(pred - y_new[~first].to_numpy())))
        alone = mae if alone is None else alone
        print(f"| {label} | {mae:.2f} | {mae / alone:.3f} |", flush=True)

    if args.cost_series <= 0:  # the cost is not measured
        return 0
    y, X, static = make(args.cost_series, args.seed + 1)
    y_fit, X_fit, _, _ = split(y, X)
    print(f"\ncost at {args.cost_series} series (default forecaster, intervals on):\n")
    print("| inputs | fit s |")
    print("| --- | --- |")
    seconds = {}
    with_all = "promo, past-only signal, calendar, category"
    for label, params, columns in (("none", {}, None),
                                   (with_all, everything, ["promo", "signal"])):  # fmt: skip
        start = time.perf_counter()
        RNNForecaster(horizon=HORIZON, random_state=args.seed, **params).fit(
            y_fit, X_fit[columns] if columns else None, static=static if columns else None
        )
        seconds[label] = time.perf_counter() - start
        print(f"| {label} | {seconds[label]:.0f} |", flush=True)
    ratio = seconds[with_all] / seconds["none"]
    print(f"\nfit time with inputs / without: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
