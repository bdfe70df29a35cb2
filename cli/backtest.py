"""``tsrnn backtest``: rolling-origin evaluation of a forecaster on a CSV or Parquet file.

The metrics are ``tsrnn.backtest``'s; with --forecasts it also returns the table of
``tsrnn.cross_validation`` its metrics were computed from (one round of fits), which is written.
"""

from typing import TYPE_CHECKING, Annotated

import typer

from ._data import (
    Data,
    Exog,
    IdCol,
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
from ._plot import check_plot_ids, chosen_in_memory, plot_backtest
from ._printing import (
    Quiet,
    Timer,
    count_series,
    describe_series,
    print_table,
    progress_to_stderr,
    say,
)

if TYPE_CHECKING:  # annotations only: the command imports pandas when it runs
    import pandas as pd

Origins = Annotated[int, typer.Option("--origins", metavar="INT", min=1, help="Forecast origins.")]
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
Forecasts = Annotated[
    str | None,
    typer.Option(
        "--forecasts",
        metavar="PATH",
        help="Also write every forecast beside its actual value, one row per series, origin "
        "and step (the table of tsrnn.cross_validation: the id and time columns, cutoff, y, "
        "forecast, lower, upper, then the --level and --quantile bounds): CSV, or Parquet when "
        "PATH ends with .parquet or .pq; '-' writes the CSV to standard output instead of the "
        "metrics table.",
    ),
]
Refit = Annotated[
    bool,
    typer.Option(
        "--refit/--no-refit",
        help="Fit again at each origin (an expanding window), or fit once before the first "
        "origin and forecast the later ones from their history (one fit: faster).",
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
    forecasts: Forecasts = None,
    plot: Plot = None,
    plot_ids: PlotIds = None,
    level: Levels = None,
    quantile: Quantiles = None,
    refit: Refit = True,
    time_col: TimeCol = None,
    target: Target = None,
    id_col: IdCol = None,
    exog: Exog = None,
    static: Static = None,
    quiet: Quiet = False,
    log_format: LogFormat = "text",
    *,
    params: dict,
) -> None:
    """Forecast at several origins from the history before each and print the error metrics.

    The last origin forecasts the last --horizon points; earlier ones sit --step points apart.
    The model is fitted again at each origin unless --no-refit. Metrics per origin: MAE, RMSE,
    sMAPE, MASE, the coverage of the interval, the MSIS of the 95 % interval and the scaled
    quantile loss (sql), each averaged over the series. --plot draws each window's forecast
    against the actual values (the series of --plot-ids, else the first 3 and the 3 of largest
    sMAPE over the windows) and the sMAPE of each origin.

    Example: tsrnn backtest sales.csv --horizon 12 --origins 4 --forecasts cv.csv --level 80
    """
    from tsrnn.evaluation import backtest as run_backtest
    from tsrnn.forecaster import RNNForecaster
    from tsrnn.intervals import DEFAULT_INTERVAL
    from tsrnn.io import write_csv_atomic

    start(quiet=quiet, log_format=log_format)
    timer = Timer()
    if output == "-" and forecasts == "-":
        raise typer.BadParameter(
            "only one CSV can go to standard output: give a file to --output or to --forecasts",
            param_hint="'--output' / '--forecasts'",
        )
    check_levels(level, quantile, interval=params.get("interval", DEFAULT_INTERVAL))
    if (level or quantile) and forecasts is None:
        raise typer.BadParameter(
            "the bounds of --level and --quantile are columns of the forecasts table: add "
            "--forecasts PATH",
            param_hint="'--level' / '--quantile'",
        )
    check_plot_ids(plot_ids, plot)
    check_outputs(output, forecasts, plot)
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
    chosen = chosen_in_memory(plot_ids, y, data=data)  # before any fit
    progress_to_stderr()
    forecaster = RNNForecaster(verbose=int(LOG.bars), **params)
    windows = dict(horizon=horizon, n_origins=origins, step=step)
    if forecasts is None and plot is None:
        metrics = run_backtest(forecaster, y, **windows, X=X, static=table, refit=refit)
    else:  # the metrics and the table of the same fits
        metrics, rows = run_backtest(
            forecaster,
            y,
            **windows,
            X=X,
            static=table,
            refit=refit,
            level=level,
            quantiles=quantile,
            return_table=True,
        )
        if forecasts is not None:
            _write_rows(rows, forecasts)
    if output is not None:
        write_csv_atomic(metrics.rename_axis("origin").reset_index(), output)
    drawn = "plot"
    if plot is not None:
        drawn = plot_backtest(
            y, rows, metrics, plot, chosen=chosen, target=y.name, horizon=horizon
        ).describe()
    if "-" not in (output, forecasts):
        print_table(metrics)
    say(quiet, describe_series(y, data))
    written = {"metrics": output, "forecasts": forecasts, drawn: plot}
    shown = [f"{path} ({what})" for what, path in written.items() if path not in (None, "-")]
    where = f": {', '.join(shown)}" if shown else ""
    say(
        quiet,
        f"Backtested {origins} origins of {horizon} steps on {count_series(y)} series in "
        f"{timer}{where}.",
        "done",
        command="backtest",
        seconds=timer.seconds,
    )


def _write_rows(table: "pd.DataFrame", path: str) -> None:
    """Write the forecasts table: Parquet when ``path`` ends with .parquet or .pq, else CSV."""
    from tsrnn.io import atomic_path, write_csv_atomic

    if str(path) != "-" and str(path).lower().endswith((".parquet", ".pq")):
        with atomic_path(path) as tmp:
            table.to_parquet(tmp, index=False)
    else:
        write_csv_atomic(table, path)
