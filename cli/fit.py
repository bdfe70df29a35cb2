"""``tsrnn fit``: fit a forecaster on a CSV or Parquet file and save it as a model file."""

from pathlib import Path
from typing import Annotated

import typer

from ._cluster import (
    Ranks,
    Scheduler,
    Workers,
    dataset_cluster,
    on_the_cluster,
    read_dataset,
    training_cluster,
)
from ._data import (
    Data,
    Exog,
    Horizon,
    IdCol,
    Static,
    Target,
    TimeCol,
    check_outputs,
    columns_to_read,
    exog_columns,
    read_data,
)
from ._log import LOG, LogFormat, start
from ._model_options import model_options
from ._printing import (
    Quiet,
    Timer,
    count_series,
    describe_dataset,
    describe_series,
    describe_stages,
    lookbacks,
    progress_to_stderr,
    say,
    stage,
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
    static: Static = None,
    quiet: Quiet = False,
    log_format: LogFormat = "text",
    workers: Workers = None,
    scheduler: Scheduler = None,
    ranks: Ranks = None,
    *,
    params: dict,
) -> None:
    """Fit a model on the file and save it, to forecast later with 'tsrnn predict'.

    A Parquet dataset (a folder, a glob, a URL, or a Parquet file with --workers or
    --scheduler) is read and trained on by the workers of a Dask cluster; the model file then
    keeps no series, and 'tsrnn predict' forecasts them from --data.

    Example: tsrnn fit sales.csv --time-col date --target units --lookback 24 --cell gru
    --model model.tsrnn
    """
    from tsrnn.forecaster import RNNForecaster
    from tsrnn.persist import save

    start(quiet=quiet, log_format=log_format)
    timer = Timer()
    check_outputs(model)
    if on_the_cluster(data, workers=workers, scheduler=scheduler):
        from tsrnn.parallel import fit_dataset

        with dataset_cluster(quiet, workers=workers, scheduler=scheduler) as client:
            dataset = read_dataset(
                quiet,
                client,
                data,
                time_col=time_col,
                target=target,
                id_col=id_col,
                exog=exog_columns(exog),
                hist_exog=params.get("hist_exog"),
                static=exog_columns(static),
                missing=params.get("missing", "mask"),
            )
            say(quiet, describe_dataset(dataset))
            fitted = RNNForecaster(horizon=horizon, verbose=0, **params)
            with stage(quiet, f"Training on {dataset.n_series} series ..."):
                fit_dataset(fitted, dataset, ranks=ranks)
        with stage(quiet, f"Writing {model} ...", "writing", output=str(model)):
            save(fitted, model)
        say(quiet, describe_stages(dataset.timings, fitted.timings_, peaks=dataset.peaks))
        say(
            quiet,
            f"Fitted {len(fitted.models_)} network(s) on {dataset.n_series} series "
            f"({fitted.cell}, lookback {lookbacks(fitted)}, horizon {fitted.horizon_}, "
            f"{fitted.steps_} steps each) in {timer}: {model} (model; it keeps no series: "
            "forecast with 'tsrnn predict --data').",
            "done",
            command="fit",
            seconds=timer.seconds,
        )
        return
    # A cluster starts first: its workers import torch while this process reads the data.
    with training_cluster(quiet, workers=workers, scheduler=scheduler, ranks=ranks):
        y, X, table = read_data(
            quiet,
            data,
            time_col=time_col,
            target=target,
            id_col=id_col,
            exog=columns_to_read(exog_columns(exog), params),
            static=exog_columns(static),
            missing=params.get("missing") != "raise",
        )
        progress_to_stderr()
        fitted = RNNForecaster(horizon=horizon, verbose=int(LOG.bars), **params)
        fitted.fit(y, X, static=table)
    with stage(quiet, f"Writing {model} ...", "writing", output=str(model)):
        save(fitted, model)
    say(quiet, describe_series(y, data))
    say(
        quiet,
        f"Fitted {len(fitted.models_)} network(s) on {count_series(y)} series "
        f"({fitted.cell}, lookback {lookbacks(fitted)}, "
        f"horizon {fitted.horizon_}, {fitted.steps_} steps each) in {timer}: {model} (model).",
        "done",
        command="fit",
        seconds=timer.seconds,
    )
