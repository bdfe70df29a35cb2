"""``tsrnn backtest``: rolling-origin evaluation of a forecaster on a CSV or Parquet file."""

from typing import Annotated

import typer

from ._options import (
    Data,
    Exog,
    IdCol,
    Quiet,
    Target,
    TimeCol,
    Timer,
    check_outputs,
    count_series,
    describe_series,
    exog_columns,
    model_options,
    print_table,
    progress_to_stderr,
    read_data,
    say,
)

Origins = Annotated[
    int, typer.Option("--origins", metavar="INT", min=1, help="Forecast origins (refits).")
]
Step = Annotated[
    int | None,
    typer.Option(
        "--step", metavar="INT", min=1, help="Steps between origins.", show_default="horizon"
    ),
]
MetricsOut = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        metavar="PATH",
        help="Also write the metrics as CSV; '-' writes the CSV to standard output instead of "
        "the table.",
    ),
]
BacktestHorizon = Annotated[
    int, typer.Option("--horizon", "-H", metavar="INT", min=1, help="Steps ahead.")
]


@model_options
def backtest(
    data: Data,
    horizon: BacktestHorizon,
    origins: Origins = 3,
    step: Step = None,
    output: MetricsOut = None,
    time_col: TimeCol = None,
    target: Target = None,
    id_col: IdCol = None,
    exog: Exog = None,
    quiet: Quiet = False,
    *,
    params: dict,
) -> None:
    """Refit at several forecast origins and print the error metrics of each.

    The last origin forecasts the last --horizon points; earlier ones sit --step points apart.

    Example: tsrnn backtest sales.csv --horizon 12 --origins 4
    """
    from tsrnn.evaluation import backtest as run_backtest
    from tsrnn.forecaster import RNNForecaster
    from tsrnn.io import write_csv_atomic

    timer = Timer()
    check_outputs(output)
    y, X = read_data(
        quiet, data, time_col=time_col, target=target, id_col=id_col, exog=exog_columns(exog)
    )
    progress_to_stderr()
    forecaster = RNNForecaster(verbose=0 if quiet else 1, **params)
    table = run_backtest(forecaster, y, horizon=horizon, n_origins=origins, step=step, X=X)
    if output is not None:
        write_csv_atomic(table.rename_axis("origin").reset_index(), output)
    if output != "-":
        print_table(table)
    say(quiet, describe_series(y, data))
    where = f": {output} (metrics)" if output not in (None, "-") else ""
    say(
        quiet,
        f"Backtested {origins} origins of {horizon} steps on {count_series(y)} series in "
        f"{timer}{where}.",
    )
