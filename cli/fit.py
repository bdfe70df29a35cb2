"""``tsrnn fit``: fit a forecaster on a CSV or Parquet file and save it as a model file."""

from pathlib import Path
from typing import Annotated

import typer

from ._options import (
    Data,
    Exog,
    Horizon,
    IdCol,
    Quiet,
    Ranks,
    Scheduler,
    Target,
    TimeCol,
    Timer,
    Workers,
    check_outputs,
    count_series,
    describe_series,
    exog_columns,
    lookbacks,
    model_options,
    progress_to_stderr,
    read_data,
    say,
    training_cluster,
)

ModelOut = Annotated[
    Path,
    typer.Option(
        "--model",
        "-m",
        metavar="PATH",
        help="Model file to write (safetensors + JSON, conventionally .tsrnn).",
    ),
]


@model_options
def fit(
    data: Data,
    model: ModelOut,
    horizon: Horizon = None,
    time_col: TimeCol = None,
    target: Target = None,
    id_col: IdCol = None,
    exog: Exog = None,
    quiet: Quiet = False,
    workers: Workers = None,
    scheduler: Scheduler = None,
    ranks: Ranks = None,
    *,
    params: dict,
) -> None:
    """Fit a model on the file and save it, to forecast later with 'tsrnn predict'.

    Example: tsrnn fit sales.csv --time-col date --target units --lookback 24 --cell gru
    --model model.tsrnn
    """
    from tsrnn.forecaster import RNNForecaster
    from tsrnn.persist import save

    timer = Timer()
    check_outputs(model)
    # A cluster starts first: its workers import torch while this process reads the data.
    with training_cluster(quiet, workers, scheduler, ranks):
        y, X = read_data(
            quiet, data, time_col=time_col, target=target, id_col=id_col, exog=exog_columns(exog)
        )
        progress_to_stderr()
        fitted = RNNForecaster(horizon=horizon, verbose=0 if quiet else 1, **params).fit(y, X)
    save(fitted, model)
    say(quiet, describe_series(y, data))
    say(
        quiet,
        f"Fitted {len(fitted.models_)} network(s) on {count_series(y)} series "
        f"({fitted.cell}, lookback {lookbacks(fitted)}, "
        f"horizon {fitted.horizon_}, {fitted.steps_} steps each) in {timer}: {model} (model).",
    )
