"""The orchestrator of a search: submit fits to Dask, collect them, keep the journal and bar.

It scatters the shared data once, submits one task per (candidate, fold[, rung]) through
distributed futures, consumes them with ``as_completed``, and asks the plan what comes next.
Worker loss is Dask's to repair (a task running on a dead worker is rescheduled); data lost
with a worker is scattered again and the fits that needed it resubmitted. A fit that raises
or diverges is a result, recorded and never retried.
"""

from __future__ import annotations

import contextlib
import math
import uuid
from collections import defaultdict, deque
from typing import Any

import dask
import numpy as np
from distributed import Client, Future, as_completed
from distributed.scheduler import KilledWorker

from .._dask.connect import Watchdog, connect, unsatisfiable, wants_cuda
from .._train.progress import Progress, log_event
from ..errors import SearchError
from ._journal import Journal, trial_key
from ._plans import HalvingPlan, Trial
from ._tasks import Payload, fit_and_score, fit_record, record_of

__all__ = ["Runner", "default_resources"]

_MAX_RESUBMITS = 3  # per fit, for data lost with a worker


class Runner:
    """Run a plan of fits on a Dask cluster and return every fit's record.

    Parameters
    ----------
    payload : Payload
        Data, folds, estimator and scorer, scattered once.
    candidates : list of dict
    plan : GridPlan or HalvingPlan
    search_id : str
        Fingerprint of the search; with the parameters, fold and budget it keys the journal.
    journal : str, PathLike or None
    client : None, str or distributed.Client
        ``None``: the scheduler of ``DASK_SCHEDULER_ADDRESS`` (dask config
        ``scheduler-address``) if set, else a new local cluster of ``n_workers`` processes.
    n_workers : int or None
    resources : "auto" or dict
    error_score : float or "raise"
    verbose : int
    """

    def __init__(
        self,
        payload: Payload,
        candidates: list[dict],
        plan: Any,
        search_id: str,
        *,
        journal: Any,
        client: Any,
        n_workers: int | None,
        resources: str | dict,
        error_score: Any,
        verbose: int,
    ) -> None:
        self.payload, self.candidates, self.plan = payload, candidates, plan
        self.search_id = search_id
        self.journal = None if journal is None else Journal(journal)
        self.client_spec, self.n_workers = client, n_workers
        self.resources_spec = resources
        self.error_score, self.catch = (
            error_score,
            not (isinstance(error_score, str) and error_score == "raise"),
        )
        self.verbose = verbose
        self.records: dict[Trial, dict] = {}
        self.dashboard_link: str | None = None
        self.resources: dict[str, float] = {}
        self.n_resubmitted = 0
        self.token = uuid.uuid4().hex[:8]  # in every task key of this search
        self._client: Client | None = None
        self._data: Future | None = None
        self._futures: dict[Future, Trial] = {}
        self._models: dict[tuple[int, int], Future] = {}
        self._pending_models: dict[Trial, Future] = {}
        self._retries: dict[Trial, int] = defaultdict(int)
        self._fatal: SearchError | None = None
        self._ac: as_completed | None = None  # made once a client exists
        self._folds_done: dict[tuple, list[dict]] = defaultdict(list)  # (candidate, epochs)

    # ------------------------------------------------------------------ main loop

    def run(self) -> dict[Trial, dict]:
        """Run every fit of the plan (skipping those in the journal); return their records."""
        done = self.journal.load() if self.journal is not None else {}
        with contextlib.ExitStack() as stack:
            self._stack = stack
            bar = stack.enter_context(Progress(self.verbose, self.plan.total, "search", "fits"))
            self._bar = bar
            queue = deque(self.plan.initial())
            while queue or self._futures:
                while queue:
                    trial = queue.popleft()
                    entry = done.get(self._key(trial))
                    if entry is not None:
                        queue.extend(self._finish(trial, Journal.record(entry), journaled=True))
                    else:
                        self._submit(trial)
                if not self._futures:
                    break
                future = next(self._ac)
                trial = self._futures.pop(future)
                record = self._collect(future, trial)
                if record is not None:
                    queue.extend(self._finish(trial, record))
        return self.records

    def _submit(self, trial: Trial) -> None:
        client = self._connect()
        if self._data is None or self._data.status in ("cancelled", "lost", "error"):
            [self._data] = client.scatter([self.payload], broadcast=False, hash=False)
        params = self.candidates[trial.candidate]
        previous = self._models.get((trial.candidate, trial.fold)) if trial.rung else None
        steps = trial.steps
        if previous is not None:
            steps = steps[-1:]  # continue the previous rung's model
        halving = trial.steps is not None and self.payload.budget == "partial_fit"
        attempt = self._retries[trial]
        name = f"tsrnn-fit-{self.token}-c{trial.candidate}-f{trial.fold}-r{trial.rung}-a{attempt}"
        future = client.submit(
            fit_and_score,
            self._data,
            params,
            trial.fold,
            steps,
            previous,
            keep_model=halving,
            catch=self.catch,
            key=name,
            resources=self.resources or None,
            priority=self._priority(trial),
            pure=False,
        )
        if halving:  # the model stays on the worker; only the record comes back
            self._pending_models[trial] = future
            # Same resources as the fit: a model on CUDA must not land on a CPU-only worker.
            future = client.submit(
                record_of,
                future,
                key=f"{name}-record",
                resources=self.resources or None,
                pure=False,
            )
        self._futures[future] = trial
        self._ac.add(future)

    def _collect(self, future: Future, trial: Trial) -> dict | None:
        """The record of a finished future, or None when the fit was resubmitted."""
        if future.status == "finished":
            return {**future.result(), "task": str(future.key).removesuffix("-record")}
        if self._fatal is not None:
            raise self._fatal
        if future.status == "error":
            exc = future.exception()
            if not self.catch and not isinstance(exc, KilledWorker):
                future.result()  # raises the fit's own exception, with its traceback
            if isinstance(exc, KilledWorker):
                message = (
                    "KilledWorker: the workers running this fit died "
                    f"{dask.config.get('distributed.scheduler.allowed-failures') + 1} times "
                    "(out of memory, or a crash in native code?)"
                )
            else:
                message = f"{type(exc).__name__}: {exc}"
            return fit_record(error=message)
        # cancelled or lost: the data or the previous rung's model went with a worker
        self._pending_models.pop(trial, None)
        self._models.pop((trial.candidate, trial.fold), None)
        self._retries[trial] += 1
        if self._retries[trial] > _MAX_RESUBMITS:
            lost = _MAX_RESUBMITS + 1
            return fit_record(
                error=f"LostData: this fit's inputs were lost with a worker {lost} times"
            )
        self.n_resubmitted += 1
        self._submit(trial)
        return None

    def _finish(self, trial: Trial, record: dict, journaled: bool = False) -> list[Trial]:
        """Store a record, journal it, advance the bar, and return the trials that follow."""
        if record["error"] is not None and self.catch:
            record["test_score"] = self.error_score
            if record.get("train_score") is not None or self.payload.return_train_score:
                record["train_score"] = self.error_score
        self.records[trial] = record
        params = self.candidates[trial.candidate]
        self._log_candidate(trial, record)
        if self.journal is not None and not journaled:
            self.journal.append(self._key(trial), params, trial.fold, trial.n_epochs, record)
        model = self._pending_models.pop(trial, None)
        if model is not None and record["error"] is None:
            self._models[(trial.candidate, trial.fold)] = model
        score = math.nan if record["error"] is not None else float(record["test_score"])
        following = self.plan.tell(trial, score)
        if isinstance(self.plan, HalvingPlan):
            self._release_models(trial, following)
            self._bar.total(self.plan.total)
        self._bar.advance(self._best_so_far())
        return following

    # ------------------------------------------------------------------ cluster

    def _connect(self) -> Client:
        if self._client is not None:
            return self._client
        connection = connect(
            self.client_spec, n_workers=self.n_workers, stack=self._stack, error=SearchError
        )
        client = connection.client
        self.resources = self._resolve_resources(client, connection.facts)
        self.dashboard_link = client.dashboard_link
        self._bar.note(f"Dask dashboard: {self.dashboard_link}")
        n_workers = len(client.scheduler_info(n_workers=-1)["workers"])
        log_event(
            "cluster",
            f"{n_workers} Dask worker(s); dashboard: {self.dashboard_link}",
            workers=n_workers,
            dashboard=self.dashboard_link,
        )
        if self.resources:
            self._stack.enter_context(Watchdog(client, lambda: self.resources, self._give_up))
        self._ac = as_completed(loop=client.loop)
        self._client = client
        return client

    def _give_up(self, message: str) -> None:
        """The watchdog's verdict: no worker can take the fits any more."""
        self._fatal = SearchError(message)
        self._client.cancel(list(self._futures.copy()))

    def _resolve_resources(self, client: Client, facts: dict) -> dict[str, float]:
        if isinstance(self.resources_spec, dict):
            resources = dict(self.resources_spec)
        else:
            workers = client.scheduler_info(n_workers=-1)["workers"].values()
            resources = default_resources(
                self.payload.estimator,
                self.candidates,
                gpu_declared=any(w.get("resources", {}).get("GPU", 0) >= 1 for w in workers),
                cuda_on_workers=any(f["cuda"] for f in facts.values()),
            )
        problem = unsatisfiable(client, resources)
        if problem:
            raise SearchError(problem)
        return resources

    # ------------------------------------------------------------------ bookkeeping

    def _key(self, trial: Trial) -> str:
        return trial_key(
            self.search_id, self.candidates[trial.candidate], trial.fold, trial.n_epochs
        )

    def _priority(self, trial: Trial) -> int:
        """Largest folds first (Dask runs higher priorities first): a shorter tail at the end.

        Later rungs of a bracket go before new first rungs, so that brackets finish in turn.
        """
        train = self.payload.splits[trial.fold][0]
        size = -int(train) if self.payload.forecaster else len(train)
        return trial.rung * 10**9 + size

    def _release_models(self, trial: Trial, following: list[Trial]) -> None:
        """Drop the models of candidates that a completed rung did not promote."""
        bracket = self.plan.brackets[trial.bracket]
        last = trial.rung + 1 == len(bracket.budgets)
        if not following and not last:
            return  # the rung is not complete yet
        promoted = {t.candidate for t in following}
        for candidate in bracket.scores[trial.rung]:
            if candidate not in promoted:
                for fold in range(self.plan.n_folds):
                    self._models.pop((candidate, fold), None)

    def _log_candidate(self, trial: Trial, record: dict) -> None:
        """Log a candidate (at a rung's epochs) once all its folds are done: its parameters
        and mean test score (greater is better, as in ``cv_results_``)."""
        done = self._folds_done[(trial.candidate, trial.n_epochs)]
        done.append(record)
        if len(done) != len(self.payload.splits):
            return
        score = float(np.mean([r["test_score"] for r in done]))
        params = {k: _plain(v) for k, v in self.candidates[trial.candidate].items()}
        shown = ", ".join(f"{k}={_short(v)}" for k, v in params.items())
        fields: dict[str, Any] = {
            "candidate": trial.candidate + 1,
            "candidates": len(self.candidates),
            "params": params,
            "score": score,
            "fits": len(done),
            "failed": sum(r["error"] is not None for r in done),
            "fit_seconds": round(float(np.nansum([r["fit_time"] for r in done])), 3),
        }
        if trial.n_epochs is not None:
            fields["epochs"] = trial.n_epochs
        log_event("candidate", f"candidate {trial.candidate + 1}: {score:.4g} ({shown})", **fields)

    def _best_so_far(self) -> str:
        groups: dict[tuple, list[float]] = defaultdict(list)
        for trial, record in self.records.items():
            groups[(trial.candidate, trial.n_epochs or 0)].append(record["test_score"])
        n_folds = len(self.payload.splits)
        complete = [
            (epochs, float(np.mean(scores)), c)
            for (c, epochs), scores in groups.items()
            if len(scores) == n_folds and np.all(np.isfinite(scores))
        ]
        if not complete:
            return ""
        _, score, c = max(complete)
        text = ", ".join(f"{k}={_short(v)}" for k, v in self.candidates[c].items())
        text = text if len(text) <= 50 else text[:47] + "..."
        return f"best {score:.4g} ({text})"


