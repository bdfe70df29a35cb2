"""Options shared by the commands, and the small helpers that print their results.

Nothing here imports tsrnn, torch or pandas at module level: ``tsrnn --help`` builds every
command's options from this file and must stay fast. The model options are a table named after
the parameters of :class:`tsrnn.RNNForecaster` (``--hidden-size`` is ``hidden_size``); a
command decorated with :func:`model_options` gets the ones the user gave as a dict, and the
forecaster's own defaults apply to the rest.
"""

import contextlib
import functools
import inspect
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal

import typer

# ---------------------------------------------------------------------- cluster options

Workers = Annotated[
    int | None,
    typer.Option(
        "--workers",
        metavar="INT",
        min=1,
        help="Train on a local Dask cluster of this many worker processes.",
        show_default="search: one per core; fit and forecast: in this process",
    ),
]
Scheduler = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="ADDRESS",
        help="Train on the Dask cluster of this scheduler (e.g. tcp://host:8786); the search "
        "also reads DASK_SCHEDULER_ADDRESS.",
    ),
]
Ranks = Annotated[
    int | None,
    typer.Option(
        "--ranks",
        metavar="INT",
        min=1,
        help="With --workers or --scheduler: workers training each network together "
        "(data-parallel).",
        show_default="the workers shared out over the networks",
    ),
]


def check_cluster(workers: int | None, scheduler: str | None) -> None:
    """Refuse --workers with --scheduler (a local cluster, or an existing one)."""
    if workers is not None and scheduler is not None:
        raise typer.BadParameter(
            "give --workers (a local cluster) or --scheduler (an existing one), not both",
            param_hint="'--workers' / '--scheduler'",
        )


@contextlib.contextmanager
def training_cluster(
    quiet: bool, workers: int | None, scheduler: str | None, ranks: int | None
) -> Iterator[None]:
    """Fits inside the block train on the Dask cluster asked for, else in this process."""
    check_cluster(workers, scheduler)
    if workers is None and scheduler is None:
        if ranks is not None:
            raise typer.BadParameter(
                "--ranks needs a cluster: add --workers INT or --scheduler ADDRESS",
                param_hint="'--ranks'",
            )
        yield
        return
    from tsrnn.parallel import train_on_dask

    where = f"the Dask cluster at {scheduler}" if scheduler else f"{workers} local Dask workers"
    stack = contextlib.ExitStack()
    with stage(quiet, f"Starting {where} ..."):
        client = stack.enter_context(
            train_on_dask(scheduler, n_workers=workers, ranks=ranks, verbose=not quiet)
        )
    with stack:
        n_workers = len(client.scheduler_info(n_workers=-1)["workers"])
        say(quiet, f"{n_workers} Dask worker(s) ready to train; dashboard: {client.dashboard_link}")
        yield


def on_the_cluster(data: str | None, workers: int | None, scheduler: str | None) -> bool:
    """Whether DATA is a Parquet dataset the workers of a cluster read (see ``Data``)."""
    if data is None:
        return False
    text = str(data)
    if "://" in text or any(c in text for c in "*?[") or Path(text).is_dir():
        return True
    cluster = workers is not None or scheduler is not None
    return cluster and text.lower().endswith((".parquet", ".pq"))


def check_dataset_output(output: str | None, plot) -> None:
    """The output of a forecast on the cluster is a folder, and nothing is drawn."""
    if output is None or str(output) == "-" or str(output).lower().endswith(".csv"):
        raise typer.BadParameter(
            "the forecast of a Parquet dataset on a cluster is written by the workers as a "
            "Parquet dataset: give --output a folder, e.g. --output forecasts/ (to write CSV, "
            "read a single file without --workers or --scheduler)",
            param_hint="'--output'",
        )
    if plot is not None:
        raise typer.BadParameter(
            "--plot draws rows held by this process, and a dataset on a cluster never comes "
            "here: drop --plot",
            param_hint="'--plot'",
        )


