"""The tutorial notebooks run top to bottom, and the committed ones carry their outputs.

Each notebook is executed in a fresh ``python3`` kernel of this interpreter with
``TSRNN_QUICK=1``, which makes its parameter cell pick small budgets; any cell that raises fails
the test. The committed notebooks are regenerated with full budgets by
``python notebooks/execute.py``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "_notebook_runner", ROOT / "notebooks" / "execute.py"
)
runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runner)

NOTEBOOKS = runner.notebooks()
QUICK_LIMIT_S = 90  # each takes well under 40 s on 2 idle cores; the margin is for busy CI


def test_there_are_notebooks():
    names = [path.name for path in NOTEBOOKS]
    assert names == sorted(names) and len(names) >= 1, names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
@pytest.mark.timeout(240)
def test_notebook_runs_in_quick_mode(path):
    # execute() reads the file and runs it in a temporary directory: the committed notebook is
    # not modified. A failing cell raises CellExecutionError with the cell and its traceback.
    nb, elapsed = runner.execute(path, quick=True, timeout=QUICK_LIMIT_S)
    print(f"{path.name}: {elapsed:.1f} s in quick mode")
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    first = nb.cells[1]
    assert 'os.environ.get("TSRNN_QUICK") == "1"' in first.source, "parameter cell comes first"
    assert "quick=True" in "".join(
        out.get("text", "") for out in outputs if out.output_type == "stream"
    ), "the notebook should print that it runs in quick mode"
    assert elapsed < QUICK_LIMIT_S


def test_kernel_runs_this_interpreter(tmp_path):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import sys, os; print(sys.executable); print(os.environ.get('TSRNN_QUICK'))"
            )
        ]
    )
    path = tmp_path / "00_probe.ipynb"
    nbformat.write(nb, path)
    executed, _ = runner.execute(path, quick=True, timeout=60)
    text = executed.cells[0].outputs[0]["text"].split()
    assert Path(text[0]).resolve() == Path(sys.executable).resolve()
    assert text[1] == "1"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_committed_notebook_carries_its_outputs(path):
    """Run top to bottom with full budgets (``python notebooks/execute.py``), plots included."""
    nb = nbformat.read(path, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code" and cell.source.strip()]
    counts = [cell.execution_count for cell in code]
    assert counts == list(range(1, len(code) + 1)), f"not executed top to bottom: {counts}"
    outputs = [out for cell in code for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    assert any("image/png" in out.get("data", {}) for out in outputs), "no plot saved"
    assert "quick=False" in "".join(
        out.get("text", "") for out in outputs if out.output_type == "stream"
    ), "committed outputs must come from a full-budget run, not TSRNN_QUICK=1"
    assert path.stat().st_size < 1_000_000
