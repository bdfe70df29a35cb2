"""``SearchCV``: the estimator in front of the search (see the package docstring)."""

from __future__ import annotations

import time
import warnings
from collections import defaultdict
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils import indexable
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
)
from sklearn.utils.validation import check_is_fitted

from ..errors import ParameterError, SearchError, check_params
from ._journal import fingerprint
from ._origins import METRICS, BacktestScorer, RollingOrigin
from ._plans import GridPlan, HalvingPlan, Trial, candidates, hyperband_brackets
from ._results import cv_results, order, result_rows
from ._runner import Runner
from ._tasks import Payload, train_steps

__all__ = ["RollingOrigin", "SearchCV"]


class SearchCV(MetaEstimatorMixin, BaseEstimator):
    """Search hyperparameters by cross-validation, one Dask task per (candidate, fold).

    The data are scattered to the cluster once; each task clones the estimator, sets one
    candidate's parameters, fits on a fold's training part and scores its test part. Without
    a client, a local cluster of worker processes (one thread each, one per core) is started
    for the search and closed after it.

    Parameters
    ----------
    estimator : estimator
        Any scikit-learn compatible estimator, e.g. :class:`~tsrnn.RNNRegressor`, a
        ``Pipeline`` ending in one, or :class:`~tsrnn.RNNForecaster` with ``cv=RollingOrigin``.
    parameters : dict or list of dict
        Parameter names (``hidden_size``, or ``step__param`` in a pipeline) to lists of values;
        with ``n_iter``, lists or scipy.stats distributions.
    strategy : {"grid", "random", "halving"}, default="grid"
        ``"grid"``: every combination. ``"random"``: ``n_iter`` draws (10 by default).
        ``"halving"``: successive halving with epochs as the budget, in Hyperband brackets:
        the candidates (the grid, or ``n_iter`` draws) are dealt to brackets that start at
        ``max_epochs / factor**s`` epochs; each rung keeps the best ``1 / factor`` and trains
        them further by ``partial_fit`` (on the workers, continuing their models), or, for an
        estimator without it but with an ``epochs`` parameter (``RNNForecaster``), refits them
        with ``factor`` times more epochs.
    n_iter : int or None, default=None
        Candidates drawn at random (``"random"``, or ``"halving"`` from distributions).
    scoring : str, callable or None, default=None
        As in scikit-learn (``None``: the estimator's ``score``). For a forecaster search
        (``cv=RollingOrigin``): one of ``"mae"``, ``"rmse"``, ``"smape"``, ``"mase"`` (default
        ``"mae"``), reported negated so that greater is better.
    cv : int, cross-validation generator, iterable, RollingOrigin or None, default=None
        As in scikit-learn (``None``: 5-fold); use ``TimeSeriesSplit`` for windows in time
        order. ``RollingOrigin`` searches a forecaster on backtest origins.
    refit : bool, default=True
        Refit the best candidate on all the data, in this process, as ``best_estimator_``.
    error_score : float or "raise", default=np.nan
        Score given to a fit that raises or diverges (a warning names the candidate); the
        search goes on. ``"raise"`` stops the search with the fit's exception.
    return_train_score : bool, default=False
        Also score each fit on its training part.
    min_epochs : int, default=1
        ``"halving"``: fewest epochs of the first rung of the most aggressive bracket.
    max_epochs : int or None, default=None
        ``"halving"``: epochs of the last rung; ``None`` takes the estimator's ``epochs``.
    factor : int, default=3
        ``"halving"``: each rung keeps ``1 / factor`` of its candidates and trains
        ``factor`` times longer.
    n_brackets : int or None, default=None
        ``"halving"``: Hyperband brackets, from the most aggressive; ``None``: all of them;
        ``1``: plain successive halving from ``min_epochs`` (which can drop a slow starter
        that would have won).
    client : None, str or distributed.Client, default=None
        ``None``: the scheduler named by ``DASK_SCHEDULER_ADDRESS`` if set, else a new local
        cluster (see :func:`tsrnn.cluster.local_cluster`). A string is a scheduler address;
        a ``Client`` is used as given and left open.
    n_workers : int or None, default=None
        Worker processes of the local cluster; ``None``: one per core.
    resources : "auto" or dict, default="auto"
        Dask resources each fit asks for. ``"auto"``: ``{"GPU": 1}`` when the estimator trains on
        CUDA on the workers (``device="cuda"``, or ``"auto"`` on workers that declare a GPU or
        see one), so each GPU trains one model at a time; else none. A request that no worker
        declares fails at once with :class:`~tsrnn.errors.SearchError`.
    journal : str, PathLike or None, default=None
        A JSON-lines file: each finished fit is appended as it completes, and a rerun of the
        same search (same estimator, data, folds and scoring) skips the fits found there.
    random_state : int, RandomState instance or None, default=None
        Seeds the random draws and the dealing of candidates to brackets.
    verbose : int, default=1
        ``1``: a progress bar (finished / total fits, best score so far) and the dashboard
        address on stderr; ``0``: silent.

    Attributes
    ----------
    cv_results_ : dict of ndarray
        One entry per candidate (per candidate and rung for ``"halving"``): ``params``,
        ``param_<name>``, ``split<i>_test_score``, ``mean_test_score``, ``std_test_score``,
        ``rank_test_score``, ``mean_fit_time``, ``std_fit_time``, ``mean_score_time``,
        ``std_score_time`` (and train scores); ``"halving"`` adds ``iter`` (rung),
        ``n_resources`` (epochs) and ``bracket``, and ranks longer-trained rows first.
    best_index_ : int
    best_params_ : dict
    best_score_ : float
    best_estimator_ : estimator
        Refit on all the data (``refit=True``).
    refit_time_ : float
    scorer_ : callable
    n_splits_ : int
    n_candidates_ : int
    fits_ : list of dict
        Every fit's record: ``candidate``, ``fold``, ``n_epochs``, ``test_score``, ``fit_time``,
        ``error``, ``worker``, ``pid``, ``torch_threads``, ``device``, ``task`` (the Dask key),
        ``journal`` (True when read from the journal).
    n_resubmitted_ : int
        Fits run again because their data went with a lost worker.
    dashboard_link_ : str or None
        The Dask dashboard of the cluster used (None when every fit came from the journal).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import TimeSeriesSplit
    >>> from tsrnn import RNNRegressor, SearchCV, make_windows
    >>> X, y = make_windows(np.sin(np.arange(200) / 6), lookback=8)
    >>> search = SearchCV(RNNRegressor(epochs=2, hidden_size=4), {"learning_rate": [1e-3, 1e-2]},
    ...                   cv=TimeSeriesSplit(2), n_workers=2, verbose=0)  # doctest: +SKIP
    >>> search.fit(X, y).best_params_  # doctest: +SKIP
    {'learning_rate': 0.01}
    """

    _parameter_constraints: ClassVar[dict] = {
        "estimator": [HasMethods(["fit"])],
        "parameters": [dict, list],
        "strategy": [StrOptions({"grid", "random", "halving"})],
        "n_iter": [Interval(Integral, 1, None, closed="left"), None],
        "scoring": "no_validation",
        "cv": "no_validation",
        "refit": ["boolean"],
        "error_score": [StrOptions({"raise"}), Real],
        "return_train_score": ["boolean"],
        "min_epochs": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left"), None],
        "factor": [Interval(Integral, 2, None, closed="left")],
        "n_brackets": [Interval(Integral, 1, None, closed="left"), None],
        "client": "no_validation",
        "n_workers": [Interval(Integral, 1, None, closed="left"), None],
        "resources": [StrOptions({"auto"}), dict],
        "journal": "no_validation",
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        estimator: Any,
        parameters: dict | list[dict],
        *,
        strategy: str = "grid",
        n_iter: int | None = None,
        scoring: Any = None,
        cv: Any = None,
        refit: bool = True,
        error_score: float | str = np.nan,
        return_train_score: bool = False,
        min_epochs: int = 1,
        max_epochs: int | None = None,
        factor: int = 3,
        n_brackets: int | None = None,
        client: Any = None,
        n_workers: int | None = None,
        resources: str | dict = "auto",
        journal: Any = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 1,
    ) -> None:
        self.estimator = estimator
        self.parameters = parameters
        self.strategy = strategy
        self.n_iter = n_iter
        self.scoring = scoring
        self.cv = cv
        self.refit = refit
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.min_epochs = min_epochs
        self.max_epochs = max_epochs
        self.factor = factor
        self.n_brackets = n_brackets
        self.client = client
        self.n_workers = n_workers
        self.resources = resources
        self.journal = journal
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit

    def fit(self, X: Any, y: Any = None, *, groups: Any = None) -> SearchCV:
        """Run the search, then refit the best candidate.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            The inputs, e.g. windows of shape (n_samples, n_steps) or (n_samples, n_steps,
            n_channels). For a forecaster search (``cv=RollingOrigin``): the series ``y`` of
            ``RNNForecaster.fit``.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), or None
            The targets. For a forecaster search: the exogenous frame ``X`` of
            ``RNNForecaster.fit``, or None.
        groups : array-like of shape (n_samples,) or None, default=None
            Group labels for a group-aware ``cv``.

        Returns
        -------
        self : SearchCV

        Raises
        ------
        SearchError
            If no worker can run the fits, the scheduler is unreachable, or every fit failed.
        """
        self._check_params()
        forecasting = isinstance(self.cv, RollingOrigin)
        payload, scoring_id = self._payload(X, y, groups, forecasting)
        cands = candidates(
            self.parameters,
            10 if self.strategy == "random" and self.n_iter is None else self.n_iter,
            self.random_state,
        )
        if not cands:
            raise ParameterError("parameters describe no candidate: give at least one value.")
        plan = self._plan(len(cands), len(payload.splits), forecasting)
        search_id = fingerprint(
            clone(self.estimator), X, y, payload.splits, scoring_id, type(plan).__name__
        )
        runner = Runner(
            payload,
            cands,
            plan,
            search_id,
            journal=self.journal,
            client=self.client,
            n_workers=self.n_workers,
            resources=self.resources,
            error_score=self.error_score,
            verbose=self.verbose,
        )
        records = runner.run()
        self.dashboard_link_ = runner.dashboard_link
        self.n_resubmitted_ = runner.n_resubmitted
        self.scorer_ = payload.scorer
        self.n_splits_ = len(payload.splits)
        self.n_candidates_ = len(cands)
        self.fits_ = [
            {"candidate": t.candidate, "fold": t.fold, "n_epochs": t.n_epochs, **r}
            for t, r in sorted(records.items(), key=lambda item: order(item[0]))
        ]
        self._warn_failures(cands, records)
        rows = result_rows(records, plan)
        self.cv_results_ = cv_results(
            rows, cands, records, self.n_splits_, plan, self.return_train_score
        )
        self.best_index_ = int(np.argmin(self.cv_results_["rank_test_score"]))
        self.best_params_ = self.cv_results_["params"][self.best_index_]
        self.best_score_ = float(self.cv_results_["mean_test_score"][self.best_index_])
        if self.refit:
            start = time.perf_counter()
            self.best_estimator_ = self._refit(X, y, rows[self.best_index_], plan, forecasting)
            self.refit_time_ = time.perf_counter() - start
        return self

    # ------------------------------------------------------------------ delegation

    def predict(self, *args: Any, **kwargs: Any) -> Any:
        """``best_estimator_.predict``: ``predict(X)``; for a forecaster ``predict(horizon)``."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict(*args, **kwargs)

    def score(self, X: Any, y: Any = None) -> float:
        """The search's scorer applied to ``best_estimator_`` on ``(X, y)`` (not for forecasters).

        Raises
        ------
        ParameterError
            For a forecaster search: score a forecaster with :func:`tsrnn.backtest`.
        """
        check_is_fitted(self, "best_estimator_")
        if isinstance(self.scorer_, BacktestScorer):
            raise ParameterError(
                "score() needs windows X and targets y; a forecaster is scored by refitting: "
                "use tsrnn.backtest(search.best_estimator_, y, horizon)."
            )
        return float(self.scorer_(self.best_estimator_, X, y))

    def __sklearn_clone__(self) -> SearchCV:
        """Clone every parameter but ``client``: a connection is shared, not copied."""
        params = self.get_params(deep=False)
        client = params.pop("client")
        params = {name: clone(value, safe=False) for name, value in params.items()}
        return type(self)(**params, client=client)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        sub = self.estimator.__sklearn_tags__()
        tags.estimator_type = sub.estimator_type
        tags.input_tags = sub.input_tags
        tags.target_tags = sub.target_tags
        tags.non_deterministic = True
        return tags

    # ------------------------------------------------------------------ internals

    def _check_params(self) -> None:
        check_params(self)
        if self.strategy == "grid" and self.n_iter is not None:
            raise ParameterError(
                f"n_iter={self.n_iter} draws random candidates: use strategy='random' (or "
                "'halving'), or leave n_iter=None for the full grid."
            )
        if self.strategy == "halving":
            _budget(self.estimator)  # raises if epochs cannot be spent step by step

    def _payload(self, X: Any, y: Any, groups: Any, forecasting: bool) -> tuple[Payload, Any]:
        if forecasting:
            metric = "mae" if self.scoring is None else self.scoring
            if metric not in METRICS:
                raise ParameterError(
                    f"A forecaster search (cv=RollingOrigin) scores one of {METRICS}; got "
                    f"scoring={self.scoring!r}."
                )
            splits = [(cut, None) for cut in self.cv.cuts()]
            scorer = BacktestScorer(metric, self.cv.horizon, self.cv.season_length)
            payload = Payload(
                self.estimator, X, y, splits, scorer, forecaster=True, budget=self._budget_mode()
            )
            return payload, (metric, repr(self.cv))
        X, y, groups = indexable(X, y, groups)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = [(np.asarray(tr), np.asarray(te)) for tr, te in cv.split(X, y, groups)]
        scorer = check_scoring(self.estimator, self.scoring)
        payload = Payload(
            self.estimator,
            X,
            y,
            splits,
            scorer,
            return_train_score=self.return_train_score,
            budget=self._budget_mode(),
        )
        return payload, self.scoring

    def _plan(self, n_candidates: int, n_folds: int, forecasting: bool) -> Any:
        if self.strategy != "halving":
            return GridPlan(n_candidates, n_folds)
        max_epochs = self.max_epochs or _estimator_epochs(self.estimator)
        if max_epochs is None or max_epochs < self.min_epochs:
            raise ParameterError(
                f"strategy='halving' needs max_epochs >= min_epochs={self.min_epochs}; got "
                f"max_epochs={max_epochs}: set max_epochs (or the estimator's epochs)."
            )
        brackets = hyperband_brackets(
            n_candidates,
            self.min_epochs,
            max_epochs,
            self.factor,
            self.n_brackets,
            self.random_state,
        )
        return HalvingPlan(brackets, n_folds)

    def _budget_mode(self) -> str:
        return _budget(self.estimator) if self.strategy == "halving" else "partial_fit"

    def _refit(self, X: Any, y: Any, row: tuple, plan: Any, forecasting: bool) -> Any:
        _, bracket, rung = row
        model = clone(self.estimator).set_params(**self.best_params_)
        if isinstance(plan, HalvingPlan):
            steps = plan.brackets[bracket].steps(rung)
            budget = _budget(self.estimator)
            if budget == "partial_fit":
                return train_steps(model, X, y, steps, False)
            model.set_params(**{budget: sum(steps)})
        if forecasting:
            return model.fit(X, y) if y is not None else model.fit(X)
        return model.fit(X, y)

    def _warn_failures(self, cands: list[dict], records: dict[Trial, dict]) -> None:
        failed: dict[int, list[tuple[Trial, str]]] = defaultdict(list)
        for trial, record in records.items():
            if record["error"] is not None:
                failed[trial.candidate].append((trial, record["error"]))
        if failed and len(failed) == len(cands):
            first = next(iter(failed.values()))[0][1]
            raise SearchError(
                f"All {len(records)} fits of the {len(cands)} candidates failed; the first "
                f"error: {first}"
            )
        for candidate, errors in sorted(failed.items()):
            folds = sorted({t.fold for t, _ in errors})
            warnings.warn(
                f"Candidate {candidate} {cands[candidate]} failed on fold(s) {folds}: "
                f"{errors[0][1]}. Its score is error_score={self.error_score}.",
                FitFailedWarning,
                stacklevel=3,
            )


def _estimator_epochs(estimator: Any) -> int | None:
    params = estimator.get_params(deep=True)
    if "epochs" in params:
        return params["epochs"]
    if isinstance(estimator, Pipeline):
        return params.get(f"{estimator.steps[-1][0]}__epochs")
    return None


def _budget(estimator: Any) -> str:
    """How halving spends epochs on ``estimator``: ``"partial_fit"`` or its epochs parameter."""
    final = estimator[-1] if isinstance(estimator, Pipeline) else estimator
    if hasattr(final, "partial_fit"):
        return "partial_fit"
    params = estimator.get_params(deep=True)
    for name in ("epochs", f"{estimator.steps[-1][0]}__epochs" if final is not estimator else ""):
        if name in params:
            return name
    raise ParameterError(
        f"strategy='halving' spends epochs, by partial_fit or an epochs parameter, and "
        f"{type(final).__name__} has neither: use strategy='grid' or 'random'."
    )
