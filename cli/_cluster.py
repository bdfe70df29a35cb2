"""Where the work runs: ``--workers``, ``--scheduler`` and ``--ranks``, and the Dask clusters.

A fit trains in this process unless told of a cluster (:func:`training_cluster`); a Parquet
dataset (:func:`on_the_cluster`) is read, trained on and forecast by the workers of one
(:func:`dataset_cluster`, :func:`read_dataset`) and never passes through this process.
``tsrnn.parallel`` (and with it Dask) is imported only when a cluster is asked for.
"""

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from ._log import LOG, stage_line
from ._printing import peaks_gib, say, stage

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


def check_cluster(*, workers: int | None, scheduler: str | None) -> None:
    """Refuse --workers with --scheduler (a local cluster, or an existing one)."""
    if workers is not None and scheduler is not None:
        raise typer.BadParameter(
            "give --workers (a local cluster) or --scheduler (an existing one), not both",
            param_hint="'--workers' / '--scheduler'",
        )


@contextlib.contextmanager
def training_cluster(
    quiet: bool, *, workers: int | None, scheduler: str | None, ranks: int | None
) -> Iterator[None]:
    """Fits inside the block train on the Dask cluster asked for, else in this process."""
    check_cluster(workers=workers, scheduler=scheduler)
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
            train_on_dask(scheduler, n_workers=workers, ranks=ranks, verbose=LOG.bars)
        )
    with stack:
        n_workers = len(client.scheduler_info(n_workers=-1)["workers"])
        say(
            quiet,
            f"{n_workers} Dask worker(s) ready to train; dashboard: {client.dashboard_link}",
            "cluster",
            workers=n_workers,
            dashboard=client.dashboard_link,
        )
        yield


def on_the_cluster(data: str | None, *, workers: int | None, scheduler: str | None) -> bool:
    """Whether DATA is a Parquet dataset the workers of a cluster read (see ``Data``)."""
    if data is None:
        return False
    text = str(data)
    if "://" in text or any(c in text for c in "*?[") or Path(text).is_dir():
        return True
    cluster = workers is not None or scheduler is not None
    return cluster and text.lower().endswith((".parquet", ".pq"))


def check_dataset_output(output: str | None, plot) -> None:
    """The output of a forecast on the cluster is a folder; --plot a file written here."""
    if output is None or str(output) == "-" or str(output).lower().endswith(".csv"):
        raise typer.BadParameter(
            "the forecast of a Parquet dataset on a cluster is written by the workers as a "
            "Parquet dataset: give --output a folder, e.g. --output forecasts/ (to write CSV, "
            "read a single file without --workers or --scheduler)",
            param_hint="'--output'",
        )
    if plot is not None:
        from ._data import check_outputs

        check_outputs(plot)


@contextlib.contextmanager
def dataset_cluster(quiet: bool, *, workers: int | None, scheduler: str | None) -> Iterator:
    """A client of the cluster asked for, or of a local one (one worker per core)."""
    check_cluster(workers=workers, scheduler=scheduler)
    from tsrnn.parallel import train_on_dask

    where = f"the Dask cluster at {scheduler}" if scheduler else "local Dask workers"
    stack = contextlib.ExitStack()
    with stage(quiet, f"Starting {where} ..."):
        client = stack.enter_context(train_on_dask(scheduler, n_workers=workers))
    with stack:
        n_workers = len(client.scheduler_info(n_workers=-1)["workers"])
        say(
            quiet,
            f"{n_workers} Dask worker(s) ready; dashboard: {client.dashboard_link}",
            "cluster",
            workers=n_workers,
            dashboard=client.dashboard_link,
        )
        yield client


def read_dataset(quiet: bool, client, data: str, **columns):
    """``tsrnn.parallel.read_dataset`` behind a spinner."""
    from tsrnn.parallel import read_dataset as read

    with stage(quiet, f"Reading {data} on the cluster ..."):
        return read(data, client=client, **columns)


def dataset_written(dataset, written: dict, *, output: str, horizon: int) -> None:
    """The stages "prediction" and "writing" of a dataset's forecast, as lines of the log:
    ``written`` holds their seconds (``tsrnn.parallel.write_dataset``), and the workers' peak
    memory of the two together is the prediction's."""
    stage_line(
        "prediction",
        written["computing"],
        series=dataset.n_series,
        horizon=horizon,
        peak_gib=peaks_gib(dataset.peaks.get("prediction", {})),
    )
    stage_line("writing", written["writing"], output=output)