@contextlib.contextmanager
def dataset_cluster(quiet: bool, workers: int | None, scheduler: str | None) -> Iterator:
    """A client of the cluster asked for, or of a local one (one worker per core)."""
    check_cluster(workers, scheduler)
    from tsrnn.parallel import train_on_dask

    where = f"the Dask cluster at {scheduler}" if scheduler else "local Dask workers"
    stack = contextlib.ExitStack()
    with stage(quiet, f"Starting {where} ..."):
        client = stack.enter_context(train_on_dask(scheduler, n_workers=workers))
    with stack:
        n_workers = len(client.scheduler_info(n_workers=-1)["workers"])
        say(quiet, f"{n_workers} Dask worker(s) ready; dashboard: {client.dashboard_link}")
        yield client


def read_dataset(quiet: bool, client, data: str, **columns):
    """``tsrnn.parallel.read_dataset`` behind a spinner."""
    from tsrnn.parallel import read_dataset as read

    with stage(quiet, f"Reading {data} on the cluster ..."):
        return read(data, client=client, **columns)


def describe_dataset(dataset) -> str:
    """'Read 10300000 rows of 100000 series from lake/ on the cluster: frequency D, ...'."""
    from tsrnn.io import format_value

    first, last = dataset.span
    layout = "shuffled into" if dataset.shuffled else "already whole in"
    return (
        f"Read {dataset.n_rows} rows of {dataset.n_series} series from {dataset.label} on the "
        f"cluster ({layout} {len(dataset.buckets)} buckets): frequency {dataset.freq}, "
        f"{format_value(first)} to {format_value(last)}."
    )


def describe_stages(*timings: dict, peaks: dict | None = None) -> str:
    """'Stages: reading and shuffling 3.1 s (workers' peak 1.21 / 1.18 GiB), ...': the
    seconds of each stage, and the peak memory of each worker during it where measured."""
    peaks = peaks or {}
    parts = []
    for name, seconds in (item for t in timings for item in t.items()):
        part = f"{name} {seconds:.1f} s"
        if peaks.get(name):
            shown = " / ".join(f"{b / 2**30:.2f}" for b in sorted(peaks[name].values())[::-1])
            part += f" (workers' peak {shown} GiB)"
        parts.append(part)
    return "Stages: " + ", ".join(parts) + "."


def check_levels(
    level: list | None, quantiles: list | None, interval: float | None, *, saved: bool = False
) -> None:
    """Refuse --level and --quantile without a prediction interval, before any work.

    Levels and quantiles come from the calibration of the interval: a model fitted with
    ``interval=None`` (``--no-interval``; ``saved``: a model file) has none.
    """
    if (level or quantiles) and interval is None:
        given = "--level" if level else "--quantile"
        why = (
            "and the model was fitted without one (--no-interval): fit it again with an interval"
            if saved
            else "which --no-interval skips: drop --no-interval"
        )
        raise typer.BadParameter(
            f"{given} needs the calibration of the prediction interval, {why}",
            param_hint=f"'{given}'",
        )


# ---------------------------------------------------------------------- data options

