"""``tsrnn forecast``: fit a forecaster on a CSV or Parquet file and forecast it, in one go."""

import typer

from ._options import (
    Data,
    Exog,
    Future,
    Horizon,
    IdCol,
    Output,
    Plot,
    Quiet,
    Ranks,
    Scheduler,
    Target,
    TimeCol,
    Timer,
    Workers,
    check_cluster,
    check_outputs,
    count_series,
    describe_outputs,
    describe_series,
    exog_columns,
    lookbacks,
    model_options,
    progress_to_stderr,
    read_data,
    say,
    stage,
    training_cluster,
)


@model_options
def forecast(
    data: Data,
    horizon: Horizon = None,
    output: Output = "-",
    plot: Plot = None,
    time_col: TimeCol = None,
    target: Target = None,
    id_col: IdCol = None,
    exog: Exog = None,
    future: Future = None,
    quiet: Quiet = False,
    workers: Workers = None,
    scheduler: Scheduler = None,
    ranks: Ranks = None,
    *,
    params: dict,
) -> None:
    """Fit a model on the file's history and write the forecast of the next steps.

    The forecast CSV has the time column (and the id column), then forecast, lower and upper.

    With --workers N (a local Dask cluster) or --scheduler ADDRESS the networks train on
    the cluster's workers.

    Example: tsrnn forecast sales.csv --horizon 12 --output forecast.csv --plot forecast.png
    """
    exog = exog_columns(exog)
    check_cluster(workers, scheduler)
    if exog and future is None:
        raise typer.BadParameter(
            f"forecasting with --exog {','.join(exog)} needs their future values: pass them "
            "with --future future.csv",
            param_hint="'--future'",
        )
    from tsrnn.forecaster import RNNForecaster
    from tsrnn.io import read_future, write_forecast

    timer = Timer()
    check_outputs(output, plot)
    # A cluster starts first: its workers import torch while this process reads the data.
    with training_cluster(quiet, workers, scheduler, ranks):
        y, X = read_data(quiet, data, time_col=time_col, target=target, id_col=id_col, exog=exog)
        n_series = count_series(y)
        X_future = None
        if future is not None:
            with stage(quiet, f"Reading {future} ..."):
                X_future = read_future(future, exog=exog or [], time_col=time_col, id_col=id_col)
        progress_to_stderr()
        model = RNNForecaster(horizon=horizon, verbose=0 if quiet else 1, **params).fit(y, X)
    with stage(quiet, f"Forecasting {n_series} series ..."):
        result = model.predict(X_future=X_future)
    write_forecast(result, output)
    if plot is not None:
        from ._plot import plot_forecast

        plot_forecast(y, result, plot)
    say(quiet, describe_series(y, data))
    say(
        quiet,
        f"Forecast {model.horizon_} steps of {count_series(result)} series ({model.cell}, "
        f"lookback {lookbacks(model)}, {len(model.models_)} network(s) of {model.steps_} "
        f"steps) in {timer}: {describe_outputs(forecast=output, plot=plot)}.",
    )
