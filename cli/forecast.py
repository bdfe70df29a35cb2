"""``tsrnn forecast``: fit a forecaster on a CSV or Parquet file and forecast it, in one go."""

import typer

from ._cluster import (
    Ranks,
    Scheduler,
    Workers,
    check_cluster,
    check_dataset_output,
    dataset_cluster,
    dataset_written,
    on_the_cluster,
    read_dataset,
    training_cluster,
)
from ._data import (
    Data,
    Exog,
    Future,
    Horizon,
    IdCol,
    Output,
    Plot,
    PlotIds,
    Static,
    Target,
    TimeCol,
    check_outputs,
    columns_to_read,
    exog_columns,
    read_data,
)
from ._levels import Levels, Quantiles, check_levels
from ._log import LOG, LogFormat, start
from ._model_options import model_options
from ._plot import chosen_in_dataset, chosen_in_memory, plot_dataset, write_and_plot
from ._printing import (
    Quiet,
    Timer,
    count_series,
    describe_dataset,
    describe_outputs,
    describe_series,
    describe_stages,
    lookbacks,
    progress_to_stderr,
    say,
    stage,
)


@model_options
def forecast(
    data: Data,
    horizon: Horizon = None,
    output: Output = "-",
    plot: Plot = None,
    plot_ids: PlotIds = None,
    time_col: TimeCol = None,
    target: Target = None,
    id_col: IdCol = None,
    exog: Exog = None,
    static: Static = None,
    future: Future = None,
    level: Levels = None,
    quantile: Quantiles = None,
    quiet: Quiet = False,
    log_format: LogFormat = "text",
    workers: Workers = None,
    scheduler: Scheduler = None,
    ranks: Ranks = None,
    *,
    params: dict,
) -> None:
    """Fit a model on the file's history and write the forecast of the next steps.

    The forecast CSV has the time column (and the id column), then forecast, lower and upper,
    then the bounds of each --level (lo-80, hi-80) and each --quantile (q-0.1).

    With --workers N (a local Dask cluster) or --scheduler ADDRESS the networks train on
    the cluster's workers. A Parquet dataset (a folder, a glob, a URL, or a Parquet file
    with --workers or --scheduler) is read, trained on and forecast by the workers, and the
    forecast is written by them as a Parquet dataset into the --output folder.

    --plot draws the history and forecast of a few series: those of --plot-ids, else the
    first 3 and the 3 of largest error on the calibration windows (on a dataset, the workers
    send only these series' rows).

    Example: tsrnn forecast sales.csv --horizon 12 --output forecast.csv --plot forecast.png
    """
    from tsrnn.intervals import DEFAULT_INTERVAL

    from ._plot import check_plot_ids

    start(quiet=quiet, log_format=log_format)
    exog, static = exog_columns(exog), exog_columns(static)
    check_cluster(workers=workers, scheduler=scheduler)
    check_plot_ids(plot_ids, plot)
    check_levels(level, quantile, interval=params.get("interval", DEFAULT_INTERVAL))
    if exog and future is None:
        raise typer.BadParameter(
            f"forecasting with --exog {','.join(exog)} needs their future values: pass them "
            "with --future future.csv",
            param_hint="'--future'",
        )
    if on_the_cluster(data, workers=workers, scheduler=scheduler):
        check_dataset_output(output, plot)
        columns = {
            "time_col": time_col,
            "target": target,
            "id_col": id_col,
            "exog": exog,
            "hist_exog": params.get("hist_exog"),
            "static": static,
            "missing": params.get("missing", "mask"),
        }
        _forecast_dataset(
            data=data,
            columns=columns,
            params=params,
            horizon=horizon,
            ranks=ranks,
            future=future,
            level=level,
            quantiles=quantile,
            output=output,
            plot=plot,
            plot_ids=plot_ids,
            quiet=quiet,
            workers=workers,
            scheduler=scheduler,
        )
        return
    from tsrnn.forecaster import RNNForecaster
    from tsrnn.io import read_future

    timer = Timer()
    check_outputs(output, plot)
    # A cluster starts first: its workers import torch while this process reads the data.
    with training_cluster(quiet, workers=workers, scheduler=scheduler, ranks=ranks):
        masked = params.get("missing") != "raise"
        y, X, table = read_data(
            quiet,
            data,
            time_col=time_col,
            target=target,
            id_col=id_col,
            exog=columns_to_read(exog, params),
            static=static,
            missing=masked,
        )
        n_series = count_series(y)
        chosen = chosen_in_memory(plot_ids, y, data=data)  # before any work
        X_future = None
        if future is not None:
            with stage(quiet, f"Reading {future} ...", "reading", data=str(future)) as shown:
                X_future = read_future(future, exog=exog or [], time_col=time_col, id_col=id_col)
                shown["rows"] = len(X_future)
        progress_to_stderr()
        model = RNNForecaster(horizon=horizon, verbose=int(LOG.bars), **params)
        model.fit(y, X, static=table)
    with stage(quiet, f"Forecasting {n_series} series ...", "prediction", series=n_series) as shown:
        result = model.predict(X_future=X_future, level=level, quantiles=quantile)
        shown["horizon"] = model.horizon_
    drawn = write_and_plot(
        quiet,
        result,
        output,
        plot,
        history=y,
        errors=model.calibration_series_errors_,
        chosen=chosen,
        target=y.name,
        interval=model.interval,
        horizon=model.horizon_,
    )
    say(quiet, describe_series(y, data))
    say(
        quiet,
        f"Forecast {model.horizon_} steps of {count_series(result)} series ({model.cell}, "
        f"lookback {lookbacks(model)}, {len(model.models_)} network(s) of {model.steps_} "
        f"steps) in {timer}: {describe_outputs(forecast=output, **{drawn: plot})}.",
        "done",
        command="forecast",
        seconds=timer.seconds,
    )