Data = Annotated[
    str,
    typer.Argument(
        metavar="DATA",
        help="CSV file with a header row, or Parquet file (.parquet, .pq): a time column and "
        "the values (one row per time step; many series in long format with --id-col). A "
        "Parquet dataset (a folder, a glob such as 'lake/*.parquet', or a URL such as "
        "s3://bucket/lake/), or a Parquet file with --workers or --scheduler, is read by the "
        "workers of a Dask cluster and never passes through this process.",
        show_default=False,
    ),
]
TimeCol = Annotated[
    str | None,
    typer.Option(
        "--time-col",
        metavar="COLUMN",
        help="Column of timestamps.",
        show_default="the only date column",
    ),
]
Target = Annotated[
    str | None,
    typer.Option(
        "--target",
        metavar="COLUMN",
        help="Column to forecast.",
        show_default="the only numeric column left",
    ),
]
IdCol = Annotated[
    str | None,
    typer.Option(
        "--id-col",
        metavar="COLUMN",
        help="Column naming each series, for many series in long format.",
    ),
]
Exog = Annotated[
    list[str] | None,
    typer.Option(
        "--exog",
        metavar="COLUMN[,COLUMN]",
        help="Exogenous (input) column; repeat the option or separate names by commas.",
        show_default=False,
    ),
]
Static = Annotated[
    list[str] | None,
    typer.Option(
        "--static",
        metavar="COLUMN[,COLUMN]",
        help="Column holding one value per series (a product's group, a store's size: numbers, "
        "or text for a category), an input of every step; never needed in --future. Repeat "
        "the option or separate names by commas.",
        show_default=False,
    ),
]
Future = Annotated[
    Path | None,
    typer.Option(
        "--future",
        metavar="FILE",
        help="CSV or Parquet file with the future values of the --exog columns (time column, "
        "id column if any, and one row per forecast step); needed when the model uses --exog.",
    ),
]
Horizon = Annotated[
    int | None,
    typer.Option(
        "--horizon",
        "-H",
        metavar="INT",
        min=1,
        help="Steps ahead to forecast.",
        show_default="one season, e.g. 12 for monthly data",
    ),
]
Output = Annotated[
    str,
    typer.Option(
        "--output",
        "-o",
        metavar="PATH",
        help="Where to write the forecast CSV; '-' writes the CSV to standard output and "
        "nothing else.",
    ),
]
Plot = Annotated[
    Path | None,
    typer.Option(
        "--plot",
        metavar="PNG",
        help="Also write a PNG of the recent history, forecast, interval and --level bands.",
    ),
]


def _between(values: list[float] | None, top: float, what: str) -> list[float] | None:
    """Values in (0, ``top``), each once, in the order given; else one line saying ``what``."""
    for value in values or []:
        if not 0 < value < top:  # NaN too
            raise typer.BadParameter(f"{value:g} is not {what}")
    return list(dict.fromkeys(values)) if values else None


def _percentages(values: list[float] | None) -> list[float] | None:
    """``--level`` values: percentages in (0, 100)."""
    return _between(values, 100, "a percentage in (0, 100): give the coverage of an interval, "
                                 "e.g. --level 80 --level 95")  # fmt: skip


def _probabilities(values: list[float] | None) -> list[float] | None:
    """``--quantile`` values: probabilities in (0, 1)."""
    return _between(values, 1, "a probability in (0, 1): give a quantile such as --quantile "
                               "0.1 --quantile 0.9")  # fmt: skip


Levels = Annotated[
    list[float] | None,
    typer.Option(
        "--level",
        metavar="PERCENT",
        callback=_percentages,
        help="Also write the bounds of the prediction interval of this coverage in percent as "
        "columns lo-PERCENT and hi-PERCENT (--level 80: lo-80, hi-80); repeat the option for "
        "more levels.",
        show_default=False,
    ),
]
Quantiles = Annotated[
    list[float] | None,
    typer.Option(
        "--quantile",
        metavar="FLOAT",
        callback=_probabilities,
        help="Also write this quantile of the forecast, in (0, 1), as column q-FLOAT "
        "(--quantile 0.1: q-0.1); repeat the option for more quantiles.",
        show_default=False,
    ),
]

Quiet = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="No progress bar and no summary; errors still show."),
]

# ---------------------------------------------------------------------- model options

