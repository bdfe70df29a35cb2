"""What the commands print: the summary lines on stderr, the spinners, the tables on stdout.

Every line of the summary goes through :func:`say` and every long wait through :func:`stage`,
so ``--quiet`` silences both in one place, and ``--log-format`` (``_log``) turns them into the
log's lines; results (CSV, tables) go to stdout, the rest to stderr. pandas, rich's console
and ``tsrnn.io`` are imported inside the functions that use them: ``tsrnn --help`` reads this
module's options and must stay fast.
"""

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from . import _log

Quiet = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="No progress bar and no summary; errors still show."),
]


def say(quiet: bool, message: str, event: str | None = None, **fields: Any) -> None:
    """One line of the summary, on stderr, unless --quiet; with --log-format json, the
    ``event`` with its ``fields`` and the ``message`` instead (nothing without an event: the
    stage lines hold what the line says)."""
    if quiet or _log.LOG.quiet:
        return
    if not _log.LOG.json:
        typer.echo(message, err=True)
    elif event is not None:
        _log.write({"event": event, **fields, "message": message})


@contextlib.contextmanager
def stage(
    quiet: bool, message: str | None, name: str | None = None, **fields: Any
) -> Iterator[dict[str, Any]]:
    """Show ``message`` with a spinner on stderr while the block runs (reading, forecasting);
    with a ``name``, the finished stage is a line of the log (its seconds and ``fields``, and
    those the block adds to the dict it gets) where no spinner shows.

    The spinner shows on a terminal only, and not with --quiet or --log-format json; it is
    transient, so logs and error output keep their single lines. No ``message``, no spinner:
    a block that writes to stdout needs none (rich's spinner sends what is written to stdout
    while it spins to its own console, stderr).
    """
    shown = dict(fields)
    start = time.perf_counter()
    if quiet or message is None or not _log.LOG.bars:
        yield shown
    else:
        from rich.console import Console

        with Console(stderr=True, highlight=False).status(message):
            yield shown
    if name is not None and not quiet:
        _log.stage_line(name, time.perf_counter() - start, **shown)


def progress_to_stderr() -> None:
    """Send rich output (the training progress bar) to stderr, keeping stdout for results."""
    import rich

    rich.reconfigure(stderr=True, highlight=False)


class Timer:
    """Seconds since creation: ``timer = Timer(); ...; f"{timer}"`` -> '3.2 s'."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        """Seconds since creation, to the millisecond."""
        return round(time.perf_counter() - self.start, 3)

    def __str__(self) -> str:
        return f"{time.perf_counter() - self.start:.1f} s"


def count_series(frame) -> int:
    """Series in a result indexed by time, or by (id, time): 1, or the distinct ids."""
    import pandas as pd

    if isinstance(frame.index, pd.MultiIndex):
        return int(frame.index.get_level_values(0).nunique())
    return 1


def lookbacks(model) -> str:
    """A fitted forecaster's lookbacks for a summary line: "24", or "24 and 48"."""
    return " and ".join(str(n) for n in sorted({lb for lb, _, _ in model.network_inputs_}))


def describe_series(y, path) -> str:
    """'Read 144 rows from sales.csv: 1 series, frequency MS, 1949-01-01 to 1960-12-01.'"""
    from tsrnn.io import format_value

    times = y.index.get_level_values(-1)
    first, last = times.min(), times.max()
    return (
        f"Read {len(y)} rows from {path}: {count_series(y)} series, frequency "
        f"{y.attrs.get('freq')}, {format_value(first)} to {format_value(last)}."
    )


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


def peaks_gib(peaks: dict[str, int]) -> list[float]:
    """Each worker's peak memory of a stage in GiB (3 decimals), highest first."""
    return [round(b / 2**30, 3) for b in sorted(peaks.values(), reverse=True)]


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


def describe_outputs(**outputs) -> str:
    """'forecast.csv (forecast), forecast.png (plot)' for the outputs that were written."""
    shown = [
        f"{'stdout' if str(path) == '-' else path} ({what})"
        for what, path in outputs.items()
        if path is not None
    ]
    return ", ".join(shown) if shown else "nothing written"


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
