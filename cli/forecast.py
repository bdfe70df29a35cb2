"""``tsrnn forecast``: fit a forecaster on a CSV and forecast it, in one go."""

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
    Target,
    TimeCol,
    Timer,
    check_outputs,
    describe_outputs,
    describe_series,
    exog_columns,
    model_options,
    progress_to_stderr,
    say,
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
    *,
    params: dict,
) -> None:
    """Fit a model on the CSV's history and write the forecast of the next steps.

    The forecast CSV has the time column (and the id column), then forecast, lower and upper.

    Example: tsrnn forecast sales.csv --horizon 12 --output forecast.csv --plot forecast.png
    """
    exog = exog_columns(exog)
    if exog and future is None:
        raise typer.BadParameter(
            f"forecasting with --exog {','.join(exog)} needs their future values: pass them "
            "with --future future.csv",
            param_hint="'--future'",
        )
    from tsrnn.forecaster import RNNForecaster
    from tsrnn.io import read_future, read_series, write_forecast

    timer = Timer()
    check_outputs(output, plot)
    y, X = read_series(data, time_col=time_col, target=target, id_col=id_col, exog=exog)
    X_future = None
    if future is not None:
        X_future = read_future(future, exog=exog or [], time_col=time_col, id_col=id_col)
    progress_to_stderr()
    model = RNNForecaster(horizon=horizon, verbose=0 if quiet else 1, **params).fit(y, X)
    result = model.predict(X_future=X_future)
    write_forecast(result, output)
    if plot is not None:
        from ._plot import plot_forecast

        plot_forecast(y, result, plot)
    say(quiet, describe_series(y, data))
    say(
        quiet,
        f"Forecast {model.horizon_} steps ({model.cell}, lookback {model.lookback_}, "
        f"{model.steps_} steps) in {timer}: {describe_outputs(forecast=output, plot=plot)}.",
    )