#: RNNForecaster parameter -> its option. Defaults shown are the forecaster's (a test checks).
MODEL_OPTIONS = {
    "lookback": Annotated[
        int | None,
        typer.Option(
            metavar="INT",
            min=1,
            help="Steps of history each forecast reads.",
            show_default="2 horizons or 2 seasons, at least 8; short series are padded",
        ),
    ],
    "long_lookback": Annotated[
        int | None,
        typer.Option(
            metavar="INT",
            min=1,
            help="Steps of history the third and fourth of every four networks read instead.",
            show_default="2 lookbacks, at most the longest series",
        ),
    ],
    "strategy": Annotated[
        Literal["direct", "recursive"] | None,
        typer.Option(
            help="direct: one network emits every step; recursive: a one-step network is fed "
            "its own forecasts.",
            show_default="direct",
        ),
    ],
    "normalize": Annotated[
        Literal["last", "window", "none"] | None,
        typer.Option(
            help="How each window is made level-free (window: also scale-free).",
            show_default="window",
        ),
    ],
    "season_length": Annotated[
        int | None,
        typer.Option(
            metavar="INT", min=1, help="Observations per season.", show_default="from the frequency"
        ),
    ],
    "scaler": Annotated[
        Literal["auto", "log", "standard", "minmax", "none"] | None,
        typer.Option(
            help="Scaling of each series (auto: log if positive, else standard) and inputs.",
            show_default="auto",
        ),
    ],
    "deseasonalize": Annotated[
        bool | None,
        typer.Option(
            "--deseasonalize/--no-deseasonalize",
            help="Take seasonal indices out of series with a significant season.",
            show_default="True",
        ),
    ],
    "patch_size": Annotated[
        int | None,
        typer.Option(
            metavar="INT",
            min=1,
            help="Steps the network reads as one input step.",
            show_default="lookback / 12, at least 1",
        ),
    ],
    "combine": Annotated[
        Literal["auto", "none", "theta"] | None,
        typer.Option(
            help="theta: average the networks' forecast with the Theta method's; auto: "
            "whichever errs less on the calibration windows.",
            show_default="auto",
        ),
    ],
    "interval": Annotated[
        float | None,
        typer.Option(
            metavar="FLOAT",
            help="Coverage of the prediction interval, in (0, 1).",
            show_default="0.9",
        ),
    ],
    "no_interval": Annotated[
        bool,
        typer.Option(
            "--no-interval", help="Skip the prediction interval (faster: one network less)."
        ),
    ],
    "hist_exog": Annotated[
        list[str] | None,
        typer.Option(
            "--hist-exog",
            metavar="COLUMN[,COLUMN]",
            help="Past-only input column: read over the history, never needed in the future "
            "(no --future for it); repeat the option or separate names by commas.",
            show_default=False,
        ),
    ],
    "calendar": Annotated[
        Literal["auto"] | None,
        typer.Option(
            help="auto: add calendar inputs read off the timestamps (hour, weekday, day of the "
            "year, week, month or quarter, as the frequency has them); no future file needed.",
            show_default="none",
        ),
    ],
    "holidays": Annotated[
        str | None,
        typer.Option(
            metavar="COUNTRY",
            help="Add an input that is 1 on the public holidays of this country (a code of the "
            "holidays package: US, DE, GB, US-CA, ...), read off the timestamps of daily or "
            "finer data; no future file needed.",
            show_default=False,
        ),
    ],
    "missing": Annotated[
        Literal["mask", "raise"] | None,
        typer.Option(
            help="Empty target values and missing timestamps (gaps): mask them out of the inputs "
            "and the loss, or refuse them.",
            show_default="mask",
        ),
    ],
    "calibration_size": Annotated[
        int | None,
        typer.Option(
            metavar="INT",
            min=1,
            help="Windows per series held out to calibrate the interval.",
            show_default="about 200 in all, one per series at least",
        ),
    ],
    "n_models": Annotated[
        int | None,
        typer.Option(
            metavar="INT", min=1, help="Networks averaged (different seeds).", show_default="4"
        ),
    ],
    "cell": Annotated[
        Literal["rnn", "lstm", "gru"] | None,
        typer.Option(help="Recurrent cell.", show_default="lstm"),
    ],
    "hidden_size": Annotated[
        int | None,
        typer.Option(metavar="INT", min=1, help="Units of the hidden state.", show_default="64"),
    ],
    "num_layers": Annotated[
        int | None,
        typer.Option(metavar="INT", min=1, help="Stacked recurrent layers.", show_default="1"),
    ],
    "dropout": Annotated[
        float | None,
        typer.Option(
            metavar="FLOAT",
            help="Dropout between layers and before the head, in [0, 1).",
            show_default="0.0",
        ),
    ],
    "optimizer": Annotated[
        Literal["adam", "rmsprop", "sgd"] | None,
        typer.Option(help="Optimizer.", show_default="adam"),
    ],
    "learning_rate": Annotated[
        float | None, typer.Option(metavar="FLOAT", help="Learning rate.", show_default="0.001")
    ],
    "weight_decay": Annotated[
        float | None, typer.Option(metavar="FLOAT", help="L2 penalty.", show_default="0.0")
    ],
    "steps": Annotated[
        int | None,
        typer.Option(
            metavar="INT",
            min=1,
            help="Gradient steps per network.",
            show_default="50 passes over the windows, 300 to 2000 steps",
        ),
    ],
    "epochs": Annotated[
        int | None,
        typer.Option(metavar="INT", min=1, help="Passes over the windows instead of --steps."),
    ],
    "batch_size": Annotated[
        int | None,
        typer.Option(metavar="INT", min=1, help="Windows per batch.", show_default="256"),
    ],
    "loss": Annotated[
        Literal["mse", "mae", "huber"] | None,
        typer.Option(help="Training loss.", show_default="mae"),
    ],
    "clip_grad_norm": Annotated[
        float | None,
        typer.Option(
            metavar="FLOAT", help="Clip the gradient norm to this value.", show_default="1.0"
        ),
    ],
    "device": Annotated[
        str | None,
        typer.Option(help="auto, cpu, cuda or cuda:N.", show_default="auto"),
    ],
    "n_threads": Annotated[
        int | None,
        typer.Option(
            metavar="INT",
            min=1,
            help="Torch threads while training.",
            show_default="1",
        ),
    ],
    "random_state": Annotated[
        int | None,
        typer.Option(
            metavar="INT",
            help="Seed: the same seed and data give the same forecast on one machine.",
        ),
    ],
}


