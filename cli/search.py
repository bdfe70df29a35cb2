"""``tsrnn search``: search a forecaster's hyperparameters on backtest origins, on Dask."""

import functools
from pathlib import Path
from typing import Annotated, Literal

import typer

from ._cluster import Scheduler, Workers, check_cluster
from ._data import (
    Data,
    Exog,
    IdCol,
    Target,
    TimeCol,
    check_outputs,
    columns_to_read,
    exog_columns,
    read_data,
)
from ._log import LOG, LogFormat, start
from ._model_options import model_options
from ._printing import Quiet, Timer, describe_series, print_table, progress_to_stderr, say

Param = Annotated[
    list[str],
    typer.Option(
        "--param",
        "-p",
        metavar="NAME=V1,V2,...",
        help="A forecaster parameter and the values to try (repeat for several), e.g. "
        "--param hidden_size=16,32,64 --param cell=lstm,gru.",
        show_default=False,
    ),
]
SearchHorizon = Annotated[
    int,
    typer.Option("--horizon", "-H", metavar="INT", min=1, help="Steps forecast at each origin."),
]
Origins = Annotated[
    int, typer.Option("--origins", metavar="INT", min=1, help="Backtest origins (folds).")
]
Step = Annotated[
    int | None,
    typer.Option(
        "--step", metavar="INT", min=1, help="Steps between origins.", show_default="horizon"
    ),
]
Metric = Annotated[
    Literal["mae", "rmse", "smape", "mase"],
    typer.Option("--metric", help="Backtest error to minimise (mean over origins)."),
]
Strategy = Annotated[
    Literal["grid", "random", "halving"],
    typer.Option(
        "--strategy",
        help="grid: every combination; random: --n-iter of them; halving: successive halving "
        "with epochs as the budget, in Hyperband brackets.",
    ),
]
NIter = Annotated[
    int | None,
    typer.Option(
        "--n-iter", metavar="INT", min=1, help="Random candidates.", show_default="10 (random)"
    ),
]
MinEpochs = Annotated[
    int, typer.Option("--min-epochs", metavar="INT", min=1, help="halving: fewest epochs.")
]
MaxEpochs = Annotated[
    int | None,
    typer.Option(
        "--max-epochs",
        metavar="INT",
        min=1,
        help="halving: epochs of the last rung.",
        show_default="--epochs",
    ),
]
Factor = Annotated[
    int, typer.Option("--factor", metavar="INT", min=2, help="halving: keep 1/factor per rung.")
]
Journal = Annotated[
    Path | None,
    typer.Option(
        "--journal",
        metavar="PATH",
        help="JSON-lines file of finished fits: a rerun of the same search skips them.",
    ),
]
ResultsOut = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        metavar="PATH",
        help="Also write every candidate's scores as CSV; '-' writes the CSV to standard output "
        "instead of the table.",
    ),
]


