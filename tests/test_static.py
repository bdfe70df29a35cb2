"""Static and categorical covariates (#24): embeddings, unknown categories, new series, files."""

import numpy as np
import pandas as pd
import pytest
import torch

from tsrnn import RNNForecaster, RNNRegressor
from tsrnn._data.categories import coded, learn_categories
from tsrnn.errors import DataError
from tsrnn.nn import RNNNet, embedding_size
from tsrnn.persist import load, save

FAST = {"hidden_size": 16, "n_models": 2, "device": "cpu", "random_state": 0}
STAMPS = pd.date_range("2021-01-04", periods=63, freq="D")


def _retail(n: int = 24, seed: int = 0):
    """Daily sales of ``n`` items: the item's group sets the sign of its weekly shape, its
    store's size its level, and a promotion type (text) lifts sales by a known amount."""
    rng = np.random.default_rng(seed)
    ids = [f"item{k}" for k in range(n)]
    group = np.array(["weekday", "weekend"])[np.arange(n) % 2]
    size = rng.uniform(1, 3, n)
    promo = rng.choice(["none", "none", "none", "bogo", "discount"], size=(n, len(STAMPS)))
    lift = np.select([promo == "bogo", promo == "discount"], [8.0, 4.0], 0.0)
    weekly = np.sin(2 * np.pi * np.arange(len(STAMPS)) / 7)
    sign = np.where(group == "weekday", 1.0, -1.0)[:, None]
    sales = 20 + 3 * size[:, None] + 3 * sign * weekly + lift + 0.3 * rng.normal(size=lift.shape)
    index = pd.MultiIndex.from_product([ids, STAMPS], names=["item", "date"])
    y = pd.Series(sales.ravel(), index=index, name="sales")
    rival = rng.normal(size=lift.shape)  # a past-only column (noise here)
    X = pd.DataFrame({"promo": promo.ravel(), "rival": rival.ravel()}, index=index)
    static = pd.DataFrame({"group": group, "store_size": size}, index=ids)
    return y, X, static


def _future(ids, start, horizon, value="none"):
    stamps = pd.date_range(start, periods=horizon, freq="D")
    index = pd.MultiIndex.from_product([ids, stamps], names=["item", "date"])
    return pd.DataFrame({"promo": value}, index=index)


@pytest.fixture(scope="module")
def fitted():
    y, X, static = _retail()
    y = y.mask(np.random.default_rng(1).random(len(y)) < 0.03)  # missing values, masked
    # Left in the series (no deseasonalising, no Theta), the weekly shape is the networks' to
    # learn: from the calendar and, for a short history, from the item's group.
    model = RNNForecaster(horizon=7, steps=500, deseasonalize=False, combine="none",
                          calendar="auto", hist_exog=["rival"], **FAST)  # fmt: skip
    model.fit(y, X, static=static)
    return model, y, X, static


def test_categories_become_codes_and_unknown_values_code_zero():
    frame = pd.DataFrame({"store": ["b", "a", "b"], "price": [1.0, 2.0, 3.0]})
    categories = learn_categories(frame)
    assert categories == {"store": ["a", "b"]}
    unseen = coded(pd.DataFrame({"store": ["a", "new"], "price": [1.0, 2.0]}), categories)
    assert unseen["store"].tolist() == [1.0, 0.0] and unseen["price"].tolist() == [1.0, 2.0]
    with pytest.raises(DataError, match="'store' of X has an empty value"):
        learn_categories(pd.DataFrame({"store": ["a", None]}))


def test_each_category_has_its_own_embedding_and_unknown_reads_their_centroid():
    net = RNNNet(6, 2, hidden_size=4, categorical=[([2, 5], 3), ([4], 10)])
    assert [tuple(t.shape) for t in net.embeddings] == [(3, embedding_size(3)), (10, 6)]
    assert net.rnn.input_size == 3 + 2 * embedding_size(3) + 6  # 3 plain channels kept
    x = torch.zeros(1, 1, 6)
    x[..., [2, 5]], x[..., 4] = 2.0, 7.0
    out = net.embedded(x)[0, 0]
    first = net.embeddings[0]
    size = embedding_size(3)
    assert torch.equal(out[3 : 3 + size], first[1]) and torch.equal(out[-6:], net.embeddings[1][6])
    x[..., [2, 5]] = 0.0  # unknown
    assert torch.allclose(net.embedded(x)[0, 0, 3 : 3 + size], first.mean(0))


def test_the_regressor_checks_its_categorical_channels():
    X = np.zeros((8, 3, 2), dtype=np.float32)
    with pytest.raises(ValueError, match="does not fit windows of 2 channels"):
        RNNRegressor(categorical=[([2], 3)], epochs=1).fit(X, np.zeros(8))
    with pytest.raises(ValueError, match="pairs"):
        RNNRegressor(categorical=[7], epochs=1).fit(X, np.zeros(8))


