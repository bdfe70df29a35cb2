"""``tsrnn predict``: forecast with a saved model, from its own or newer history."""

from pathlib import Path
from typing import Annotated

import typer

from ._options import (
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
    count_series,
    describe_outputs,
    describe_series,
    exog_columns,
    read_data,
    say,
    stage,
)

ModelIn = Annotated[
    Path, typer.Option("--model", "-m", metavar="PATH", help="Model file written by 'tsrnn fit'.")
]
NewData = Annotated[
    Path | None,
    typer.Option(
        "--data",
        metavar="FILE",
        help="CSV or Parquet file of newer history to forecast from, in the layout the model "
        "was fitted on (no refit).",
        show_default="the history seen in fit",
    ),
]


def predict(
    model: ModelIn,
    horizon: Horizon = None,
    data: NewData = None,
    output: Output = "-",
    plot: Plot = None,
    time_col: TimeCol = None,
    target: Target = None,
    id_col: IdCol = None,
    exog: Exog = None,
    future: Future = None,
    quiet: Quiet = False,
) -> None:
    """Forecast the next steps with a model saved by 'tsrnn fit'.

    With --data, the forecast starts after that file's last timestamp; the time, target, id
    and exogenous columns default to the names the model was fitted with.

    Example: tsrnn predict --model model.tsrnn --horizon 12 --output forecast.csv
    """
    from tsrnn.io import read_future, write_forecast
    from tsrnn.persist import load

    timer = Timer()
    check_outputs(output, plot)
    forecaster = load(model)
    names = list(forecaster.index_names_)
    time_col = time_col or names[-1]
    id_col = id_col or (names[0] if forecaster.multi_ else None)
    exog = exog_columns(exog) or [str(c) for c in forecaster.feature_names_in_] or None
    if exog and future is None:
        raise typer.BadParameter(
            f"the model uses the exogenous columns {','.join(exog)}: pass their future values "
            "with --future future.csv",
            param_hint="'--future'",
        )
    y = X = X_future = None
    if data is not None:
        target = target or forecaster.name_
        y, X = read_data(quiet, data, time_col=time_col, target=target, id_col=id_col, exog=exog)
    if future is not None:
        with stage(quiet, f"Reading {future} ..."):
            X_future = read_future(future, exog=exog or [], time_col=time_col, id_col=id_col)
    which = f"{count_series(y)} series" if y is not None else "the series seen in fit"
    with stage(quiet, f"Forecasting {which} ..."):
        result = forecaster.predict(horizon, X_future=X_future, y=y, X=X)
    write_forecast(result, output)
    if plot is not None:
        from ._plot import plot_forecast

        plot_forecast(y, result, plot)
    steps = horizon or forecaster.horizon_
    if y is not None:
        say(quiet, describe_series(y, data))
    say(
        quiet,
        f"Forecast {steps} steps of {count_series(result)} series in {timer}: "
        f"{describe_outputs(forecast=output, plot=plot)}.",
    )
