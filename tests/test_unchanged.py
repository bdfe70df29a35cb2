"""The same seeds and data give the forecasts recorded before the layers refactor (#21).

(The interval bounds were recorded again for #23, when they became asymmetric and took each
series' own unit; the forecasts themselves are still the ones recorded before #21.)

``tests/data/record_reference.py`` ran the models of ``tests/reference_models.py`` on the code
before the engine moved into layer folders and saved their forecasts (and one model file).
Training runs on the CPU, single-threaded: the tolerance only absorbs floating-point
differences between CPUs, far below what any change of the algorithm moves.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from reference_models import CASES

import tsrnn

DATA = Path(__file__).resolve().parent / "data"
RECORDED = json.loads((DATA / "reference_forecasts.json").read_text())["cases"]


def _values(prediction) -> dict[str, np.ndarray]:
    if isinstance(prediction, pd.DataFrame):
        return {c: prediction[c].to_numpy() for c in prediction.columns}
    return {"prediction": np.asarray(prediction).ravel()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_forecasts_match_those_recorded_before_the_refactor(case):
    _, prediction = CASES[case]()
    got = _values(prediction)
    assert sorted(got) == sorted(RECORDED[case])
    for column, expected in RECORDED[case].items():
        np.testing.assert_allclose(got[column], expected, rtol=1e-5, atol=1e-6, err_msg=column)


def test_a_model_file_of_release_0_1_0_loads_and_forecasts_as_recorded():
    """Its symmetric interval included: a format 2 file keeps one half-width per step."""
    model = tsrnn.load(DATA / "forecaster_0.1.0.tsrnn")
    got = _values(model.predict())
    recorded = json.loads((DATA / "forecaster_0.1.0.json").read_text())["forecast"]
    for column, expected in recorded.items():
        np.testing.assert_allclose(got[column], expected, rtol=1e-5, atol=1e-6, err_msg=column)
