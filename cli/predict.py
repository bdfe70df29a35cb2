"""``tsrnn predict``: forecast with a saved model, from its own or newer history."""

from pathlib import Path
from typing import Annotated

import typer

from ._cluster import (
    Scheduler,
    Workers,
    check_dataset_output,
    dataset_cluster,
    dataset_written,
    on_the_cluster,
    read_dataset,
)
from ._data import (
    Exog,
    Future,
    Horizon,
    IdCol,
    Output,
    Plot,
    PlotIds,
    Target,
    TimeCol,
    check_outputs,
    exog_columns,
    read_data,
)
from ._levels import Levels, Quantiles, check_levels
from ._log import LogFormat, start
from ._plot import (
    check_plot_ids,
    chosen_in_dataset,
    chosen_in_memory,
    plot_dataset,
    write_and_plot,
)
from ._printing import (
    Quiet,
    Timer,
    count_series,
    describe_dataset,
    describe_outputs,
    describe_series,
    describe_stages,
    say,
    stage,
)

ModelIn = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        metavar="MODEL",
        help="Model file written by 'tsrnn fit', or an MLflow model URI (models:/NAME/VERSION, "
        "runs:/RUN/NAME, ...; the tracking server from MLFLOW_TRACKING_URI) of a model logged "
        "with tsrnn.mlflow.",
    ),
]
#: The schemes of MLflow's model URIs: any other --model is a file.
MLFLOW_SCHEMES = ("models:", "runs:", "mlflow-artifacts:")
NewData = Annotated[
    str | None,
    typer.Option(
        "--data",
        metavar="DATA",
        help="CSV or Parquet file of newer history to forecast from, in the layout the model "
        "was fitted on (no refit); a Parquet dataset (a folder, a glob, a URL, or a Parquet "
        "file with --workers or --scheduler) is forecast by the workers of a Dask cluster.",
        show_default="the history seen in fit",
    ),
]


def predict(
    model: ModelIn,
    horizon: Horizon = None,
    data: NewData = None,
    output: Output = "-",
    plot: Plot = None,
    plot_ids: PlotIds = None,
    time_col: TimeCol = None,
    target: Target = None,
    id_col: IdCol = None,
    exog: Exog = None,
    future: Future = None,
    level: Levels = None,
    quantile: Quantiles = None,
    quiet: Quiet = False,
    log_format: LogFormat = "text",
    workers: Workers = None,
    scheduler: Scheduler = None,
) -> None:
    """Forecast the next steps with a model saved by 'tsrnn fit'.

    With --data, the forecast starts after that file's last timestamp; the time, target, id
    and exogenous columns default to the names the model was fitted with. A Parquet dataset
    as --data (a folder, a glob, a URL, or a Parquet file with --workers or --scheduler) is
    forecast by the workers of a Dask cluster into the --output folder. --level and --quantile
    add their bounds (lo-80, hi-80, q-0.1) from the model's calibration, without a refit.

    Example: tsrnn predict --model model.tsrnn --horizon 12 --output forecast.csv
    (or --model models:/sales/3, a model logged with tsrnn.mlflow)
    """
    from tsrnn.intervals import DEFAULT_INTERVAL
    from tsrnn.io import file_columns, read_future

    start(quiet=quiet, log_format=log_format)
    timer = Timer()
    check_plot_ids(plot_ids, plot)
    check_outputs(output, plot)
    with stage(quiet, f"Reading {model} ...", "reading", data=str(model)):
        forecaster = _load(model)
    interval = getattr(forecaster, "interval", DEFAULT_INTERVAL)
    check_levels(level, quantile, interval=interval, saved=True)
    names = list(forecaster.index_names_)
    time_col = time_col or names[-1]
    id_col = id_col or (names[0] if forecaster.multi_ else None)
    inputs = forecaster.input_columns()  # by role; the calendar's are made, never read
    static = inputs.static  # read from --data for the series fit never saw
    exog = exog_columns(exog) or inputs.exog or None
    past_only = set(inputs.hist_exog)
    known = [c for c in exog or [] if c not in past_only]  # what --future holds
    if known and future is None:
        raise typer.BadParameter(
            f"the model uses the exogenous columns {','.join(known)}: pass their future values "
            "with --future future.csv",
            param_hint="'--future'",
        )
    if on_the_cluster(data, workers=workers, scheduler=scheduler):
        check_dataset_output(output, plot)
        columns = {
            "time_col": time_col,
            "target": target or forecaster.name_,
            "id_col": id_col,
            "exog": exog,
            "hist_exog": [c for c in exog or [] if c in past_only],
            "static": static or None,  # a dataset's own static columns: the model keeps none
            "missing": forecaster.missing,
        }
        _predict_dataset(
            forecaster,
            data=data,
            columns=columns,
            horizon=horizon,
            future=future,
            level=level,
            quantiles=quantile,
            output=output,
            plot=plot,
            plot_ids=plot_ids,
            quiet=quiet,
            workers=workers,
            scheduler=scheduler,
            timer=timer,
        )
        return
    y = X = X_future = table = None
    if data is not None:
        target = target or forecaster.name_
        given = set(file_columns(data))  # static columns: needed for new series only
        y, X, table = read_data(
            quiet,
            data,
            time_col=time_col,
            target=target,
            id_col=id_col,
            exog=exog,
            static=[c for c in static if c in given] or None,
            missing=forecaster.missing == "mask",
        )
    if future is not None:
        with stage(quiet, f"Reading {future} ...", "reading", data=str(future)) as shown:
            X_future = read_future(future, exog=known, time_col=time_col, id_col=id_col)
            shown["rows"] = len(X_future)
    which = f"{count_series(y)} series" if y is not None else "the series seen in fit"
    steps = horizon or forecaster.horizon_
    with stage(quiet, f"Forecasting {which} ...", "prediction", horizon=steps) as shown:
        result = forecaster.predict(
            horizon, X_future=X_future, y=y, X=X, static=table, level=level, quantiles=quantile
        )
        shown["series"] = count_series(result)
    chosen = chosen_in_memory(plot_ids, result, data=data or model)  # before writing
    drawn = write_and_plot(
        quiet,
        result,
        output,
        plot,
        history=y,
        errors=forecaster.calibration_series_errors_,
        chosen=chosen,
        target=forecaster.name_,
        interval=interval,
        horizon=steps,
    )
    if y is not None:
        say(quiet, describe_series(y, data))
    say(
        quiet,
        f"Forecast {steps} steps of {count_series(result)} series in {timer}: "
        f"{describe_outputs(forecast=output, **{drawn: plot})}.",
        "done",
        command="predict",
        seconds=timer.seconds,
    )


