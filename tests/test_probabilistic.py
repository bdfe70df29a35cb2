"""Tests of the forecaster's levels and quantiles: consistent, calibrated, within the series'
own bounds, and asked for at predict time without a refit."""

import numpy as np
import pandas as pd
import pytest

from tsrnn import RNNForecaster
from tsrnn._forecast.conformal import pooled_ratios
from tsrnn.errors import DataError, ParameterError
from tsrnn.persist import load, save

FAST = {"hidden_size": 8, "epochs": 3, "n_models": 1, "device": "cpu", "random_state": 0}
QUANTILES = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]


def panel(values: np.ndarray, freq: str = "MS") -> pd.Series:
    """Rows of ``values`` (n_series, n_steps) as a long Series on (id, ds)."""
    n, steps = values.shape
    index = pd.MultiIndex.from_product(
        [[f"s{k}" for k in range(n)], pd.date_range("2000-01-01", periods=steps, freq=freq)],
        names=["id", "ds"],
    )
    return pd.Series(values.ravel(), index=index, name="y")


@pytest.fixture(scope="module")
def noisy():
    """300 series: a known seasonal shape plus Gaussian noise of known size, 20 future steps
    held out."""
    rng = np.random.default_rng(0)
    t = np.arange(80)
    shape = 3 * np.sin(2 * np.pi * t / 12)
    values = shape + rng.normal(0.0, 1.0, size=(300, 80))
    y = panel(values[:, :72])
    return RNNForecaster(horizon=6, lookback=24, **FAST).fit(y), values[:, 72:78], y


def test_levels_and_quantiles_are_nested_and_consistent(noisy):
    """The 80 % interval lies inside the 95 % one, q-0.1 is lo-80, quantiles never cross."""
    model, _, _ = noisy
    out = model.predict(level=[80, 95], quantiles=QUANTILES)
    assert list(out.columns) == [
        "forecast", "lower", "upper", "lo-80", "hi-80", "lo-95", "hi-95",
        *[f"q-{q:g}" for q in QUANTILES],
    ]  # fmt: skip
    assert (out["lo-95"] <= out["lo-80"]).all() and (out["hi-80"] <= out["hi-95"]).all()
    assert (out["lo-80"] < out["hi-80"]).all()
    np.testing.assert_allclose(out["q-0.1"], out["lo-80"])
    np.testing.assert_allclose(out["q-0.05"], out["lower"])  # interval=0.9 by default
    np.testing.assert_allclose(out["q-0.95"], out["upper"])
    quantiles = out[[f"q-{q:g}" for q in QUANTILES]].to_numpy()
    assert (np.diff(quantiles, axis=1) >= 0).all()
    # The default columns are what they were: asking for levels adds columns only.
    np.testing.assert_array_equal(model.predict().to_numpy(), out.iloc[:, :3].to_numpy())


def test_coverage_on_known_noise_is_close_to_nominal_at_several_levels(noisy):
    """On held-out steps of series with Gaussian noise, each level covers about its share."""
    model, future, _ = noisy
    levels = [50, 80, 95]
    out = model.predict(level=levels)
    actual = future.ravel()
    for level in levels:
        inside = (out[f"lo-{level}"].to_numpy() <= actual) & (actual <= out[f"hi-{level}"])
        assert abs(inside.mean() - level / 100) < 0.05, (level, inside.mean())
    # Sharp as well: the 95 % interval is near the noise's 2 * 1.96 (plus the model's error).
    width = (out["hi-95"] - out["lo-95"]).to_numpy()
    assert 3.9 < np.median(width) < 5.5


def test_counts_with_zeros_never_get_a_negative_bound():
    """Sparse counts (many zeros): every bound and quantile is at least 0."""
    rng = np.random.default_rng(1)
    counts = rng.poisson(0.7, size=(40, 48)).astype(float)
    model = RNNForecaster(horizon=6, **FAST).fit(panel(counts))
    out = model.predict(level=[50, 95, 99], quantiles=[0.01, 0.5])
    assert out.to_numpy().min() >= 0.0
    assert (out["lo-99"] == 0).any()  # the floor holds, it is not a shift of the bounds


def test_a_positive_series_gets_positive_bounds():
    """A series that is always above 0 (log-scaled) gets lower bounds above 0 at any level."""
    rng = np.random.default_rng(2)
    values = np.exp(rng.normal(0, 1.0, size=(20, 48)))  # very noisy, never 0
    model = RNNForecaster(horizon=6, **FAST).fit(panel(values))
    out = model.predict(level=[99.5])
    assert (out["lo-99.5"] > 0).all()


