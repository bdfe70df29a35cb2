"""Model files written by earlier releases, one set per file format, load and forecast as then.

``tests/data/model_files/record.py`` ran once per format with the last commit that wrote it
(and, for format 4, also with the first: 3618c46), fitted small forecasters, saved them and
recorded the format version read back from the file and every column of a few ``predict``
calls, with the frames they were given (the commits are in its docstring and in each
``.json``). Here today's ``tsrnn.load`` reads each file and makes the same calls.

The tolerance is that of ``tests/test_unchanged.py``. On the CPU that recorded the files,
formats 4 and 5 forecast equal to the last bit; format 1 differs by one float32 rounding
(relative 2.4e-7: since 5263936 the ensemble averages its members' decoded forecasts instead
of decoding their average) and the bounds of formats 2 and 3 by float64 rounding (relative
1e-15, since 50488a1 computed each series' unit of its bounds as a product of powers).
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safetensors import safe_open

import tsrnn
from tsrnn.persist import FORMAT_VERSION

FOLDER = Path(__file__).resolve().parent / "data" / "model_files"
FILES = sorted(FOLDER.glob("format*_*.tsrnn"))

_spec = importlib.util.spec_from_file_location("record_model_files", FOLDER / "record.py")
record = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(record)


def _format(path: Path) -> int:
    return int(re.match(r"format(\d+)", path.name).group(1))


def _format_in_file(path: Path) -> int:
    with safe_open(str(path), framework="pt") as f:
        return int(f.metadata()["format_version"])


def _calls(path: Path):
    """The recorded calls of a file: its model, then (predict's output, the recorded one)."""
    recorded = json.loads(path.with_suffix(".json").read_text())
    assert _format_in_file(path) == recorded["format_version"] == _format(path)
    model = tsrnn.load(path)
    for call in recorded["calls"]:
        got = model.predict(**record.call_arguments(call["kwargs"], recorded["inputs"]))
        expected = record.decode(call["output"])
        pd.testing.assert_index_equal(got.index, expected.index, exact=False, check_freq=False)
        yield got, expected, call["kwargs"]


def _close(got, expected, column, kwargs):
    np.testing.assert_allclose(
        got[column].to_numpy(),
        expected[column].to_numpy(),
        rtol=1e-5,
        atol=1e-6,
        err_msg=f"{column} of predict({kwargs})",
    )


def test_every_format_has_files_written_by_its_release():
    """A new format gets its fixtures from the code that writes it (see record.py)."""
    assert {_format(p) for p in FILES} == set(range(1, FORMAT_VERSION + 1))
    assert all(p.with_suffix(".json").exists() for p in FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_a_model_file_of_an_earlier_release_forecasts_as_it_did(path):
    """Every column: forecast, interval bounds, and levels and quantiles from format 3.

    Files of 3618c46, the first commit of format 4, keep no unit weights (50488a1, still
    format 4, added them): they are read in the unit 3618c46 wrote them in (the smoothing
    error grown with the step, weights [0, 1, 1]), not in format 3's (the spread alone), which
    moved their bounds by up to 23 % until the fixtures showed it."""
    for got, expected, kwargs in _calls(path):
        assert list(got.columns) == list(expected.columns)
        for column in expected.columns:
            _close(got, expected, column, kwargs)


def test_a_format_1_file_tells_each_network_by_its_input_width():
    """Format 1 has no network_inputs: one lookback, and a network that reads its windows'
    scale has one input more."""
    model = tsrnn.load(FOLDER / "format1_plain.tsrnn")
    assert model.network_inputs_ == [(24, 2, False), (24, 2, True)] * 2


def _contents(path: Path) -> tuple[dict, dict]:
    """A model file's JSON document (without when and by which versions it was written) and
    its tensors."""
    with safe_open(str(path), framework="np") as f:
        document = json.loads(f.metadata()["tsrnn"])
        tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
    for key in ("created", "tsrnn_version", "torch_version"):
        document.pop(key)
    return document, tensors


@pytest.mark.parametrize(
    "path", [p for p in FILES if _format(p) == FORMAT_VERSION], ids=lambda p: p.stem
)
def test_a_file_of_the_current_format_is_written_again_as_it_was(path, tmp_path):
    """Read and saved again, a file of this format holds the same document and tensors:
    whatever holds a fit in memory, the file of a fit is unchanged."""
    again = tsrnn.save(tsrnn.load(path), tmp_path / "again.tsrnn")
    (document, tensors), (written, rewritten) = _contents(path), _contents(again)
    assert written == document
    assert rewritten.keys() == tensors.keys()
    for name, tensor in tensors.items():
        np.testing.assert_array_equal(rewritten[name], tensor, err_msg=name)
