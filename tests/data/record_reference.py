"""Record the reference forecasts of ``tests/test_unchanged.py`` (run once, before a refactor).

The layers issue (#21) moved the engine into layer folders with "no behaviour change". This
script was run on the code *before* the move, and wrote:

* ``reference_forecasts.json``: the forecasts of a few fitted models (a single series with
  intervals and the Theta combination, many series with exogenous columns and the recursive
  strategy, a regressor on windows);
* ``forecaster_0.1.0.tsrnn`` and ``forecaster_0.1.0.json``: the first of those forecasters, as
  release 0.1.0 saved it, and its forecast then (written once; this script no longer touches
  them).

``tests/test_unchanged.py`` fits the same models with the current code and compares. Running
this script again overwrites ``reference_forecasts.json`` with the current code's output: do
that only for a change that is *meant* to change forecasts, and say so in the commit. (Rerun
three times for #23: the interval bounds became asymmetric, took each series' own unit, and
were centred on the forecast; every forecast column stayed as recorded.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from reference_models import CASES  # noqa: E402

import tsrnn  # noqa: E402


def main() -> None:
    out = {"tsrnn": tsrnn.__version__, "cases": {}}
    for name, build in CASES.items():
        _, prediction = build()
        if isinstance(prediction, pd.DataFrame):
            values = {c: prediction[c].to_numpy().tolist() for c in prediction.columns}
        else:
            values = {"prediction": np.asarray(prediction).ravel().tolist()}
        out["cases"][name] = values
    (HERE / "reference_forecasts.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
