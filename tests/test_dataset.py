"""Datasets that never pass through one process (tsrnn.parallel.read_dataset and friends).

Real worker processes (a LocalCluster of nannies), Parquet datasets on disk, a worker killed by
its PID. Small data: a few thousand series over a few files.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import dask.dataframe as dd
import distributed
import numpy as np
import pandas as pd
import pytest
from distributed import Client

from tsrnn import RNNForecaster, load
from tsrnn._dask.connect import RECEIVED
from tsrnn.cluster import local_cluster
from tsrnn.errors import DataError, ParameterError
from tsrnn.parallel import fit_dataset, forecast_dataset, read_dataset, write_dataset

pytestmark = pytest.mark.timeout(300)

SMALL = {"steps": 30, "hidden_size": 8, "random_state": 0, "device": "cpu"}
TSRNN = str(Path(sys.executable).with_name("tsrnn"))


@pytest.fixture(scope="module")
def client():
    """Two worker processes (one thread each), shared by the tests of this module."""
    with local_cluster(2) as c:
        yield c


def long_frame(n_series: int, seed: int = 0, start: str = "2022-01-03") -> pd.DataFrame:
    """Weekly series of 12 to 60 points, ending on different weeks, in long format."""
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(n_series):
        n = int(rng.integers(12, 60))
        stamps = pd.date_range(start, periods=n + int(rng.integers(0, 20)), freq="W-MON")[-n:]
        t = np.arange(n)
        values = 30 + k % 17 + 3 * np.sin(t / 3 + k) + 0.1 * t + rng.normal(0, 0.5, n)
        parts.append(pd.DataFrame({"item": f"i{k:05d}", "week": stamps, "sales": values}))
    return pd.concat(parts, ignore_index=True)


def by_date(frame: pd.DataFrame, folder: Path, files: int = 4) -> Path:
    """The frame as a dataset partitioned by date: most series span every file."""
    folder.mkdir(parents=True, exist_ok=True)
    edges = frame["week"].quantile(np.linspace(0, 1, files + 1)).to_numpy()
    part = np.clip(np.searchsorted(edges, frame["week"].to_numpy(), side="right") - 1, 0, files - 1)
    for i in range(files):
        rows = frame[part == i].sample(frac=1.0, random_state=i)  # any order inside a file
        rows.to_parquet(folder / f"date-{i}.parquet", index=False)
    return folder


def in_memory(frame: pd.DataFrame) -> pd.Series:
    return frame.set_index(["item", "week"]).sort_index()["sales"]


@pytest.fixture(scope="module")
def dataset_path(tmp_path_factory):
    return by_date(long_frame(1200), tmp_path_factory.mktemp("lake") / "sales")


# ---------------------------------------------------------------- the user story


def test_cluster_forecast_equals_the_single_process_one_series_by_series(client, dataset_path):
    """Fitted on the cluster, forecast by the workers: the forecast predict gives, in this
    process, for each series' history with the same networks."""
    data = read_dataset(dataset_path, id_col="item", client=client)
    assert data.shuffled and data.n_series == 1200 and data.freq == "W-MON"
    model = fit_dataset(RNNForecaster(horizon=4, **SMALL), data)
    assert model.series_ids_ is None and len(model.models_) == 4
    assert np.all(np.isfinite(model.half_widths_)) and model.n_calibration_ > 0
    asked = {"level": [80, 95], "quantiles": [0.5]}
    got = forecast_dataset(model, data, **asked).compute()
    here = model.predict(y=in_memory(pd.read_parquet(dataset_path)), **asked).reset_index()
    assert len(got) == len(here) == 4 * 1200
    assert not got.duplicated(["item", "week"]).any()
    merged = got.merge(here, on=["item", "week"], suffixes=("", "_here"), validate="1:1")
    assert (merged["lo-95"] <= merged["lo-80"]).all() and (merged["hi-80"] <= merged["hi-95"]).all()
    for column in ("forecast", "lower", "upper", "lo-80", "hi-80", "lo-95", "hi-95", "q-0.5"):
        np.testing.assert_allclose(merged[column], merged[f"{column}_here"], rtol=1e-6)
    y = in_memory(pd.read_parquet(dataset_path))
    _check_the_hardest_and_the_plot(model, data, y, asked, here.set_index(["item", "week"]))


def _check_the_hardest_and_the_plot(model, data, y, asked, here):
    """The hardest series: each bucket's 10 largest calibration errors, merged on the client,
    are the 10 largest of every series' errors scored in this process with the same networks.
    --plot's frame (tsrnn_cli._plot.dataset_frame): the first 3 ids and the 3 hardest of the
    fit's errors, their last values and ``horizon`` forecast rows each, from the workers."""
    from tsrnn_cli._plot import FIRST, HARDEST, dataset_frame, pick

    from tsrnn._data.groups import split_series
    from tsrnn._dataset.calibrate import calibrate_buckets
    from tsrnn._forecast.calibration import calibrate, held_out, windows_per_series
    from tsrnn.parallel import first_ids

    errors = model.calibration_series_errors_
    assert len(errors) == 10 and errors.index.name == "item"
    assert (np.diff(errors.to_numpy()) <= 0).all()
    fitted = model.fitted_
    size = windows_per_series(None, data.n_series, data.longest)
    same = {"plan": fitted.plan, "models": model.models_, "combine": "auto", "interval": 0.9}
    there = calibrate_buckets(data, covariates=fitted.covariates, size=size, **same)
    ids, values, _, _ = split_series(y, None)
    held = held_out(fitted.plan, values, None, size)
    every = calibrate(values=values, xs=None, held=held, ids=ids, **same).series_errors
    assert len(every) == data.n_series
    assert there.series_errors.index.tolist() == every.index[:10].tolist()
    np.testing.assert_allclose(there.series_errors, every.iloc[:10], rtol=1e-5)

    first = first_ids(data, FIRST + HARDEST)
    assert first == sorted(ids)[: FIRST + HARDEST]
    picked = pick(first, errors, n_series=data.n_series)
    hardest = [key for key in errors.index if key not in first[:FIRST]][:HARDEST]
    assert picked.ids == first[:FIRST] + hardest
    frame = dataset_frame(data, forecast_dataset(model, data, **asked), picked.ids, tail=16)
    assert frame.index.get_level_values(0).unique().tolist() == picked.ids
    future = frame[frame["forecast"].notna()]
    assert future.groupby(level=0).size().to_dict() == dict.fromkeys(picked.ids, 4)
    for key in picked.ids:
        past = frame.xs(key, level=0)["y"].dropna()
        np.testing.assert_allclose(past.to_numpy(), y.xs(key).to_numpy()[-16:], rtol=1e-6)
        assert past.index.equals(y.xs(key).index[-16:])
        rows = future.xs(key, level=0)
        np.testing.assert_allclose(rows["hi-95"], here.xs(key).loc[rows.index, "hi-95"], rtol=1e-6)