def _forecast_dataset(
    *,
    data: str,
    columns: dict,
    params: dict,
    horizon: int | None,
    ranks: int | None,
    future,
    level: list[float] | None,
    quantiles: list[float] | None,
    output: str,
    plot,
    plot_ids: list[str] | None,
    quiet: bool,
    workers: int | None,
    scheduler: str | None,
) -> None:
    """The forecast of a Parquet dataset, by the workers of a cluster: ``columns`` are the
    keywords of ``tsrnn.parallel.read_dataset`` (the time, target, id, exog, hist_exog and
    static columns, and missing), ``future`` (--future) a Parquet dataset of the future values
    of the --exog columns; ``plot`` (--plot) a PNG of the series of ``plot_ids`` or of the
    first and hardest, whose rows alone the workers send."""
    from tsrnn.forecaster import RNNForecaster
    from tsrnn.parallel import fit_dataset, forecast_dataset, write_dataset

    timer = Timer()
    with dataset_cluster(quiet, workers=workers, scheduler=scheduler) as client:
        dataset = read_dataset(quiet, client, data, **columns)
        chosen = chosen_in_dataset(plot_ids, dataset, data=data)  # before any training
        say(quiet, describe_dataset(dataset))
        model = RNNForecaster(horizon=horizon, verbose=0, **params)
        with stage(quiet, f"Training on {dataset.n_series} series ..."):
            fit_dataset(model, dataset, ranks=ranks)
        with (
            stage(quiet, f"Forecasting {dataset.n_series} series ..."),
            dataset.measure("prediction"),
        ):
            forecasts = forecast_dataset(
                model, dataset, future=future, level=level, quantiles=quantiles
            )
            if plot is not None:  # kept on the workers, for the rows drawn
                forecasts = client.persist(forecasts)
            written = write_dataset(forecasts, output)
        dataset_written(dataset, written, output=output, horizon=model.horizon_)
        drawn = None
        if plot is not None:
            with stage(quiet, f"Drawing {plot} ..."):
                drawn = plot_dataset(
                    dataset,
                    forecasts,
                    plot,
                    errors=model.calibration_series_errors_,
                    chosen=chosen,
                    interval=model.interval,
                    horizon=model.horizon_,
                ).describe()
            del forecasts
        n_workers = len(client.scheduler_info(n_workers=-1)["workers"])
    predicted = {"prediction": written["computing"], "writing": written["writing"]}
    say(quiet, describe_stages(dataset.timings, model.timings_, predicted, peaks=dataset.peaks))
    say(
        quiet,
        f"Forecast {model.horizon_} steps of {dataset.n_series} series ({model.cell}, lookback "
        f"{lookbacks(model)}, {len(model.models_)} network(s) of {model.steps_} steps) on "
        f"{n_workers} Dask worker(s) in {timer}: {output} (Parquet dataset)"
        + (f", {plot} ({drawn})." if drawn else "."),
        "done",
        command="forecast",
        seconds=timer.seconds,
    )