def model_options(command, exclude: frozenset[str] = frozenset()):
    """Give ``command`` the model options; it receives the ones given as ``params``.

    ``params`` maps RNNForecaster parameter names to the values the user typed; options left
    out are absent, so the forecaster's defaults apply. ``--no-interval`` becomes
    ``interval=None``. Options named in ``exclude`` are left out (use it through
    ``functools.partial`` as a decorator).
    """
    options = {name: a for name, a in MODEL_OPTIONS.items() if name not in exclude}
    signature = inspect.signature(command)
    own = [p for name, p in signature.parameters.items() if name != "params"]
    added = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=annotation,
            default=False if name == "no_interval" else None,
        )
        for name, annotation in options.items()
    ]

    @functools.wraps(command)
    def with_params(**kwargs):
        given = {name: kwargs.pop(name) for name in options}
        params = {name: value for name, value in given.items() if value is not None}
        if params.pop("no_interval", False):
            params["interval"] = None
        if "hist_exog" in params:
            params["hist_exog"] = exog_columns(params["hist_exog"])
        return command(**kwargs, params=params)

    with_params.__signature__ = signature.replace(parameters=own + added)
    return with_params


# ---------------------------------------------------------------------- helpers


def input_columns(exog: list[str] | None, params: dict) -> list[str] | None:
    """The columns to read beside the target: ``--exog`` (already split) and ``--hist-exog``."""
    return [*(exog or []), *params.get("hist_exog", [])] or None


