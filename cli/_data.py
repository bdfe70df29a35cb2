"""What the commands read and write: the data file and its columns, the horizon, the outputs.

The column options (``--time-col``, ``--target``, ``--id-col``, ``--exog``, ``--static``,
``--future``) name what :func:`read_data` reads with ``tsrnn.io.read_inputs``; ``--output`` and
``--plot`` what a forecast writes, checked by :func:`check_outputs` before any work. The library
is imported inside the functions: ``tsrnn --help`` reads these options and must stay fast.
"""

from pathlib import Path
from typing import Annotated

import typer

from ._printing import count_series, stage

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
        help="Also write a PNG of the recent history, forecast, interval and --level bands: "
        "for many series, the first 3 and the 3 of largest error on the calibration windows.",
    ),
]


def _ids(values: list[str] | None) -> list[str] | None:
    """``--plot-ids a,b --plot-ids c`` -> ``["a", "b", "c"]``, each once."""
    return list(dict.fromkeys(exog_columns(values) or [])) or None


PlotIds = Annotated[
    list[str] | None,
    typer.Option(
        "--plot-ids",
        metavar="ID[,ID]",
        callback=_ids,
        help="The series --plot draws, by their ids (values of the --id-col column); repeat "
        "the option or separate ids by commas.",
        show_default="the first 3 and the 3 hardest",
    ),
]


def columns_to_read(exog: list[str] | None, params: dict) -> list[str] | None:
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


def read_data(quiet: bool, path, **columns):
    """``tsrnn.io.read_inputs(path, **columns)`` (y, X, static) behind a 'Reading ...'
    spinner: the stage "reading" of the log, with the rows and series read."""
    from tsrnn.io import read_inputs

    with stage(quiet, f"Reading {path} ...", "reading", data=str(path)) as shown:
        y, X, static = read_inputs(path, **columns)
        shown.update(rows=len(y), series=count_series(y))
    return y, X, static
