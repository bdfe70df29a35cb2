"""The package's layers: nothing imports upward, no import circles, each layer's libraries.

The rule is written in ``tsrnn/__init__.py``'s docstring; :data:`LAYERS` is the same map.
Every import counts, those inside functions too (a lazy import hides a circle, it does not
remove it), read from the source with ``ast`` (nothing is imported to find them).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import tsrnn

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tsrnn"

#: Bottom first. A module may import modules of its own layer and of the layers below it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("tsrnn._version", "tsrnn.errors")),
    (
        "data",
        (
            "tsrnn._data",
            "tsrnn.intervals",
            "tsrnn.metrics",
            "tsrnn.windowing",
            "tsrnn.io",
            "tsrnn.datasets",
        ),
    ),
    ("training", ("tsrnn._train", "tsrnn.nn")),
    ("regressor", ("tsrnn.estimator",)),
    ("forecaster engine", ("tsrnn._forecast",)),
    ("forecaster", ("tsrnn.forecaster", "tsrnn.evaluation")),
    ("model files", ("tsrnn.persist", "tsrnn.mlflow")),
    ("cluster", ("tsrnn.cluster", "tsrnn._dask")),
    ("dataset", ("tsrnn._dataset",)),
    ("distributed", ("tsrnn.parallel", "tsrnn.search")),
    ("public names", ("tsrnn",)),
]

#: Libraries a layer's modules never import (at any depth of the module).
FORBIDDEN = {
    "data": ("torch", "dask", "distributed"),
    "training": ("pandas", "dask", "distributed"),
    "regressor": ("pandas", "dask", "distributed"),
    "forecaster engine": ("dask", "distributed"),
    "forecaster": ("dask", "distributed"),
    "model files": ("dask", "distributed"),
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _layer_of(module: str) -> int:
    best, rank = -1, None
    for k, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), k
    assert rank is not None, f"{module} is in no layer: add it to LAYERS (and the code map)"
    return rank


def _imports(module: str, path: Path) -> list[tuple[str, int]]:
    """(imported name, line) of every import of ``module``, relative ones resolved."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:  # `from . import estimator` imports a module
                name = f"{base}.{alias.name}"
                found.append((name if name in MODULES else base, node.lineno))
    return found


def _internal(name: str) -> str | None:
    """The tsrnn module an imported name lives in, or None outside the package."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        for name, _ in _imports(module, path):
            target = _internal(name)
            if target is not None and target != module:
                graph[module].add(target)
    return graph


def test_every_module_has_a_layer():
    for module in MODULES:
        _layer_of(module)


def test_nothing_imports_upward():
    upward = []
    for module, path in MODULES.items():
        for name, line in _imports(module, path):
            target = _internal(name)
            if target is not None and _layer_of(target) > _layer_of(module):
                upward.append(
                    f"{path.relative_to(ROOT)}:{line} {module} "
                    f"({LAYERS[_layer_of(module)][0]}) imports {target} "
                    f"({LAYERS[_layer_of(target)][0]})"
                )
    assert not upward, "\n".join(upward)


def test_no_import_circles():
    graph, state, circles = _edges(), {}, []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                circles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    # The package imports its subpackages' public names on first use, by name, not by `import`.
    circles = [c for c in circles if not c.startswith("tsrnn ->")]
    assert not circles, "\n".join(circles)


def test_each_layer_keeps_to_its_libraries():
    found = []
    for module, path in MODULES.items():
        banned = FORBIDDEN.get(LAYERS[_layer_of(module)][0], ())
        for name, line in _imports(module, path):
            if name.split(".")[0] in banned:
                found.append(f"{path.relative_to(ROOT)}:{line} {module} imports {name}")
    assert not found, "\n".join(found)


def test_the_cli_imports_only_public_modules():
    private = []
    for path in sorted((ROOT / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            private += [
                f"{path.relative_to(ROOT)}:{node.lineno} imports {name}"
                for name in names
                if name.startswith("tsrnn.") and any(p.startswith("_") for p in name.split(".")[1:])
            ]
    assert not private, "\n".join(private)


def test_the_code_map_names_every_layer():
    """tsrnn/__init__.py's docstring is the written rule: each layer's folders and modules."""
    doc = tsrnn.__doc__
    for _, prefixes in LAYERS[:-1]:
        for prefix in prefixes:
            name = prefix.removeprefix("tsrnn.")
            shown = f"{name}/" if (PACKAGE / name).is_dir() else name
            assert shown in doc, f"the code map in tsrnn/__init__.py does not show {shown}"


def _code_map() -> dict[str, set[str]]:
    """The modules the code map lists: ``""`` for the top level, ``"_data"`` for the folder
    ``_data/ (checks, stamps, ...)``, and so on."""
    start = tsrnn.__doc__.index("::")
    text = tsrnn.__doc__[start:]
    listed: dict[str, set[str]] = {"": set()}
    for folder, inside in re.findall(r"([\w.]+)/ \(([^)]*)\)", text, flags=re.S):
        listed[folder] = {name.strip() for name in re.split(r"[,\s]+", inside) if name.strip()}
    words = re.sub(r"[\w.]+/ \([^)]*\)", " ", text, flags=re.S)
    listed[""] = set(re.findall(r"[\w.]+", words))
    return listed


def test_the_code_map_lists_every_module():
    """A module the code map does not name fails here: add it where it belongs."""
    listed = _code_map()
    missing = []
    for module in MODULES:
        parts = module.split(".")[1:]
        if not parts or parts[-1] == "__init__":
            continue
        folder, name = (".".join(parts[:-1]), parts[-1]) if len(parts) > 1 else ("", parts[0])
        if (PACKAGE / Path(*parts)).is_dir():  # a folder: shown as "name/"
            if f"{parts[-1]}/" not in tsrnn.__doc__:
                missing.append(f"{parts[-1]}/")
            continue
        if name not in listed.get(folder, set()):
            missing.append(module)
    assert not missing, f"the code map in tsrnn/__init__.py does not list {missing}"


def test_backtest_is_the_function_whatever_was_imported_before():
    for info in pkgutil.walk_packages(tsrnn.__path__, "tsrnn."):
        importlib.import_module(info.name)
    from tsrnn import backtest

    assert callable(backtest) and backtest.__module__ == "tsrnn.evaluation"
    assert tsrnn.backtest is backtest


@pytest.mark.timeout(120)
def test_backtest_is_the_function_in_a_fresh_process_after_every_submodule():
    """The same in a new interpreter, where nothing has set ``tsrnn.backtest`` yet."""
    code = (
        "import importlib, pkgutil, tsrnn\n"
        "for info in pkgutil.walk_packages(tsrnn.__path__, 'tsrnn.'):\n"
        "    importlib.import_module(info.name)\n"
        "from tsrnn import backtest\n"
        "print(type(backtest).__name__, backtest.__module__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["function", "tsrnn.evaluation"]
