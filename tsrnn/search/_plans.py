"""Which fits a search runs next: grid and random candidates, successive halving, Hyperband.

A plan knows nothing of Dask. It hands out :class:`Trial` objects (one fit of one candidate
on one fold, to a budget of epochs) and, told the score of each finished trial, answers with
the trials that follow from it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import ParameterGrid, ParameterSampler
from sklearn.utils import check_random_state

from ..errors import ParameterError

__all__ = ["Bracket", "GridPlan", "HalvingPlan", "Trial", "candidates", "hyperband_brackets"]


@dataclass(frozen=True)
class Trial:
    """One fit: candidate ``candidate`` on fold ``fold``.

    ``steps`` are the epochs of each ``partial_fit`` call from a fresh model up to this trial's
    budget (None: one plain ``fit``); ``rung``'s model continues the previous rung's, whose
    last step is this trial's own.
    """

    candidate: int
    fold: int
    bracket: int = 0
    rung: int = 0
    steps: tuple[int, ...] | None = None

    @property
    def n_epochs(self) -> int | None:
        """Total epochs of the trial's model; None for a plain ``fit``."""
        return None if self.steps is None else sum(self.steps)


def candidates(
    parameters: Mapping | Sequence[Mapping],
    n_iter: int | None,
    random_state: int | np.random.RandomState | None,
) -> list[dict]:
    """The candidates of a search: every grid point, or ``n_iter`` random draws.

    Parameters
    ----------
    parameters : dict or list of dict
        Lists of values (a grid), or, with ``n_iter``, lists and scipy.stats distributions.
    n_iter : int or None
        ``None``: the full grid. An int: that many draws (``ParameterSampler``; without
        replacement when every value is a list).
    random_state : int, RandomState instance or None

    Returns
    -------
    list of dict
    """
    try:
        if n_iter is None:
            return list(ParameterGrid(parameters))
        return list(ParameterSampler(parameters, n_iter, random_state=random_state))
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"parameters must be a dict (or list of dicts) of lists"
            f"{' or distributions' if n_iter is not None else ''}: {exc}"
        ) from None


class GridPlan:
    """Every candidate on every fold, all at once (grid and random search)."""

    def __init__(self, n_candidates: int, n_folds: int) -> None:
        self.n_candidates, self.n_folds = n_candidates, n_folds

    @property
    def total(self) -> int:
        """Number of fits the plan will run."""
        return self.n_candidates * self.n_folds

    def initial(self) -> list[Trial]:
        return [Trial(c, f) for c in range(self.n_candidates) for f in range(self.n_folds)]

    def tell(self, trial: Trial, score: float) -> list[Trial]:
        return []


@dataclass
class Bracket:
    """One successive-halving bracket: its candidates, the budget and survivors of each rung.

    Attributes
    ----------
    candidates : list of int
    budgets : list of int
        Total epochs of each rung, increasing, the last one ``max_epochs``.
    keep : list of int
        Candidates trained at each rung (``keep[0] == len(candidates)``).
    """

    candidates: list[int]
    budgets: list[int]
    keep: list[int]
    scores: list[dict[int, dict[int, float]]] = field(default_factory=list)

    def steps(self, rung: int) -> tuple[int, ...]:
        """Epochs of each ``partial_fit`` call from a fresh model to rung ``rung``'s budget."""
        edges = [0, *self.budgets[: rung + 1]]
        return tuple(b - a for a, b in itertools.pairwise(edges))