def test_bias_gives_asymmetric_bounds():
    """Skewed noise (exponential): the bounds sit unevenly around the median."""
    rng = np.random.default_rng(3)
    values = 10 + rng.exponential(2.0, size=(100, 60))
    model = RNNForecaster(horizon=4, scaler="standard", **FAST).fit(panel(values))
    out = model.predict(quantiles=[0.05, 0.5, 0.95])
    above = (out["q-0.95"] - out["q-0.5"]).mean()
    below = (out["q-0.5"] - out["q-0.05"]).mean()
    assert above > 1.5 * below


def test_symmetric_ratios_give_symmetric_bounds_around_the_forecast(noisy):
    """The alternative the default was measured against stays available offline."""
    model, _, _ = noisy
    ratios = pooled_ratios(model.calibration_scores_, symmetric=True, unit=model.calibration_.unit)
    low, high = ratios.quantile([0.1, 0.9])
    assert low == pytest.approx(-high)


def test_levels_survive_a_save_and_load(noisy, tmp_path):
    model, _, _ = noisy
    save(model, tmp_path / "m.tsrnn")
    again = load(tmp_path / "m.tsrnn")
    pd.testing.assert_frame_equal(
        again.predict(level=[80], quantiles=[0.3]), model.predict(level=[80], quantiles=[0.3])
    )


def test_bad_levels_and_quantiles_are_clear_errors(noisy):
    model, _, _ = noisy
    with pytest.raises(ParameterError, match="level must hold percentages"):
        model.predict(level=[100])
    with pytest.raises(ParameterError, match="quantiles must be probabilities"):
        model.predict(quantiles=[80])


def test_levels_without_an_interval_are_a_clear_error():
    rng = np.random.default_rng(4)
    model = RNNForecaster(horizon=3, interval=None, **FAST).fit(panel(rng.normal(size=(5, 40))))
    assert model.predict()["lower"].isna().all()
    with pytest.raises(DataError, match="interval=None"):
        model.predict(level=[80])


def test_each_series_gets_bounds_in_its_own_unit():
    """Half the series are three times as noisy as the others: their bounds are about three
    times as wide, and each half is covered at about the nominal level (pooled bounds in one
    unit would over-cover the calm half and under-cover the noisy one)."""
    rng = np.random.default_rng(5)
    noise = np.repeat([1.0, 3.0], 150)[:, None]
    t = np.arange(70)
    values = 50 + 3 * np.sin(2 * np.pi * t / 12) + noise * rng.normal(size=(300, 70))
    model = RNNForecaster(horizon=6, lookback=24, scaler="standard", **FAST)
    model.fit(panel(values[:, :64]))
    out = model.predict(level=[80])
    actual = values[:, 64:].ravel()
    inside = (out["lo-80"].to_numpy() <= actual) & (actual <= out["hi-80"].to_numpy())
    width = (out["hi-80"] - out["lo-80"]).to_numpy().reshape(300, 6)
    assert 2.2 < width[150:].mean() / width[:150].mean() < 3.8
    calm, noisy = inside.reshape(300, 6)[:150].mean(), inside.reshape(300, 6)[150:].mean()
    assert abs(calm - 0.8) < 0.07 and abs(noisy - 0.8) < 0.07, (calm, noisy)


def test_a_series_never_seen_in_fit_is_forecast_from_its_own_history(noisy):
    """A fitted series' history under a new id: scaled on its own history, it gets the very
    forecast and bounds the fitted series gets (its scaling recomputed from the same history
    is the fitted one); mixed with seen series, each keeps its own, in the order of y."""
    model, _, y = noisy
    fitted = model.predict(level=[80])
    history = y[y.index.get_level_values(0).isin(["s3", "s7"])]
    renamed = history.rename(index={"s3": "new"}, level=0)
    both = model.predict(y=renamed, level=[80])
    assert both.index.get_level_values(0).unique().tolist() == ["new", "s7"]
    pd.testing.assert_frame_equal(both.loc["new"], fitted.loc["s3"], rtol=1e-6)
    pd.testing.assert_frame_equal(both.loc["s7"], fitted.loc["s7"], rtol=1e-6)