# The forecaster's own `strategy` (direct/recursive) is searched with --param strategy=...,
# since --strategy names the search strategy here.
@functools.partial(model_options, exclude=frozenset({"strategy"}))
def search(
    data: Data,
    param: Param,
    horizon: SearchHorizon,
    origins: Origins = 3,
    step: Step = None,
    metric: Metric = "mae",
    strategy: Strategy = "grid",
    n_iter: NIter = None,
    min_epochs: MinEpochs = 1,
    max_epochs: MaxEpochs = None,
    factor: Factor = 3,
    workers: Workers = None,
    scheduler: Scheduler = None,
    journal: Journal = None,
    output: ResultsOut = None,
    time_col: TimeCol = None,
    target: Target = None,
    id_col: IdCol = None,
    exog: Exog = None,
    quiet: Quiet = False,
    log_format: LogFormat = "text",
    *,
    params: dict,
) -> None:
    """Search forecaster hyperparameters by backtest on a Dask cluster; print the best.

    Each candidate is fitted at every origin (one Dask task each) and ranked by its mean
    --metric. Options such as --epochs or --lookback fix a parameter for every candidate;
    without an --interval option no interval network is trained (it does not change the
    score).

    Example: tsrnn search sales.csv -H 12 --param hidden_size=16,32 --param learning_rate=1e-3,1e-2
    """
    start(quiet=quiet, log_format=log_format)
    check_cluster(workers=workers, scheduler=scheduler)
    grid = _parse_params(param, fixed=params)
    # A candidate's line shows its mean error as the --output table does (the library's score
    # is the error negated: greater is better).
    LOG.adapt["candidate"] = lambda fields: {
        (f"mean_{metric}" if k == "score" else k): (-v if k == "score" else v)
        for k, v in fields.items()
    }
    from tsrnn.forecaster import RNNForecaster
    from tsrnn.io import write_csv_atomic
    from tsrnn.search import RollingOrigin, SearchCV

    timer = Timer()
    check_outputs(output)
    y, X, _ = read_data(
        quiet,
        data,
        time_col=time_col,
        target=target,
        id_col=id_col,
        exog=columns_to_read(exog_columns(exog), params),
    )
    progress_to_stderr()
    fixed = {"interval": None, **params}
    searcher = SearchCV(
        RNNForecaster(verbose=0, **fixed),
        grid,
        strategy=strategy,
        n_iter=n_iter,
        scoring=metric,
        cv=RollingOrigin(horizon, n_origins=origins, step=step),
        min_epochs=min_epochs,
        max_epochs=max_epochs,
        factor=factor,
        client=scheduler,
        n_workers=workers,
        journal=journal,
        random_state=params.get("random_state"),
        verbose=int(LOG.bars),
    ).fit(y, X)
    table = _results_table(searcher, metric)
    if output is not None:
        write_csv_atomic(table, output)
    if output != "-":
        print_table(table.head(10))
    say(quiet, describe_series(y, data))
    best = ", ".join(f"{k}={v}" for k, v in searcher.best_params_.items())
    say(
        quiet,
        f"Best {metric} {-searcher.best_score_:.4g} with {best}: {len(searcher.fits_)} fits of "
        f"{searcher.n_candidates_} candidates at {origins} origins in {timer}"
        f"{'' if output in (None, '-') else f'; results: {output}'}.",
        "done",
        command="search",
        seconds=timer.seconds,
        best_params=searcher.best_params_,
        **{f"mean_{metric}": -searcher.best_score_},
    )


def _parse_params(options: list[str], fixed: dict) -> dict[str, list]:
    """``["hidden_size=16,32", ...]`` -> ``{"hidden_size": [16, 32]}``, names checked."""
    from tsrnn.errors import ParameterError
    from tsrnn.forecaster import RNNForecaster

    known = set(RNNForecaster().get_params()) - {"verbose"}
    grid: dict[str, list] = {}
    for option in options:
        name, sep, values = option.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name or not values.strip():
            raise ParameterError(
                f"--param {option!r} is not NAME=V1,V2,...: e.g. --param hidden_size=16,32."
            )
        if name not in known:
            import difflib

            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ParameterError(
                f"--param {name!r} is not a parameter of the forecaster: {hint}The parameters "
                f"are {', '.join(sorted(known))}."
            )
        if name in fixed:
            raise ParameterError(
                f"{name} is both fixed (--{name.replace('_', '-')}) and searched (--param "
                f"{name}=...): give one of them."
            )
        if name in grid:
            raise ParameterError(f"--param {name} is given twice: list all its values once.")
        grid[name] = [_value(v.strip()) for v in values.split(",") if v.strip()]
    return grid


def _value(text: str):
    """'16' -> 16, '1e-3' -> 0.001, 'none' -> None, 'true' -> True, else the text."""
    lowered = text.lower()
    if lowered in ("none", "null"):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _results_table(searcher, metric: str):
    """One row per candidate (and rung), best first: the parameters, then the scores."""
    import pandas as pd

    res = searcher.cv_results_
    frame = pd.DataFrame(list(res["params"]))
    frame.insert(0, "rank", res["rank_test_score"])
    if "n_resources" in res:
        frame["epochs"] = res["n_resources"]
    frame[f"mean_{metric}"] = -res["mean_test_score"]
    frame[f"std_{metric}"] = res["std_test_score"]
    for i in range(searcher.n_splits_):
        frame[f"origin{i + 1}_{metric}"] = -res[f"split{i}_test_score"]
    frame["mean_fit_seconds"] = res["mean_fit_time"]
    return frame.sort_values("rank", kind="stable").reset_index(drop=True)