def test_a_model_fitted_in_memory_forecasts_the_dataset_as_predict_does(client, dataset_path):
    y = in_memory(pd.read_parquet(dataset_path))
    model = RNNForecaster(horizon=3, n_models=2, **SMALL).fit(y)
    got = forecast_dataset(model, read_dataset(dataset_path, id_col="item", client=client))
    got = got.compute().set_index(["item", "week"]).sort_index()
    expected = model.predict().sort_index()
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-6)


def test_a_series_split_across_three_files_is_forecast_once(client, tmp_path):
    frame = long_frame(40, seed=3)
    folder = by_date(frame, tmp_path / "three", files=3)
    spanning = [k for k, g in frame.groupby("item") if g["week"].nunique() > 30]
    data = read_dataset(folder, id_col="item", client=client)
    model = fit_dataset(RNNForecaster(horizon=5, n_models=1, interval=None, **SMALL), data)
    out = forecast_dataset(model, data).compute()
    counts = out.groupby("item").size()
    assert set(counts.index) == set(frame["item"]) and (counts == 5).all()
    assert spanning and set(spanning) <= set(counts.index)


def test_files_of_whole_series_are_not_shuffled(client, tmp_path):
    frame = long_frame(60, seed=4)
    folder = tmp_path / "whole"
    folder.mkdir()
    for i, (_, part) in enumerate(frame.groupby(frame["item"].str[-1].astype(int) % 3)):
        part.to_parquet(folder / f"part-{i}.parquet", index=False)
    data = read_dataset(f"file://{folder}/*.parquet", id_col="item", client=client)  # a URL
    assert not data.shuffled and len(data.buckets) == 3 and data.n_series == 60


def received_by_stage(client, folder: Path, out: Path) -> dict[str, tuple[int, int]]:
    """What reaches the client through fetch (results, bytes) while a dataset is read, fit
    and forecast."""
    received = {}

    @contextlib.contextmanager
    def stage(name: str):
        before = (RECEIVED.objects, RECEIVED.bytes)
        yield
        received[name] = (RECEIVED.objects - before[0], RECEIVED.bytes - before[1])

    with stage("reading"):
        data = read_dataset(folder, id_col="item", client=client, n_buckets=4)
    with stage("fitting"):
        model = fit_dataset(RNNForecaster(horizon=3, n_models=1, **SMALL), data)
    with stage("forecasting"):
        write_dataset(forecast_dataset(model, data), str(out))
    return received


def test_the_client_receives_as_much_for_four_times_the_series(dask_processes, tmp_path,
                                                              monkeypatch):  # fmt: skip
    """Counted, not timed, on `dask scheduler` and `dask worker` processes: what reaches the
    client through fetch in each stage (reading, fitting, forecasting) is per bucket, not per
    series: with the same 4 buckets, 4x the series (+900) send the same results, their pickles
    within 300 bytes (measured: 4 bytes more in reading, 44 in fitting). A leak fails it
    (tried on purpose, in the buckets' summaries): the ids, 8,104 bytes more; one float per
    series, 7,208; one bool per series, 908.

    The calibration ratios are gathered whole only while there are few (at most ``FEW``, a
    constant); here they are counted bucket by bucket, as for millions of windows.
    """
    import tsrnn._dataset.calibrate as calibrating

    monkeypatch.setattr(calibrating, "FEW", 0)
    cluster = dask_processes(2)
    received = {}
    with Client(cluster.address) as client:
        for n in (300, 1200):
            folder = by_date(long_frame(n, seed=n), tmp_path / f"n{n}")
            received[n] = received_by_stage(client, folder, tmp_path / f"out{n}")
            assert len(pd.read_parquet(tmp_path / f"out{n}")) == 3 * n
    assert received[300]["reading"][0] > 0 and received[300]["fitting"][0] > 0
    for stage, (objects, size) in received[300].items():
        more_objects, more_bytes = received[1200][stage]
        assert more_objects == objects, stage
        assert abs(more_bytes - size) < 300, (stage, size, more_bytes)