def test_every_network_embeds_each_categorical_column(fitted):
    model, *_ = fitted
    assert list(model.feature_names_in_)[:4] == ["promo", "rival", "group", "store_size"]
    assert model.categories_ == {"promo": ["bogo", "discount", "none"],
                                 "group": ["weekday", "weekend"]}  # fmt: skip
    for regressor in model.models_:
        tables = [tuple(t.shape) for t in regressor.module_.embeddings]
        assert tables == [(3, embedding_size(3)), (2, embedding_size(2))]
    assert model.static_.shape == (24, 2)
    assert np.array_equal(model.static_[:2, 0], [1.0, 2.0])  # weekday, weekend codes


def test_the_promotion_type_and_the_group_change_the_forecast(fitted):
    """The embeddings are read: a bogo promotion forecasts more than none, and the group
    flips the weekly shape of a new item with too short a history to show it."""
    model, y, *_ = fitted
    ids = model.series_ids_
    start = STAMPS[-1] + pd.Timedelta("1D")
    plain = model.predict(X_future=_future(ids, start, 7))["forecast"]
    bogo = model.predict(X_future=_future(ids, start, 7, "bogo"))["forecast"]
    discount = model.predict(X_future=_future(ids, start, 7, "discount"))["forecast"]
    assert (bogo - plain).mean() > 3.0 and (bogo - discount).mean() > 0.5  # lifts 8 and 4
    short = y.loc[["item0"]].iloc[-3:].rename(index={"item0": "new"}, level=0)
    X_short = pd.DataFrame({"promo": "none", "rival": 0.0}, index=short.index)
    future = _future(["new"], start, 7)
    shapes = {}
    for group in ("weekday", "weekend"):
        static = pd.DataFrame({"group": [group], "store_size": [2.0]}, index=["new"])
        out = model.predict(y=short, X=X_short, X_future=future, static=static)["forecast"]
        shapes[group] = out.to_numpy() - out.mean()
    truth = np.sin(2 * np.pi * np.arange(63, 70) / 7)
    # What the group changes is the weekly shape: weekday minus weekend follows the truth.
    assert np.corrcoef(shapes["weekday"] - shapes["weekend"], truth)[0, 1] > 0.5


def test_an_unknown_category_is_forecast_not_refused(fitted):
    model, y, X, _ = fitted
    start = STAMPS[-1] + pd.Timedelta("1D")
    history = y.loc[["item3"]].rename(index={"item3": "new"}, level=0)
    X_new = X.loc[["item3"]].rename(index={"item3": "new"}, level=0)
    row = pd.DataFrame({"group": ["never seen"], "store_size": [2.0]}, index=["new"])
    out = model.predict(y=history, X=X_new, X_future=_future(["new"], start, 7, "flash sale"),
                        static=row)  # fmt: skip
    assert len(out) == 7 and np.isfinite(out.to_numpy(dtype=float)).all()


def test_a_new_series_with_a_fitted_series_history_and_static_row_gets_its_forecast(fitted):
    """As without static covariates (test_probabilistic): a fitted series under a new id,
    with the same history and static row, gets the very forecast the fitted one gets."""
    model, y, X, static = fitted
    start = STAMPS[-1] + pd.Timedelta("1D")
    ids = model.series_ids_
    seen = model.predict(X_future=_future(ids, start, 7))
    history = y.loc[["item3", "item5"]].rename(index={"item3": "new"}, level=0)
    X_new = X.loc[["item3", "item5"]].rename(index={"item3": "new"}, level=0)
    row = static.loc[["item3"]].rename(index={"item3": "new"})
    both = model.predict(y=history, X=X_new, X_future=_future(["new", "item5"], start, 7),
                         static=row)  # fmt: skip
    pd.testing.assert_frame_equal(both.loc["new"], seen.loc["item3"], rtol=1e-5)
    pd.testing.assert_frame_equal(both.loc["item5"], seen.loc["item5"], rtol=1e-5)
    with pytest.raises(DataError, match="'new' was not seen in fit: pass its static"):
        model.predict(y=history, X=X_new, X_future=_future(["new", "item5"], start, 7))


def test_static_and_categorical_inputs_survive_a_save_and_load(fitted, tmp_path):
    """With every input at once: static, text, past-only and calendar columns, NaN targets."""
    model, *_ = fitted
    save(model, tmp_path / "m.tsrnn")
    loaded = load(tmp_path / "m.tsrnn")
    assert loaded.categories_ == model.categories_ and loaded.static_names_ == model.static_names_
    assert np.array_equal(loaded.static_, model.static_)
    future = _future(model.series_ids_, STAMPS[-1] + pd.Timedelta("1D"), 7, "discount")
    pd.testing.assert_frame_equal(loaded.predict(X_future=future), model.predict(X_future=future))


