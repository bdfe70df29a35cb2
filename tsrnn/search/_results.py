"""``cv_results_`` of a search, with scikit-learn's names, from the records of its fits."""

from __future__ import annotations

from collections import defaultdict
from functools import partial
from typing import Any

import numpy as np
from numpy.ma import MaskedArray

from ._plans import HalvingPlan, Trial

__all__ = ["cv_results", "order", "result_rows"]


def order(trial: Trial) -> tuple:
    return (trial.bracket, trial.rung, trial.candidate, trial.fold)


def result_rows(records: dict[Trial, dict], plan: Any) -> list[tuple[int, int, int]]:
    """The rows of cv_results_: (candidate, bracket, rung), in candidate (then rung) order."""
    rows = {(t.candidate, t.bracket, t.rung) for t in records}
    return sorted(rows, key=lambda r: (r[1], r[2], r[0]) if isinstance(plan, HalvingPlan) else r)


def cv_results(
    rows: list[tuple[int, int, int]],
    cands: list[dict],
    records: dict[Trial, dict],
    n_folds: int,
    plan: Any,
    return_train_score: bool,
) -> dict[str, Any]:
    by_row: dict[tuple, dict[int, dict]] = defaultdict(dict)
    for trial, record in records.items():
        by_row[(trial.candidate, trial.bracket, trial.rung)][trial.fold] = record
    n = len(rows)
    results: dict[str, Any] = {}

    def column(name: str) -> np.ndarray:
        return np.array(
            [[by_row[row].get(f, {}).get(name, np.nan) for f in range(n_folds)] for row in rows],
            dtype=float,
        )

    for name, key in (("fit_time", "fit_time"), ("score_time", "score_time")):
        values = column(key)
        results[f"mean_{name}"] = np.nanmean(values, axis=1) if n else np.zeros(0)
        results[f"std_{name}"] = np.nanstd(values, axis=1) if n else np.zeros(0)
    params = [cands[row[0]] for row in rows]
    param_columns: dict[str, MaskedArray] = defaultdict(
        partial(MaskedArray, np.empty(n), mask=True, dtype=object)
    )
    for i, p in enumerate(params):
        for name, value in p.items():
            param_columns[f"param_{name}"][i] = value
    results.update(param_columns)
    results["params"] = params
    halving = isinstance(plan, HalvingPlan)
    budgets = np.zeros(n)
    if halving:
        results["iter"] = np.array([row[2] for row in rows])
        budgets = np.array([plan.brackets[row[1]].budgets[row[2]] for row in rows])
        results["n_resources"] = budgets.astype(int)
        results["bracket"] = np.array([row[1] for row in rows])
    sets = ("test", "train") if return_train_score else ("test",)
    for which in sets:
        scores = column(f"{which}_score")
        for f in range(n_folds):
            results[f"split{f}_{which}_score"] = scores[:, f]
        means = scores.mean(axis=1)
        results[f"mean_{which}_score"] = means
        results[f"std_{which}_score"] = scores.std(axis=1)
        results[f"rank_{which}_score"] = _rank(means, budgets)
    return results


def _rank(means: np.ndarray, budgets: np.ndarray) -> np.ndarray:
    """Rank 1 = best: by budget (longer first), then by mean score; NaN scores rank last."""
    if np.isnan(means).all():
        return np.ones(len(means), dtype=np.int32)
    filled = np.nan_to_num(means, nan=np.nanmin(means) - 1)
    order = np.lexsort((-filled, -budgets))
    ranks = np.empty(len(means), dtype=np.int32)
    previous, rank = None, 0
    for position, i in enumerate(order):
        if (budgets[i], filled[i]) != previous:
            previous, rank = (budgets[i], filled[i]), position + 1
        ranks[i] = rank
    return ranks