def _predict_dataset(
    forecaster,
    *,
    data: str,
    columns: dict,
    horizon: int | None,
    future,
    level: list[float] | None,
    quantiles: list[float] | None,
    output: str,
    plot,
    plot_ids: list[str] | None,
    quiet: bool,
    workers: int | None,
    scheduler: str | None,
    timer: Timer,
) -> None:
    """The forecast of a Parquet dataset with a saved model, by the workers of a cluster:
    ``columns`` are the keywords of ``tsrnn.parallel.read_dataset`` (the time, target, id,
    exog, hist_exog and static columns, and missing), ``future`` a Parquet dataset of the
    future values of the known exog columns; ``plot`` a PNG of a few series (the workers send
    only their rows)."""
    from tsrnn.parallel import forecast_dataset, write_dataset

    with dataset_cluster(quiet, workers=workers, scheduler=scheduler) as client:
        dataset = read_dataset(quiet, client, data, **columns)
        chosen = chosen_in_dataset(plot_ids, dataset, data=data)  # before any forecast
        say(quiet, describe_dataset(dataset))
        with (
            stage(quiet, f"Forecasting {dataset.n_series} series ..."),
            dataset.measure("prediction"),
        ):
            forecasts = forecast_dataset(
                forecaster,
                dataset,
                horizon=horizon,
                future=future,
                level=level,
                quantiles=quantiles,
            )
            if plot is not None:  # kept on the workers, for the rows drawn
                forecasts = client.persist(forecasts)
            written = write_dataset(forecasts, output)
        steps = horizon or forecaster.horizon_
        dataset_written(dataset, written, output=output, horizon=steps)
        drawn = None
        if plot is not None:
            with stage(quiet, f"Drawing {plot} ..."):
                drawn = plot_dataset(
                    dataset,
                    forecasts,
                    plot,
                    errors=forecaster.calibration_series_errors_,
                    chosen=chosen,
                    interval=getattr(forecaster, "interval", None),
                    horizon=steps,
                ).describe()
            del forecasts
    predicted = {"prediction": written["computing"], "writing": written["writing"]}
    say(quiet, describe_stages(dataset.timings, predicted, peaks=dataset.peaks))
    say(
        quiet,
        f"Forecast {steps} steps of {dataset.n_series} series in {timer}: {output} (Parquet "
        "dataset)" + (f", {plot} ({drawn})." if drawn else "."),
        "done",
        command="predict",
        seconds=timer.seconds,
    )


def _load(model: str):
    """The forecaster of a model file, or of an MLflow model URI (``tsrnn.mlflow``: no pickle;
    an unreachable store or an altered file is one line)."""
    if model.startswith(MLFLOW_SCHEMES):
        from tsrnn.mlflow import load_model

        return load_model(model)
    from tsrnn.persist import load

    return load(Path(model))