def exog_columns(values: list[str] | None) -> list[str] | None:
    """``--exog a --exog b,c`` -> ``["a", "b", "c"]``; None when not given."""
    if not values:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def check_outputs(*paths) -> None:
    """Fail before any work if an output file could not be written ('-' and None pass)."""
    from tsrnn.io import check_output_path

    for path in paths:
        if path is not None and str(path) != "-":
            check_output_path(path)


def progress_to_stderr() -> None:
    """Send rich output (the training progress bar) to stderr, keeping stdout for results."""
    import rich

    rich.reconfigure(stderr=True, highlight=False)


@contextlib.contextmanager
def stage(quiet: bool, message: str) -> Iterator[None]:
    """Show ``message`` with a spinner on stderr while the block runs (reading, forecasting).

    Nothing is shown with --quiet, and nothing is written when stderr is not a terminal (the
    spinner is transient), so logs and error output keep their single lines.
    """
    if quiet:
        yield
        return
    from rich.console import Console

    with Console(stderr=True, highlight=False).status(message):
        yield


def read_data(quiet: bool, path, **columns):
    """``tsrnn.io.read_inputs(path, **columns)`` (y, X, static) behind a 'Reading ...'
    spinner."""
    from tsrnn.io import read_inputs

    with stage(quiet, f"Reading {path} ..."):
        return read_inputs(path, **columns)


def count_series(frame) -> int:
    """Series in a result indexed by time, or by (id, time): 1, or the distinct ids."""
    import pandas as pd

    if isinstance(frame.index, pd.MultiIndex):
        return int(frame.index.get_level_values(0).nunique())
    return 1


def lookbacks(model) -> str:
    """A fitted forecaster's lookbacks for a summary line: "24", or "24 and 48"."""
    return " and ".join(str(n) for n in sorted({lb for lb, _, _ in model.network_inputs_}))


def say(quiet: bool, message: str) -> None:
    """One line of the summary, on stderr, unless --quiet."""
    if not quiet:
        typer.echo(message, err=True)


def describe_series(y, path) -> str:
    """'Read 144 rows from sales.csv: 1 series, frequency MS, 1949-01-01 to 1960-12-01.'"""
    from tsrnn.io import format_value

    times = y.index.get_level_values(-1)
    first, last = times.min(), times.max()
    return (
        f"Read {len(y)} rows from {path}: {count_series(y)} series, frequency "
        f"{y.attrs.get('freq')}, {format_value(first)} to {format_value(last)}."
    )


def describe_outputs(**outputs) -> str:
    """'forecast.csv (forecast), forecast.png (plot)' for the outputs that were written."""
    shown = [
        f"{'stdout' if str(path) == '-' else path} ({what})"
        for what, path in outputs.items()
        if path is not None
    ]
    return ", ".join(shown) if shown else "nothing written"


class Timer:
    """Seconds since creation: ``timer = Timer(); ...; f"{timer}"`` -> '3.2 s'."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __str__(self) -> str:
        return f"{time.perf_counter() - self.start:.1f} s"


def print_table(table) -> None:
    """Print a DataFrame as an aligned table on stdout (its index too, when it is named).

    Floats are shown with 4 significant digits, NaN and None as blanks, timestamps as
    ``tsrnn.io.format_value`` writes them.
    """
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from tsrnn.io import format_value

    def cell(value) -> str:
        if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
            return ""
        if isinstance(value, float):
            return f"{value:.4g}"
        return format_value(value)

    shown = Table(box=None, header_style="bold")
    named = table.index.name is not None
    if named:
        shown.add_column(str(table.index.name), justify="right")
    for column in table.columns:
        shown.add_column(str(column), justify="right")
    for key, row in table.iterrows():
        shown.add_row(*([str(key)] if named else []), *(cell(value) for value in row))
    # Wide enough not to truncate when stdout is a file or a pipe (rich assumes 80 columns).
    Console(highlight=False, width=None if sys.stdout.isatty() else 200).print(shown)