def default_resources(
    estimator: Any, candidates: list[dict], *, gpu_declared: bool, cuda_on_workers: bool
) -> dict[str, float]:
    """What each fit asks for when ``resources="auto"``: ``{"GPU": 1}`` for CUDA fits, else {}.

    A fit trains on CUDA when a ``device`` parameter (of the estimator, of a step of it, or of
    a candidate) is ``"cuda"``/``"cuda:N"``, or is ``"auto"`` on a cluster whose workers see a
    GPU (they declare a ``GPU`` resource, or torch finds CUDA there).

    Parameters
    ----------
    estimator : estimator
    candidates : list of dict
    gpu_declared : bool
        Whether some worker declares a ``GPU`` resource.
    cuda_on_workers : bool
        Whether torch sees CUDA on some worker.

    Returns
    -------
    dict
    """
    devices = set()
    for params in (estimator.get_params(deep=True), *candidates):
        for name, value in params.items():
            if (name == "device" or name.endswith("__device")) and isinstance(value, str):
                devices.add(value)
    gpu_here = gpu_declared or cuda_on_workers
    return {"GPU": 1} if any(wants_cuda(d, gpu_here) for d in devices) else {}


def _plain(value: object) -> object:
    """A parameter value for a log record: numpy scalars as Python's, the rest as given."""
    return value.item() if isinstance(value, np.generic) else value


def _short(value: object) -> str:
    """A parameter value as the progress bar shows it: floats to 3 significant digits."""
    if isinstance(value, float | np.floating):
        return f"{float(value):.3g}"
    return repr(value.item() if isinstance(value, np.generic) else value)