def test_every_computation_runs_on_the_client_given(dask_processes, tmp_path):
    """read_dataset(client=given) while another client is the default (the last one made):
    the layout check, the shuffle, the fit, the routing of the future values and the writing
    all run on the given client's cluster; the default's scheduler never sees a task."""
    frame = with_inputs(long_frame(40, seed=21), seed=21)
    folder = by_date(frame, tmp_path / "lake", files=3)
    future_rows(frame, 3, seed=21).to_parquet(tmp_path / "future.parquet", index=False)
    given_cluster, other_cluster = dask_processes(2), dask_processes(1)
    with Client(given_cluster.address) as given, Client(other_cluster.address) as other:
        assert distributed.default_client() is other
        data = read_dataset(folder, id_col="item", target="sales", exog=["price"], client=given)
        assert data.shuffled  # the layout was checked, and the rows shuffled
        params = {"horizon": 3, "n_models": 1, "interval": None, **SMALL}
        model = fit_dataset(RNNForecaster(**params), data)
        forecasts = forecast_dataset(model, data, future=tmp_path / "future.parquet")
        write_dataset(forecasts, str(tmp_path / "out"))

        def prefixes(dask_scheduler) -> list[str]:
            return sorted(dask_scheduler.task_prefixes)

        assert "make_bucket" in given.run_on_scheduler(prefixes)
        assert other.run_on_scheduler(prefixes) == []
    out = pd.read_parquet(tmp_path / "out")
    assert len(out) == 3 * 40 and np.isfinite(out["forecast"]).all()


def test_an_empty_file_is_an_empty_partition(client, tmp_path):
    frame = long_frame(30, seed=5)
    folder = by_date(frame, tmp_path / "with-empty", files=2)
    frame.iloc[:0].to_parquet(folder / "empty.parquet", index=False)
    data = read_dataset(folder, id_col="item", client=client, n_buckets=8)
    model = fit_dataset(RNNForecaster(horizon=2, n_models=1, interval=None, **SMALL), data)
    assert len(forecast_dataset(model, data).compute()) == 2 * 30


def test_a_worker_killed_during_prediction_leaves_a_complete_output(
    client, tmp_path, dataset_path, worker_killer
):
    """Dask recomputes what the dead worker held (the buckets have their lineage): the output
    is complete and has no duplicate."""
    data = read_dataset(dataset_path, id_col="item", client=client, n_buckets=8)
    model = fit_dataset(RNNForecaster(horizon=4, n_models=2, interval=None, **SMALL), data)
    killer = worker_killer(client, lambda key: "forecast_bucket" in key)
    write_dataset(forecast_dataset(model, data), str(tmp_path / "out"))
    killer.join(timeout=60)
    assert killer.pid is not None  # a worker really died during the forecast
    out = pd.read_parquet(tmp_path / "out")
    assert len(out) == 4 * 1200 and not out.duplicated(["item", "week"]).any()
    assert (tmp_path / "out" / "_SUCCESS").exists()


