"""Packaging: the ``cli/`` folder installs as ``tsrnn_cli``, never as a top-level ``cli``."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True)


def test_installed_package_is_tsrnn_cli_not_cli(tmp_path):
    """From outside the checkout, `tsrnn_cli` imports and `cli` does not exist."""
    found = _python("import tsrnn_cli.main; print(tsrnn_cli.main.main.__module__)", tmp_path)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "tsrnn_cli.main"
    missing = _python("import cli", tmp_path)
    assert missing.returncode != 0
    assert "ModuleNotFoundError: No module named 'cli'" in missing.stderr


@pytest.mark.timeout(180)
def test_wheel_has_no_top_level_cli(tmp_path):
    """A wheel holds tsrnn/, tsrnn_cli/ and the datasets, and no cli/ folder."""
    if shutil.which("pyproject-build") is None and _python("import build", tmp_path).returncode:
        pytest.skip("the 'build' package is not installed")
    source = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for folder in ("tsrnn", "cli"):
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", source)
    readme = ROOT / "README.md"
    (source / "README.md").write_text(readme.read_text() if readme.exists() else "tsrnn\n")
    # Build with the installed setuptools (quick, no network); it needs no `wheel` package.
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--skip-dependency-check",
            "--outdir",
            str(tmp_path),
        ],
        cwd=source,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    [wheel] = tmp_path.glob("tsrnn-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if n.startswith("cli/")]
    assert "tsrnn_cli/main.py" in names and "tsrnn_cli/forecast.py" in names
    assert "tsrnn/persist.py" in names and "tsrnn/datasets/airpassengers.csv" in names
    root = Path(__file__).resolve().parents[1]
    sources = {p.relative_to(root).as_posix() for p in (root / "tsrnn").rglob("*.py")}
    assert sources <= set(names), sorted(sources - set(names))  # subpackages too
    [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert "tsrnn = tsrnn_cli.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
