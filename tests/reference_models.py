"""The models whose forecasts ``tests/test_unchanged.py`` compares with recorded ones.

Each case builds its data, fits a small model with a fixed seed and returns the model and its
prediction. ``tests/data/record_reference.py`` recorded these before the layers refactor.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsrnn import RNNForecaster, RNNRegressor, make_windows
from tsrnn.datasets import load


def single():
    """AirPassengers, intervals, the default ensemble of 4 networks over two lookbacks."""
    model = RNNForecaster(horizon=12, steps=30, hidden_size=8, random_state=0, device="cpu")
    model.fit(load("airpassengers"))
    return model, model.predict()


def panel(n_series: int = 6) -> tuple[pd.Series, pd.DataFrame]:
    rng = np.random.default_rng(7)
    ys, xs = [], []
    for k in range(n_series):
        n = 30 + 7 * k
        stamps = pd.date_range("2010-01-04", periods=n, freq="W-MON")
        promo = (rng.random(n) < 0.2).astype(float)
        values = 50 + 5 * k + 4 * np.sin(np.arange(n) / 3) + 6 * promo + rng.normal(0, 1, n)
        index = pd.MultiIndex.from_arrays([[f"s{k}"] * n, stamps], names=["id", "week"])
        ys.append(pd.Series(values, index=index, name="sales"))
        xs.append(pd.DataFrame({"promo": promo}, index=index))
    return pd.concat(ys), pd.concat(xs)


def many_exog_recursive():
    """Six weekly series of different lengths, one exogenous column, recursive strategy."""
    y, X = panel()
    model = RNNForecaster(
        horizon=4, strategy="recursive", steps=25, hidden_size=6, n_models=2,
        combine="theta", random_state=1, device="cpu",
    )  # fmt: skip
    model.fit(y, X)
    ids = y.index.get_level_values(0).unique()
    future = []
    for key in ids:
        last = y.loc[key].index[-1]
        stamps = pd.date_range(last, periods=5, freq="W-MON")[1:]
        index = pd.MultiIndex.from_arrays([[key] * 4, stamps], names=["id", "week"])
        future.append(pd.DataFrame({"promo": [1.0, 0.0, 0.0, 1.0]}, index=index))
    return model, model.predict(X_future=pd.concat(future))


def regressor():
    """An LSTM regressor on windows of a sine, 3 epochs."""
    X, y = make_windows(np.sin(np.arange(200) / 6), lookback=10, horizon=2)
    model = RNNRegressor(hidden_size=8, epochs=3, random_state=0, device="cpu").fit(X, y)
    return model, model.predict(X[-5:])


CASES = {"single": single, "many_exog_recursive": many_exog_recursive, "regressor": regressor}