def hyperband_brackets(
    n_candidates: int,
    min_epochs: int,
    max_epochs: int,
    factor: int,
    n_brackets: int | None,
    random_state: int | np.random.RandomState | None = None,
) -> list[Bracket]:
    """Share ``n_candidates`` among Hyperband brackets.

    With ``s_max = floor(log_factor(max_epochs / min_epochs))``, bracket ``s`` (``s_max`` down
    to 0) starts its candidates at ``max_epochs / factor**s`` epochs and keeps the best
    ``1/factor`` at each of its ``s + 1`` rungs. Brackets that start later give slow starters a
    longer first rung. The candidates are shared in proportion to Hyperband's
    ``ceil((s_max + 1) / (s + 1) * factor**s)``, in a random order (so that a grid sorted by
    one parameter does not put all its small values in one bracket).

    Parameters
    ----------
    n_candidates, min_epochs, max_epochs, factor : int
    n_brackets : int or None
        Brackets to run, from the most aggressive; ``None``: all ``s_max + 1``; ``1``: plain
        successive halving from ``min_epochs``.
    random_state : int, RandomState instance or None
        Seeds the order in which candidates are dealt to brackets.

    Returns
    -------
    list of Bracket
        Brackets that received at least one candidate.
    """
    s_max = math.floor(math.log(max_epochs / min_epochs, factor) + 1e-9)
    count = s_max + 1 if n_brackets is None else min(n_brackets, s_max + 1)
    shapes = list(range(s_max, s_max - count, -1))
    weights = [math.ceil((s_max + 1) / (s + 1) * factor**s) for s in shapes]
    shares = _largest_remainder(n_candidates, weights)
    order = check_random_state(random_state).permutation(n_candidates).tolist()
    brackets, start = [], 0
    for s, share in zip(shapes, shares, strict=True):
        if share == 0:
            continue
        budgets = [max(min_epochs, round(max_epochs / factor ** (s - i))) for i in range(s + 1)]
        budgets = sorted(set(budgets))
        keep = [share]
        for _ in budgets[1:]:
            keep.append(max(1, keep[-1] // factor))
        members = sorted(order[start : start + share])
        brackets.append(Bracket(members, budgets, keep, [{} for _ in budgets]))
        start += share
    return brackets


class HalvingPlan:
    """Successive halving in each of several brackets, rungs synchronised within a bracket."""

    def __init__(self, brackets: list[Bracket], n_folds: int) -> None:
        self.brackets, self.n_folds = brackets, n_folds

    @property
    def total(self) -> int:
        return sum(sum(b.keep) for b in self.brackets) * self.n_folds

    def initial(self) -> list[Trial]:
        return [
            Trial(c, f, i, 0, b.steps(0))
            for i, b in enumerate(self.brackets)
            for c in b.candidates
            for f in range(self.n_folds)
        ]

    def tell(self, trial: Trial, score: float) -> list[Trial]:
        """Record a score; when its rung is complete, return the next rung's trials."""
        bracket = self.brackets[trial.bracket]
        rung = bracket.scores[trial.rung]
        rung.setdefault(trial.candidate, {})[trial.fold] = score
        done = sum(len(folds) for folds in rung.values())
        if done < bracket.keep[trial.rung] * self.n_folds or trial.rung + 1 == len(bracket.keep):
            return []
        ranked = self.ranked(trial.bracket, trial.rung)
        finite = [c for c in ranked if not math.isnan(_mean(rung[c].values()))]
        survivors = finite[: bracket.keep[trial.rung + 1]]
        # Failed candidates are never promoted: later rungs shrink (and total with them).
        for later in range(trial.rung + 1, len(bracket.keep)):
            bracket.keep[later] = min(bracket.keep[later], len(survivors))
        steps = bracket.steps(trial.rung + 1)
        return [
            Trial(c, f, trial.bracket, trial.rung + 1, steps)
            for c in survivors
            for f in range(self.n_folds)
        ]

    def ranked(self, bracket: int, rung: int) -> list[int]:
        """Candidates of a rung, best mean score first (failed ones last, stable order)."""
        scores = self.brackets[bracket].scores[rung]
        means = {c: _mean(folds.values()) for c, folds in scores.items()}
        return sorted(means, key=lambda c: (math.isnan(means[c]), -np.nan_to_num(means[c])))


def _mean(values) -> float:
    values = list(values)
    return math.nan if any(math.isnan(v) for v in values) else float(np.mean(values))


def _largest_remainder(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` into integers that sum to ``total``."""
    exact = [total * w / sum(weights) for w in weights]
    shares = [math.floor(e) for e in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: shares[i] - exact[i])
    for i in by_remainder[: total - sum(shares)]:
        shares[i] += 1
    return shares
