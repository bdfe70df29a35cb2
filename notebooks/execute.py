"""Execute the tutorial notebooks top to bottom and save them with their outputs.

Usage, from the repository root with the project's environment active::

    python notebooks/execute.py            # every notebook, full budgets, saved in place
    python notebooks/execute.py 01 04      # only the notebooks whose names start with these
    python notebooks/execute.py --quick    # TSRNN_QUICK=1 (the tests' small budgets); saves nothing

Each notebook runs in a fresh ``python3`` kernel of *this* interpreter (jupyter_client starts
the kernel with ``sys.executable``), in a temporary working directory, and stops at the first
cell that raises. Saved notebooks carry their outputs, plots included, so that they read well
on a code host without being run. ``tests/test_notebooks.py`` runs the same function with
``TSRNN_QUICK=1`` on a copy of each notebook.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
KERNEL = "python3"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def settle_streams(nb: nbformat.NotebookNode) -> None:
    """Keep what a terminal would finally show of each cell's stdout and stderr.

    Progress bars redraw their line with carriage returns, and the kernel sends each redraw as
    a separate output. Consecutive outputs of one stream are joined, each line keeps only the
    text after its last carriage return, and terminal colour codes are dropped.
    """
    for cell in nb.cells:
        outputs = []
        for out in cell.get("outputs", []):
            last = outputs[-1] if outputs else None
            if out.output_type == "stream" and last is not None and last.get("name") == out.name:
                last.text += out.text
            else:
                outputs.append(out)
        for out in outputs:
            if out.output_type == "stream":
                lines = _ANSI.sub("", out.text).split("\n")
                out.text = "\n".join(line.rsplit("\r", 1)[-1] for line in lines)
        if "outputs" in cell:
            cell.outputs = outputs


def notebooks(prefixes: list[str] | None = None) -> list[Path]:
    """The tutorial notebooks in order, optionally only those whose names start with a prefix."""
    paths = sorted(HERE.glob("[0-9][0-9]_*.ipynb"))
    if prefixes:
        paths = [p for p in paths if any(p.name.startswith(prefix) for prefix in prefixes)]
    return paths


def execute(path: Path, *, quick: bool, timeout: int = 600) -> tuple[nbformat.NotebookNode, float]:
    """Run one notebook top to bottom in a fresh kernel; return it with outputs and the seconds.

    ``quick`` sets ``TSRNN_QUICK=1`` in the kernel's environment (the parameter cell of each
    notebook reads it); otherwise the variable is removed so that full budgets apply. Raises
    ``nbclient.exceptions.CellExecutionError`` on the first failing cell.
    """
    nb = nbformat.read(path, as_version=4)
    env = dict(os.environ)
    env.pop("TSRNN_QUICK", None)
    if quick:
        env["TSRNN_QUICK"] = "1"
    with tempfile.TemporaryDirectory(prefix=f"tsrnn-{path.stem}-") as workdir:
        client = NotebookClient(
            nb,
            kernel_name=KERNEL,
            timeout=timeout,
            record_timing=False,
            resources={"metadata": {"path": workdir}},
        )
        start = time.perf_counter()
        client.execute(env=env, cwd=workdir)
        elapsed = time.perf_counter() - start
    return nb, elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("prefixes", nargs="*", help="run only notebooks whose names start so")
    parser.add_argument(
        "--quick", action="store_true", help="small budgets (TSRNN_QUICK=1); save nothing"
    )
    args = parser.parse_args(argv)
    paths = notebooks(args.prefixes)
    if not paths:
        parser.error(f"no notebook in {HERE} starts with {args.prefixes}")
    for path in paths:
        print(f"{path.name}: running...", flush=True)
        nb, elapsed = execute(path, quick=args.quick)
        if not args.quick:
            settle_streams(nb)
            nbformat.write(nb, path)
        size = path.stat().st_size / 1024
        action = "checked" if args.quick else f"saved ({size:.0f} KiB)"
        print(f"{path.name}: {action} in {elapsed:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