def with_holes(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """``frame`` with about 4% of its targets NaN and 2% of its rows dropped (gaps), none in
    the first 2 or last 3 rows of a series."""
    rng = np.random.default_rng(seed)
    position = frame.groupby("item").cumcount().to_numpy()
    left = frame.groupby("item")["week"].transform("size").to_numpy() - position
    inside = (position >= 2) & (left > 3)
    draw = rng.random(len(frame))
    frame = frame.assign(sales=frame["sales"].mask(inside & (draw < 0.04)))
    return frame[~(inside & (draw > 0.98))].reset_index(drop=True)


def test_nan_targets_and_gaps_are_masked_and_forecast_as_predict_does(client, tmp_path):
    """A dataset with NaN targets and gaps (missing="mask", the default) trains, calibrates
    and forecasts finite values: those predict gives of the same histories in memory."""
    frame = with_holes(long_frame(150, seed=12), seed=12)
    y = in_memory(frame)
    data = read_dataset(by_date(frame, tmp_path / "holes"), id_col="item", client=client)
    filled = y.groupby(level=0).apply(lambda s: len(pd.date_range(s.index[0][1], s.index[-1][1],
                                                                  freq="W-MON"))).sum()  # fmt: skip
    assert data.n_rows == filled > len(frame) and data.n_missing == filled - y.notna().sum()
    model = fit_dataset(RNNForecaster(horizon=3, n_models=2, **SMALL), data)
    assert np.all(np.isfinite(model.half_widths_)) and model.n_calibration_ > 0
    got = forecast_dataset(model, data, level=[80]).compute()
    here = model.predict(y=y, level=[80]).reset_index()
    merged = got.merge(here, on=["item", "week"], suffixes=("", "_here"), validate="1:1")
    assert len(merged) == 3 * 150
    for column in ("forecast", "lower", "upper", "lo-80", "hi-80"):
        assert np.isfinite(merged[column]).all()
        np.testing.assert_allclose(merged[column], merged[f"{column}_here"], rtol=1e-6)


def filled(y: pd.Series, freq: str = "W-MON") -> pd.Series:
    """Each series of ``y`` on its full regular index: its gaps become NaN rows."""
    parts = {key: s.droplevel(0).asfreq(freq) for key, s in y.groupby(level=0)}
    return pd.concat(parts, names=y.index.names)


def test_calendar_columns_are_made_and_scaled_on_the_workers_as_in_memory(client, tmp_path):
    """calendar="auto": the workers build the calendar columns of their stamps (gaps
    included) and the client pools their scaling from per-bucket moments: the columns and
    scaling of a fit in memory on the same series; forecasts are predict's of each history,
    by the model fitted on the cluster and by one fitted in memory."""
    frame = with_holes(long_frame(150, seed=13), seed=13)
    y = in_memory(frame)
    data = read_dataset(by_date(frame, tmp_path / "cal"), id_col="item", client=client,
                        n_buckets=4)  # fmt: skip
    params = {"horizon": 3, "n_models": 1, "calendar": "auto", **SMALL}
    model = fit_dataset(RNNForecaster(**params), data)
    here = RNNForecaster(**{**params, "interval": None, "steps": 2}).fit(y)
    names = ["calendar:week_sin", "calendar:week_cos"]
    assert list(model.feature_names_in_) == list(here.feature_names_in_) == names
    np.testing.assert_allclose(model.x_loc_, here.x_loc_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.x_scale_, here.x_scale_, rtol=1e-10)
    assert np.all(model.x_scale_ != 1.0) and np.all(np.isfinite(model.half_widths_))
    history = filled(y)  # predict in memory reads the calendar of the stamps it is given
    for fitted in (model, here):
        got = forecast_dataset(fitted, data).compute()
        expected = fitted.predict(y=history).reset_index()
        merged = got.merge(expected, on=["item", "week"], suffixes=("", "_here"),
                           validate="1:1")  # fmt: skip
        assert len(merged) == 3 * 150 and np.isfinite(merged["forecast"]).all()
        for column in ("forecast", "lower", "upper"):
            np.testing.assert_allclose(merged[column], merged[f"{column}_here"], rtol=1e-6)


def test_holidays_are_made_on_the_workers_as_in_memory(client, tmp_path):
    """holidays="US" on daily data: the workers mark the public holidays of their stamps; the
    column and its scaling are a fit in memory's, and so are the forecasts."""
    days = pd.date_range("2023-11-01", periods=75, freq="D")
    frame = pd.DataFrame({"item": np.repeat([f"d{k}" for k in range(12)], 75),
                          "week": np.tile(days, 12),
                          "sales": np.tile(20 + np.sin(np.arange(75)), 12)
                          + np.repeat(np.arange(12), 75)})  # fmt: skip
    data = read_dataset(by_date(frame, tmp_path / "days"), id_col="item", client=client,
                        n_buckets=3)  # fmt: skip
    params = {"horizon": 7, "n_models": 1, "holidays": "US", "interval": None, **SMALL}
    model = fit_dataset(RNNForecaster(**params), data)
    here = RNNForecaster(**params).fit(in_memory(frame))
    assert list(model.feature_names_in_) == ["calendar:holidays.US_day"]
    np.testing.assert_allclose(model.x_loc_, here.x_loc_, rtol=1e-10)
    np.testing.assert_allclose(model.x_scale_, here.x_scale_, rtol=1e-10)
    got = forecast_dataset(model, data).compute()
    expected = model.predict(y=in_memory(frame)).reset_index()
    merged = got.merge(expected, on=["item", "week"], suffixes=("", "_here"), validate="1:1")
    assert len(merged) == 7 * 12
    np.testing.assert_allclose(merged["forecast"], merged["forecast_here"], rtol=1e-6)


def with_inputs(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """``frame`` with a price known in the future and a past-only traffic column."""
    rng = np.random.default_rng(seed)
    return frame.assign(price=rng.normal(10, 2, len(frame)).round(2),
                        traffic=frame["sales"] * 3 + rng.normal(0, 1, len(frame)))  # fmt: skip


def future_rows(frame: pd.DataFrame, horizon: int, seed: int = 0) -> pd.DataFrame:
    """``horizon`` rows of future prices per series of ``frame``, after its last week."""
    rng = np.random.default_rng(seed)
    last = frame.groupby("item")["week"].max()
    rows = [pd.DataFrame({"item": key, "week": pd.date_range(end, periods=horizon + 1,
                                                             freq="W-MON")[1:]})
            for key, end in last.items()]  # fmt: skip
    rows = pd.concat(rows, ignore_index=True)
    return rows.assign(price=rng.normal(10, 2, len(rows)).round(2))


def test_exogenous_columns_and_their_future_values_are_read_by_the_workers(client, tmp_path):
    """exog and hist_exog read with the series, scaled over every bucket as fit scales them
    in memory; the future values of the known column are a Parquet dataset laid out another
    way (by id, rows in any order), routed by the workers to the buckets of their series:
    the forecasts are predict's, given the same histories and future values."""
    frame = with_inputs(long_frame(120, seed=14), seed=14)
    data = read_dataset(by_date(frame, tmp_path / "inputs"), id_col="item", exog=["price"],
                        hist_exog=["traffic"], client=client, n_buckets=4)  # fmt: skip
    assert data.columns.exog == ("price", "traffic") and data.hist_exog == ("traffic",)
    params = {"horizon": 3, "n_models": 2, "hist_exog": ["traffic"], "calendar": "auto", **SMALL}
    model = fit_dataset(RNNForecaster(**params), data)
    indexed = frame.set_index(["item", "week"]).sort_index()
    y, X = indexed["sales"], indexed[["price", "traffic"]]
    here = RNNForecaster(**{**params, "interval": None, "steps": 2}).fit(y, X)
    assert list(model.feature_names_in_) == list(here.feature_names_in_)
    assert list(model.feature_names_in_[:2]) == ["price", "traffic"]
    np.testing.assert_allclose(model.x_loc_, here.x_loc_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.x_scale_, here.x_scale_, rtol=1e-10)
    future = future_rows(frame, 3, seed=14).sample(frac=1.0, random_state=0)
    folder = tmp_path / "future"
    folder.mkdir()
    for i, part in future.groupby(future["item"].str[-1].astype(int) % 2):
        part.to_parquet(folder / f"ids-{i}.parquet", index=False)
    got = forecast_dataset(model, data, future=folder, level=[80]).compute()
    X_future = future.set_index(["item", "week"]).sort_index()
    expected = model.predict(y=y, X=X, X_future=X_future, level=[80]).reset_index()
    merged = got.merge(expected, on=["item", "week"], suffixes=("", "_here"), validate="1:1")
    assert len(merged) == 3 * 120
    for column in ("forecast", "lower", "upper", "lo-80", "hi-80"):
        assert np.isfinite(merged[column]).all()
        np.testing.assert_allclose(merged[column], merged[f"{column}_here"], rtol=1e-6)
    shifted = model.predict(y=y, X=X, X_future=X_future.assign(price=X_future["price"] + 5))
    assert not np.allclose(shifted["forecast"], expected["forecast"])  # the future is read
    with pytest.raises(DataError, match=r"future values of \['price'\]: pass them"):
        forecast_dataset(model, data)
    short = future.drop(index=future.index[future["item"] == "i00003"][:1])
    with pytest.raises(DataError, match=r"X_future has 2 rows for series 'i00003'"):
        forecast_dataset(model, data, future=dd.from_pandas(short, npartitions=3)).compute()


def with_promo(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """``frame`` with a price and a text column of promotions, both known in the future."""
    rng = np.random.default_rng(seed)
    promo = rng.choice(["none", "flyer", "tv"], len(frame), p=[0.6, 0.3, 0.1])
    return frame.assign(price=rng.normal(10, 2, len(frame)).round(2), promo=promo)


def test_text_columns_are_coded_by_the_workers_with_the_vocabulary_of_every_bucket(
    client, tmp_path
):
    """A text column's vocabulary is the union of the buckets' values (only those reach the
    client); its codes are not scaled and are read through embeddings, as in memory; the
    future text values are coded with the fitted vocabulary (a new one: unknown)."""
    frame = with_promo(long_frame(60, seed=15), seed=15)
    frame.loc[frame["item"] == "i00004", "promo"] = "radio"  # one bucket only
    data = read_dataset(by_date(frame, tmp_path / "promo", files=3), id_col="item",
                        exog=["price", "promo"], client=client, n_buckets=4)  # fmt: skip
    assert data.columns.text == ("promo",)
    assert data.categories == {"promo": ["flyer", "none", "radio", "tv"]}
    params = {"horizon": 3, "n_models": 2, "calendar": "auto", **SMALL}
    model = fit_dataset(RNNForecaster(**params), data)
    indexed = frame.set_index(["item", "week"]).sort_index()
    y, X = indexed["sales"], indexed[["price", "promo"]]
    here = RNNForecaster(**{**params, "interval": None, "steps": 2}).fit(y, X)
    assert model.categories_ == here.categories_ == data.categories
    assert list(model.feature_names_in_) == list(here.feature_names_in_)
    np.testing.assert_allclose(model.x_loc_, here.x_loc_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.x_scale_, here.x_scale_, rtol=1e-10)
    assert (model.x_loc_[1], model.x_scale_[1]) == (0.0, 1.0)
    assert model.fitted_.plan.categories == here.fitted_.plan.categories == ((1, 4),)
    future = future_rows(frame, 3, seed=15)
    future["promo"] = np.where(np.arange(len(future)) % 4 == 0, "billboard", "tv")  # new: 0
    got = forecast_dataset(model, data, future=dd.from_pandas(future, npartitions=2)).compute()
    X_future = future.set_index(["item", "week"]).sort_index()
    expected = model.predict(y=y, X=X, X_future=X_future).reset_index()
    merged = got.merge(expected, on=["item", "week"], suffixes=("", "_here"), validate="1:1")
    assert len(merged) == 3 * 60
    for column in ("forecast", "lower", "upper"):
        np.testing.assert_allclose(merged[column], merged[f"{column}_here"], rtol=1e-6)
    other = model.predict(y=y, X=X, X_future=X_future.assign(promo="flyer"))
    assert not np.allclose(other["forecast"], expected["forecast"])  # the codes are read
    as_numbers = frame.assign(promo=frame["promo"].str.len().astype(float))
    numeric = read_dataset(by_date(as_numbers, tmp_path / "numeric", files=1), id_col="item",
                           exog=["price", "promo"], client=client)  # fmt: skip
    with pytest.raises(ParameterError, match=r"text \(categorical\) columns \['promo'\] but"):
        forecast_dataset(model, numeric, future=future)
    blank = frame.assign(promo=frame["promo"].where(frame.index != 7, None))
    with pytest.raises(DataError, match=r"'promo' .* empty value .*series 'i00000'.*\(in file"):
        read_dataset(by_date(blank, tmp_path / "blank", files=2), id_col="item",
                     exog=["price", "promo"], client=client)  # fmt: skip


def static_table(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """A store size and a product group of each series of ``frame``, indexed by id."""
    rng = np.random.default_rng(seed)
    ids = np.sort(frame["item"].unique())
    return pd.DataFrame({"size": rng.integers(1, 5, len(ids)).astype(float) * 10,
                         "group": rng.choice(["food", "home", "toys"], len(ids))},
                        index=pd.Index(ids, name="item"))  # fmt: skip


def with_statics(frame: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``frame`` with a price and the static columns (constant within each series), and
    their table, one row per series."""
    table = static_table(frame, seed)
    wide = frame.join(table, on="item")
    rng = np.random.default_rng(seed + 1)
    return wide.assign(price=rng.normal(10, 2, len(frame)).round(2)), table


def test_static_columns_are_read_once_per_series_and_forecast_as_in_memory(client, tmp_path):
    """Static columns (numeric and text) are checked constant within each series by the
    workers and read as columns constant within each series, after the exogenous ones: the
    fitted columns, vocabularies and scaling are those of fit(y, X, static=), and the
    forecasts predict's, with the static rows read from the buckets (not from future=)."""
    frame, table = with_statics(long_frame(60, seed=16), seed=16)
    data = read_dataset(by_date(frame, tmp_path / "static", files=3), id_col="item",
                        exog=["price"], static=["size", "group"], client=client,
                        n_buckets=4)  # fmt: skip
    assert data.columns.static == ("size", "group") and data.columns.text == ("group",)
    params = {"horizon": 3, "n_models": 2, "calendar": "auto", **SMALL}
    model = fit_dataset(RNNForecaster(**params), data)
    indexed = frame.set_index(["item", "week"]).sort_index()
    y, X = indexed["sales"], indexed[["price"]]
    here = RNNForecaster(**{**params, "interval": None, "steps": 2}).fit(y, X, static=table)
    assert list(model.feature_names_in_) == list(here.feature_names_in_)
    assert list(model.feature_names_in_[:3]) == ["price", "size", "group"]
    assert model.static_names_ == here.static_names_ == ["size", "group"]
    assert model.categories_ == here.categories_ == {"group": ["food", "home", "toys"]}
    assert model.static_.shape == (0, 2) and model.series_ids_ is None
    np.testing.assert_allclose(model.x_loc_, here.x_loc_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.x_scale_, here.x_scale_, rtol=1e-10)
    assert model.fitted_.plan.categories == here.fitted_.plan.categories == ((2, 3),)
    future = future_rows(frame, 3, seed=16)
    got = forecast_dataset(model, data, future=dd.from_pandas(future, npartitions=2)).compute()
    X_future = future.set_index(["item", "week"]).sort_index()
    expected = model.predict(y=y, X=X, X_future=X_future, static=table).reset_index()
    merged = got.merge(expected, on=["item", "week"], suffixes=("", "_here"), validate="1:1")
    assert len(merged) == 3 * 60
    for column in ("forecast", "lower", "upper"):
        np.testing.assert_allclose(merged[column], merged[f"{column}_here"], rtol=1e-6)
    other = model.predict(y=y, X=X, X_future=X_future, static=table.assign(group="home"))
    assert not np.allclose(other["forecast"], expected["forecast"])  # the groups are read
    plain = read_dataset(by_date(frame, tmp_path / "plain", files=1), id_col="item",
                         target="sales", exog=["price"], client=client)  # fmt: skip
    with pytest.raises(ParameterError, match=r"static columns \['size', 'group'\] but"):
        forecast_dataset(model, plain, future=future)
    moved = frame.assign(size=frame["size"].where(frame.index != 20, 99.0))
    with pytest.raises(DataError, match=r"'size' .* changes within series 'i00000'.*\(in file"):
        read_dataset(by_date(moved, tmp_path / "moved", files=2), id_col="item", exog=["price"],
                     static=["size"], client=client)  # fmt: skip


# ---------------------------------------------------------------- what a worker holds


@pytest.mark.parametrize(
    ("freq", "tz"),
    [("W-MON", None), ("D", None), ("h", None), ("B", None), ("MS", None), ("ME", None),
     ("QS-JAN", None), ("YE-DEC", None), ("D", "Europe/Paris"), ("h", "Europe/Paris")],
)  # fmt: skip
def test_a_bucket_keeps_one_stamp_per_series_and_gives_back_every_stamp(freq, tz):
    """A bucket keeps each series' first stamp, not one per row: every stamp, and each
    series' last, follow from it at the frequency (a calendar offset, a time zone's change
    of summer time, a gap filled with NaN included), as the checked series hold them."""
    from tsrnn._dataset.buckets import Columns, make_bucket

    rng = np.random.default_rng(5)
    grid = pd.date_range("2021-03-10", periods=500, freq=freq, tz=tz)  # across summer time
    parts = []
    for k in range(12):
        at = int(rng.integers(0, 400))
        stamps = grid[at : at + int(rng.integers(5, 80))]
        parts.append(pd.DataFrame({"item": f"s{k:02d}", "week": stamps,
                                   "sales": rng.normal(10, 1, len(stamps))}))  # fmt: skip
    frame = pd.concat(parts, ignore_index=True)
    frame = frame.drop(index=[5, 40])  # two gaps
    bucket = make_bucket(frame.sample(frac=1.0, random_state=1), Columns("item", "week", "sales"),
                         "lake")  # fmt: skip
    assert bucket.error is None and len(bucket.first) == bucket.n_series == 12
    expected = pd.concat(
        {key: g.set_index("week")["sales"].asfreq(freq) for key, g in frame.groupby("item")}
    )
    assert bucket.stamps.equals(expected.index.get_level_values(1))
    assert bucket.n_missing == 2 and np.isnan(bucket.values).sum() == 2
    assert bucket.values.dtype == np.float32
    assert bucket.ids.tolist() == sorted(frame["item"].unique())
    np.testing.assert_array_equal(bucket.values, expected.to_numpy(np.float32))
    last = frame.groupby("item")["week"].max()
    assert [str(t) for t in bucket.last] == [str(t) for t in last]


def in_buckets(frame: pd.DataFrame, columns, parts: int = 2) -> list:
    from tsrnn._dataset.buckets import make_bucket

    key = frame["item"].str[-1].astype(int) % parts
    return [make_bucket(part, columns, "lake") for _, part in frame.groupby(key)]


def test_windows_beyond_the_budget_are_memory_maps_of_the_same_values(tmp_path, monkeypatch):
    """A worker whose memory limit its buckets and windows do not fit keeps them in its
    local directory: the buckets as files, a rank's Panels as memory maps; they hold the
    same values as in memory, the ranks draw the same batches from them, and giving their
    pages back (as the sampler does every few steps) changes nothing."""
    import torch

    from tsrnn._dataset import store
    from tsrnn._dataset.buckets import Columns
    from tsrnn._dataset.panels import rank_panels
    from tsrnn._forecast.covariates import Covariates, calendar_inputs
    from tsrnn._forecast.jobs import sampler
    from tsrnn._forecast.plan import plan_for

    frame = with_holes(long_frame(60, seed=31), seed=31)
    columns = Columns("item", "week", "sales")
    features = calendar_inputs("W-MON", True, None)
    names = ["calendar:week_sin", "calendar:week_cos"]
    covariates = Covariates(names, np.array([0.1, -0.2]), np.array([0.7, 0.8]))
    params = RNNForecaster(horizon=3, n_models=2, calendar="auto", **SMALL).get_params()
    plan = plan_for(params, "W-MON", longest=80, n_windows=2000, columns=names)
    assert features == ["week"]
    here = rank_panels(in_buckets(frame, columns), plan, covariates, size=2)
    monkeypatch.setattr(store, "worker_budget", lambda: (1, str(tmp_path)))  # 1 byte of memory
    buckets = in_buckets(frame, columns)
    assert all(b.on_disk for b in buckets) and list(tmp_path.glob("tsrnn-rows/*.npy"))
    there = rank_panels(buckets, plan, covariates, size=2)
    assert there.on_disk and not here.on_disk and there.maps
    assert (there.n_series, there.n_kept) == (here.n_series, here.n_kept) == (60, 60)
    for a, b in ((here.final, there.final), (here.held, there.held)):
        for name in ("values", "seen", "exog", "lengths"):
            assert torch.equal(getattr(a, name), getattr(b, name)), name
    network = plan.networks[0]
    draws = [
        sampler(panel, network, plan.out, plan.normalize, 16, 7)
        for panel in (here.final, there.final)
    ]
    paged = there.paged(draws[1], every=1)
    for step in range(3):
        for x, y in zip(draws[0](step), paged(step), strict=True):
            assert torch.equal(x, y)
    del buckets
    assert not list(tmp_path.glob("tsrnn-rows/*.npy"))  # a bucket's files go with it


def test_a_full_disk_is_one_line_naming_the_worker_and_its_directory(tmp_path, monkeypatch):
    import errno

    from tsrnn._dataset import store
    from tsrnn._dataset.buckets import Columns
    from tsrnn.errors import ClusterError

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store, "worker_budget", lambda: (1, str(tmp_path)))
    monkeypatch.setattr(store.np, "save", full)
    folder = tmp_path / "tsrnn-rows"
    with pytest.raises(ClusterError, match=rf"could not write its data to {folder} \(No space"):
        in_buckets(long_frame(4, seed=2), Columns("item", "week", "sales"))


def test_buckets_and_windows_beyond_the_budget_live_on_the_workers_disks(dask_processes,
                                                                        tmp_path):  # fmt: skip
    """On `dask worker` processes whose share of their memory limit for data is 0, every
    bucket and every rank's windows are files of their local directory: the fit and the
    forecast complete, and forecast as predict does in this process."""
    import dask

    frame = with_holes(long_frame(150, seed=32), seed=32)
    folder = by_date(frame, tmp_path / "lake")
    cluster = dask_processes(2)
    with Client(cluster.address) as client:

        def no_share() -> None:
            dask.config.set({"tsrnn.memory.buckets": 0, "tsrnn.memory.windows": 0})

        client.wait_for_workers(2)
        client.run(no_share)
        data = read_dataset(folder, id_col="item", client=client, n_buckets=4)
        on_disk = client.gather(client.map(lambda b: b.on_disk, data.buckets, pure=False))
        assert on_disk == [True] * 4
        model = fit_dataset(RNNForecaster(horizon=3, n_models=2, **SMALL), data)
        got = forecast_dataset(model, data, level=[80]).compute()
    here = model.predict(y=in_memory(frame), level=[80]).reset_index()
    merged = got.merge(here, on=["item", "week"], suffixes=("", "_here"), validate="1:1")
    assert len(merged) == 3 * 150
    for column in ("forecast", "lower", "upper", "lo-80", "hi-80"):
        np.testing.assert_allclose(merged[column], merged[f"{column}_here"], rtol=1e-6)


# ---------------------------------------------------------------- bad input


def test_a_gap_names_the_series_and_its_file(client, tmp_path):
    frame = long_frame(50, seed=6)
    bad = frame.index[frame["item"] == "i00007"][5]
    folder = by_date(frame.drop(index=bad), tmp_path / "gap", files=2)
    with pytest.raises(DataError, match=r"series 'i00007'.*gap.*\(in files? .*date-"):
        read_dataset(folder, id_col="item", client=client, missing="raise")
    data = read_dataset(folder, id_col="item", client=client)  # masked: the model says
    assert data.n_missing == 1
    refusing = RNNForecaster(horizon=2, n_models=1, interval=None, missing="raise", **SMALL)
    with pytest.raises(DataError, match=r"series 'i00007'.*gap.*\(in files? .*date-"):
        fit_dataset(refusing, data)
    masking = RNNForecaster(horizon=2, n_models=1, interval=None, **SMALL)
    model = fit_dataset(masking, data)
    model.set_params(missing="raise")
    with pytest.raises(DataError, match=r"series 'i00007'.*gap"):
        forecast_dataset(model, data)


def test_a_corrupt_file_is_named(client, tmp_path):
    folder = by_date(long_frame(20, seed=7), tmp_path / "corrupt", files=2)
    (folder / "date-1.parquet").write_bytes(b"PAR1 not really a parquet file")
    with pytest.raises(DataError, match=r"date-1\.parquet is not a readable Parquet file"):
        read_dataset(folder, id_col="item", client=client)


def test_a_missing_column_and_a_missing_folder_are_one_sentence(client, tmp_path):
    folder = by_date(long_frame(10, seed=8), tmp_path / "cols", files=1)
    with pytest.raises(DataError, match=r"Column 'store' given as id_col= .* is not in"):
        read_dataset(folder, id_col="store", client=client)
    with pytest.raises(DataError, match="does not exist"):
        read_dataset(tmp_path / "nowhere", id_col="item", client=client)


# ---------------------------------------------------------------- the command line


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([TSRNN, *args], cwd=cwd, capture_output=True, text=True, env=env)


@pytest.mark.timeout(400)
def test_cli_forecasts_a_dataset_into_a_dataset_and_replaces_it_whole(tmp_path):
    """The log (stderr, no terminal) has a line per stage with both workers' peaks, and the
    'Stages:' line the benchmarks read; a failed rerun under --log-format json is one JSON
    error and leaves the old output."""
    frame = long_frame(200, seed=9)
    by_date(frame, tmp_path / "lake")
    fast = ["--steps", "20", "--hidden-size", "8", "--n-models", "1", "--random-state", "0"]
    first = _run("forecast", "lake", "--id-col", "item", "-H", "3", "--workers", "2",
                 "--output", "out/", *fast, cwd=tmp_path)  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "Stages: reading and shuffling" in first.stderr
    out = pd.read_parquet(tmp_path / "out")
    assert len(out) == 600 and (tmp_path / "out" / "_SUCCESS").exists()
    lines = [dict(pair.split("=", 1) for pair in line.split())
             for line in first.stderr.splitlines() if line.startswith("event=stage ")]  # fmt: skip
    stages = {line["stage"]: line for line in lines}
    assert [line["stage"] for line in lines] == [
        "reading", "statistics", "training", "calibration", "prediction", "writing"]  # fmt: skip
    assert (stages["reading"]["rows"], stages["reading"]["series"]) == (str(len(frame)), "200")
    assert stages["training"]["networks"] == "2" and stages["training"]["steps"] == "20"
    for name in ("reading", "statistics", "training", "calibration", "prediction"):
        assert len(stages[name]["peak_gib"].split(",")) == 2, name  # one per worker
    benchmark = _benchmark("distributed_data")  # its parsers of the summary lines
    assert benchmark.rows_read(first.stderr) == len(frame)
    seconds = benchmark.stages(first.stderr)
    assert list(seconds) == ["reading and shuffling", "statistics", "training", "calibration",
                             "prediction", "writing"]  # fmt: skip
    assert seconds["training"] == pytest.approx(float(stages["training"]["seconds"]), abs=0.06)
    assert len(benchmark.stage_peaks(first.stderr)["training"]) == 2
    (tmp_path / "lake" / "date-2.parquet").write_bytes(b"not parquet")  # the rerun fails ...
    failed = _run("forecast", "lake", "--id-col", "item", "-H", "3", "--workers", "2",
                  "--output", "out/", "--log-format", "json", *fast, cwd=tmp_path)  # fmt: skip
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    events = [json.loads(line) for line in failed.stderr.splitlines()]
    assert events[-1]["event"] == "error" and events[-1]["exit"] == 2
    assert "date-2.parquet is not a readable Parquet file" in events[-1]["message"]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out"), out)  # ... old output kept
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def _benchmark(name: str):
    """The module benchmarks/<name>.py, imported from its file."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.timeout(400)
@pytest.mark.timeout(400)
def test_cli_reads_exogenous_columns_and_their_future_from_datasets(tmp_path):
    """--exog, --hist-exog and --static (a number and a text column) read from a dataset
    by forecast and fit; the model keeps no series, and predict reads the model's columns
    from --data into an --output folder."""
    frame = with_inputs(long_frame(60, seed=15), seed=15)
    frame = frame.join(static_table(frame, seed=15), on="item")
    by_date(frame, tmp_path / "lake", files=2)
    future_rows(frame, 3, seed=15).to_parquet(tmp_path / "future.parquet", index=False)
    fast = ["--steps", "20", "--hidden-size", "8", "--n-models", "1", "--random-state", "0"]
    inputs = ["--id-col", "item", "--target", "sales", "--exog", "price", "--hist-exog",
              "traffic", "--static", "size,group", "-H", "3", "--workers", "2", *fast]  # fmt: skip
    blind = _run("forecast", "lake", *inputs, "--output", "out/", cwd=tmp_path)
    assert blind.returncode == 2 and "--future" in blind.stderr
    done = _run("forecast", "lake", *inputs, "--future", "future.parquet", "--output", "out/",
                cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = pd.read_parquet(tmp_path / "out")
    assert len(out) == 3 * 60 and np.isfinite(out["forecast"]).all()
    fit = _run("fit", "lake", *inputs, "--model", "m.tsrnn", "--log-format", "json", cwd=tmp_path)
    assert fit.returncode == 0, fit.stderr
    assert load(tmp_path / "m.tsrnn").static_names_ == ["size", "group"]
    events = [json.loads(line) for line in fit.stderr.splitlines()]  # every line is JSON
    assert [e["event"] for e in events] == ["cluster", *["stage"] * 5, "done"]
    assert [e.get("stage") for e in events[1:6]] == [
        "reading", "statistics", "training", "calibration", "writing"]  # fmt: skip
    assert events[0]["workers"] == 2 and events[1]["series"] == 60
    for stage in events[1:5]:  # each worker's peak memory, in GiB
        assert len(stage["peak_gib"]) == 2 and all(0 < gib < 64 for gib in stage["peak_gib"])
    alone = _run("predict", "--model", "m.tsrnn", "--future", "future.parquet", cwd=tmp_path)
    assert alone.returncode == 2 and "keeps no series" in alone.stderr
    predicted = _run("predict", "--model", "m.tsrnn", "--data", "lake", "--workers", "2",
                     "--future", "future.parquet", "--output", "fc", cwd=tmp_path)  # fmt: skip
    assert predicted.returncode == 0, predicted.stderr
    assert len(pd.read_parquet(tmp_path / "fc")) == 3 * 60
    csv = _run("predict", "--model", "m.tsrnn", "--data", "lake", "--workers", "2", "--future",
               "future.parquet", "-o", "fc.csv", cwd=tmp_path)  # fmt: skip
    assert csv.returncode == 2 and "give --output a folder" in csv.stderr
    assert not (tmp_path / "fc.csv").exists()


def test_a_dataset_in_nixtla_long_format_needs_no_column_named(client, tmp_path):
    frame = long_frame(20, seed=7).rename(columns={"item": "unique_id", "week": "ds", "sales": "y"})
    folder = tmp_path / "nixtla"
    folder.mkdir()
    frame.to_parquet(folder / "part-0.parquet", index=False)
    data = read_dataset(folder, client=client)
    assert data.n_series == 20 and (data.columns.id, data.columns.time) == ("unique_id", "ds")
    with pytest.raises(DataError, match="name their id column"):
        read_dataset(by_date(long_frame(5), tmp_path / "plain"), client=client)
