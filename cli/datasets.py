"""``tsrnn datasets``: list the bundled datasets and export one as CSV."""

from typing import Annotated

import typer

app = typer.Typer(
    help="Small real datasets shipped with tsrnn (nothing is downloaded).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("list")
def list_datasets() -> None:
    """Print the name and description of each bundled dataset."""
    from tsrnn import datasets

    for name in datasets.list():
        typer.echo(f"{name:<15} {datasets.DATASETS[name]['description']}")


@app.command("export")
def export(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Dataset name, from 'tsrnn datasets list'.")
    ],
    output: Annotated[
        str, typer.Argument(metavar="PATH", help="CSV file to write, or '-' for standard output.")
    ],
) -> None:
    """Write a bundled dataset as CSV (time column 'ds' and one value column).

    Example: tsrnn datasets export airpassengers out.csv
    """
    from tsrnn import datasets
    from tsrnn.io import write_csv_atomic

    write_csv_atomic(datasets.load(name).reset_index(), output)