def test_static_covariates_are_checked():
    y, X, static = _retail(4)
    fast = RNNForecaster(horizon=7, steps=2, **FAST)
    with pytest.raises(DataError, match="no row for series 'item3'"):
        fast.fit(y, static=static.iloc[:3])
    with pytest.raises(DataError, match="two rows for series 'item0'"):
        fast.fit(y, static=pd.concat([static, static.iloc[:1]]))
    holes = static.assign(store_size=[1.0, np.nan, 2.0, 3.0])
    with pytest.raises(
        DataError, match=r"'store_size' has an empty value \(NaN\) for series 'item1'"
    ):
        fast.fit(y, static=holes)
    with pytest.raises(DataError, match="repeats the column"):
        fast.fit(y, X, static=static.rename(columns={"group": "promo"}))
    with pytest.raises(DataError, match="must be a pandas DataFrame"):
        fast.fit(y, static=[1, 2])
    with pytest.raises(DataError, match="tell series apart"):
        fast.fit(y.loc["item0"], static=static)
    model = RNNForecaster(horizon=7, steps=2, **FAST).fit(y)
    with pytest.raises(DataError, match="fitted without static"):
        model.predict(y=y, static=static)
    with pytest.raises(DataError, match="static is read with y"):
        model.predict(static=static)


def test_a_new_product_too_short_for_a_season_borrows_its_categorys():
    """Two weeks of a daily history cannot show a weekly season (three weeks can); the fitted
    items of its group can: their seasonal indices, aligned on the calendar, are its own."""
    from tsrnn._forecast.inputs import category_seasons

    stamps = pd.date_range("2021-01-04", periods=42, freq="D")
    weekly = np.sin(2 * np.pi * np.arange(70) / 7)
    groups = ["weekday"] * 3 + ["weekend"] * 3
    ids = [f"item{k}" for k in range(6)]
    sign = np.array([1.0, 1.0, 1.0, -1.0, -1.0, -1.0])[:, None]
    ends = [42, 40, 37, 42, 41, 39]  # the items end on different days
    parts = []
    for k, end in enumerate(ends):
        values = 20 + k + 3 * sign[k] * weekly[:end]
        index = pd.MultiIndex.from_product(
            [
                [ids[k]],
                stamps.append(pd.date_range(stamps[-1] + pd.Timedelta("1D"), periods=28))[:end],
            ]
        )
        parts.append(pd.Series(values, index=index))
    y = pd.concat(parts)
    static = pd.DataFrame({"group": groups}, index=ids)
    model = RNNForecaster(horizon=7, steps=20, **FAST).fit(y, static=static)
    assert model.scaling_.season.any(axis=1).all()  # every fitted item has its season

    start = pd.Timestamp("2021-02-20")  # day 47 of the calendar above
    new_stamps = pd.date_range(start, periods=10, freq="D")
    new = pd.Series(np.r_[20 + 3 * weekly[47:57], 25 - 3 * weekly[47:57]],
                    index=pd.MultiIndex.from_product([["a", "b"], new_stamps]))  # fmt: skip
    rows = pd.DataFrame({"group": ["weekday", "weekend"]}, index=["a", "b"])
    table = pd.DataFrame({"group": [1.0, 2.0]}, index=["a", "b"])
    borrowed = category_seasons(model.fitted_, ["a", "b"], [10, 10], [new_stamps[-1]] * 2, table)
    truth = np.log(20 + 3 * weekly[57:64]) - np.log(20 + 3 * weekly[57:64]).mean()
    assert np.corrcoef(borrowed[1, 0], truth)[0, 1] > 0.99  # log-scaled: row 1
    assert np.corrcoef(borrowed[1, 1], truth)[0, 1] < -0.99
    out = model.predict(y=new, static=rows)["forecast"]
    assert np.corrcoef(out.loc["a"], weekly[57:64])[0, 1] > 0.9
    assert np.corrcoef(out.loc["b"], weekly[57:64])[0, 1] < -0.9
    unknown = model.predict(y=new, static=rows.assign(group="never seen"))["forecast"]
    assert abs(np.corrcoef(unknown.loc["a"], weekly[57:64])[0, 1]) < 0.9  # nothing borrowed


@pytest.mark.timeout(240)
def test_every_input_trains_on_dask_workers_as_in_this_process():
    """Static, text, past-only and calendar columns with NaN targets: the networks trained
    side by side on two worker processes give the in-process forecast."""
    from tsrnn.cluster import local_cluster
    from tsrnn.parallel import train_on_dask

    y, X, static = _retail(8)
    y = y.mask(np.random.default_rng(2).random(len(y)) < 0.03)
    params = dict(horizon=7, steps=20, calendar="auto", hist_exog=["rival"], **FAST)
    future = _future([f"item{k}" for k in range(8)], STAMPS[-1] + pd.Timedelta("1D"), 7)
    here = RNNForecaster(**params).fit(y, X, static=static).predict(X_future=future)
    with local_cluster(2) as client, train_on_dask(client):
        model = RNNForecaster(**params).fit(y, X, static=static)
    pd.testing.assert_frame_equal(model.predict(X_future=future), here)
