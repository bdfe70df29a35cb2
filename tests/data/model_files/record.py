r"""Write the model files of ``tests/test_model_files.py`` with the code of an earlier release.

Each model file format was written by real code, once, and is kept as a fixture: the test
loads every file with today's ``tsrnn.load`` and checks that it forecasts what the release that
wrote it forecast. This script was run once per format, each time with the last commit that
still wrote that format on the import path (a detached worktree, ``PYTHONPATH`` set to it):

=======  ========================================  =====================  ===================
format   commit that wrote the files               format introduced by   files
=======  ========================================  =====================  ===================
1        368bb209d8a05b6246da58b2b22651dd462bf080  5879a13                format1_*
2        e517c10972c4ddb67ece8bf1d046f4ed76a73ea2  5263936                format2_*
3        a1b7fc62711426ddae511ec01410e8d4ccb09e2e  7999d68                format3_*
4        1c830207dfacb72ce813ef327067a63d8e6bbd7b  3618c46                format4_*
4        3618c46d378f09cffab284ce50ac8e7c06cd5eb3  3618c46 (``--first``)  format4first_*
5        077414d760095b2ea8d544912c7bdf9ced011d92  540eb36                format5_*
=======  ========================================  =====================  ===================

(the last commit writing each format, i.e. the parent of the commit introducing the next one,
or main's head for the current format 5; and for format 4 also its first commit, 3618c46:
50488a1, still format 4, added the unit weights of the bounds to the files) as::

    git worktree add --detach /tmp/tsrnn-f1 368bb20
    PYTHONPATH=/tmp/tsrnn-f1 python tests/data/model_files/record.py 1
    git worktree add --detach /tmp/tsrnn-f4first 3618c46
    PYTHONPATH=/tmp/tsrnn-f4first python tests/data/model_files/record.py 4 --first \
        plain many keeps_no_series

The forecasts recorded are those of the fitted model in memory; each release's own ``load``
of the files it wrote gave them again to the last bit (checked when they were recorded).

It must NOT be rerun to overwrite the fixtures: their worth is that an older release wrote
them. It refuses to replace a file that exists. A new format gets its files by running this
script once with the last commit that writes it (add cases for its new features below, guarded
by the format number).

Every case fits a small forecaster (CPU, one thread, fixed seeds), saves it as
``format{N}_{case}.tsrnn`` and writes ``format{N}_{case}.json``: the commit, the format version
read back from the file, and the calls made to ``predict`` with their inputs (frames are stored
column by column, floats as exact JSON numbers) and every column of their output. The inputs
passed to ``predict`` here went through ``encode`` and ``decode`` first, so that the test, which
decodes them the same way, calls ``predict`` with exactly the same frames.

Only features that each release has are used: intervals from format 1, levels and quantiles
from format 3, forecasters that keep no series (fitted on a Dask dataset) from format 3,
``missing``, ``hist_exog`` and ``calendar`` from format 4 (its last commit), static covariates,
text columns and ``holidays`` from format 5.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
LEVELS = {"level": [80, 95], "quantiles": [0.1, 0.5, 0.9]}
SMALL = {"hidden_size": 8, "device": "cpu", "n_threads": 1, "random_state": 0}


# ---------------------------------------------------------------- frames as JSON


def _encode_values(values: Any) -> dict[str, Any]:
    values = pd.Index(values) if not isinstance(values, pd.Series) else values
    dtype = values.dtype
    kind = getattr(dtype, "kind", "O")
    if kind == "M":
        items = [None if pd.isna(v) else pd.Timestamp(v).isoformat() for v in values]
    elif kind == "f":
        items = [None if math.isnan(v) else float(v) for v in values]
    elif kind in "iub":
        items = [v.item() if hasattr(v, "item") else v for v in values]
    else:
        items = [
            None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
            for v in values
        ]
    return {"dtype": str(dtype), "values": items}


def _decode_values(data: dict[str, Any]) -> np.ndarray | pd.Index:
    dtype, items = data["dtype"], data["values"]
    if dtype.startswith("datetime64"):
        return pd.DatetimeIndex(pd.to_datetime(items)).astype(dtype)
    if dtype.startswith("float"):
        return np.array([np.nan if v is None else v for v in items], dtype=dtype)
    return pd.Index(items, dtype=dtype)


def encode(obj: Any) -> Any:
    """A Series, DataFrame or plain value as JSON (index, dtypes and exact floats kept)."""
    if isinstance(obj, (pd.Series, pd.DataFrame)):
        index = obj.index
        out: dict[str, Any] = {
            "type": "series" if isinstance(obj, pd.Series) else "frame",
            "index_names": list(index.names),
            "index": [_encode_values(index.get_level_values(i)) for i in range(index.nlevels)],
        }
        if isinstance(obj, pd.Series):
            out["name"] = obj.name
            out["values"] = _encode_values(obj)
        else:
            out["columns"] = {str(c): _encode_values(obj[c]) for c in obj.columns}
        return out
    return obj


def decode(data: Any) -> Any:
    """The inverse of :func:`encode`."""
    if not (isinstance(data, dict) and data.get("type") in ("series", "frame")):
        return data
    levels = [_decode_values(level) for level in data["index"]]
    if len(levels) == 1:
        index = pd.Index(levels[0], name=data["index_names"][0])
    else:
        index = pd.MultiIndex.from_arrays(levels, names=data["index_names"])
    if data["type"] == "series":
        return pd.Series(_decode_values(data["values"]), index=index, name=data["name"])
    columns = {c: np.asarray(_decode_values(v)) for c, v in data["columns"].items()}
    return pd.DataFrame(columns, index=index)


def call_arguments(kwargs: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    """The arguments of a recorded ``predict`` call, its frames decoded from ``inputs``."""
    return {
        key: decode(inputs[value["$input"]]) if isinstance(value, dict) else value
        for key, value in kwargs.items()
    }


# ---------------------------------------------------------------- data


def monthly_panel(n: int = 6, seed: int = 0, newer: int = 0):
    """Monthly series of 40 to 60 points ending on different months, in long format, with a
    known numeric column ``price`` and its next 12 values; ``newer`` more points of history
    (the same series, later)."""
    rng = np.random.default_rng(seed)
    ys, xs, futures = [], [], []
    for k in range(n):
        length = int(rng.integers(40, 61))
        end = pd.Timestamp("2020-12-01") - pd.DateOffset(months=int(rng.integers(0, 4)))
        stamps = pd.date_range(end=end, periods=length + 15, freq="MS")
        t = np.arange(length + 15)
        price = 5 + np.sin(t / 2 + k) + rng.normal(0, 0.2, len(t))
        value = 50 + 5 * k + 0.4 * t + 6 * np.sin(2 * np.pi * t / 12 + k) - 2 * price
        value = value + rng.normal(0, 1.0, len(t))
        index = pd.MultiIndex.from_product([[f"s{k}"], stamps], names=["id", "timestamp"])
        past, ahead = slice(0, length + newer), slice(length + newer, length + newer + 12)
        ys.append(pd.Series(value[past], index=index[past], name="y"))
        xs.append(pd.DataFrame({"price": price[past]}, index=index[past]))
        futures.append(pd.DataFrame({"price": price[ahead]}, index=index[ahead]))
    return pd.concat(ys), pd.concat(xs), pd.concat(futures)


def weekly_long_frame(n: int = 30, seed: int = 0) -> pd.DataFrame:
    """Weekly series of 30 to 50 points as a long table (item, week, sales)."""
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(n):
        length = int(rng.integers(30, 51))
        stamps = pd.date_range(
            "2022-01-03", periods=length + int(rng.integers(0, 6)), freq="W-MON"
        )[-length:]
        t = np.arange(length)
        values = 30 + k % 7 + 3 * np.sin(t / 3 + k) + 0.1 * t + rng.normal(0, 0.5, length)
        parts.append(pd.DataFrame({"item": f"i{k:03d}", "week": stamps, "sales": values}))
    return pd.concat(parts, ignore_index=True)


def daily_retail(n: int = 8, days: int = 70, seed: int = 0):
    """Daily sales of ``n`` items: a static group (text) and store size (number), a text
    promotion, a known price, a past-only rival price and a few missing sales."""
    rng = np.random.default_rng(seed)
    stamps = pd.date_range("2021-03-01", periods=days + 7, freq="D")
    ids = [f"item{k}" for k in range(n)]
    group = np.array(["weekday", "weekend"])[np.arange(n) % 2]
    size = np.round(rng.uniform(1, 3, n), 3)
    promo = rng.choice(["none", "none", "none", "bogo", "discount"], size=(n, len(stamps)))
    lift = np.select([promo == "bogo", promo == "discount"], [8.0, 4.0], 0.0)
    price = 10 + rng.normal(0, 0.5, size=(n, len(stamps)))
    weekly = np.sin(2 * np.pi * np.arange(len(stamps)) / 7)
    sign = np.where(group == "weekday", 1.0, -1.0)[:, None]
    sales = 20 + 3 * size[:, None] + 3 * sign * weekly + lift - 0.5 * price
    sales = sales + 0.3 * rng.normal(size=lift.shape)
    rival = rng.normal(size=lift.shape)
    index = pd.MultiIndex.from_product([ids, stamps], names=["item", "date"])
    frame = pd.DataFrame(
        {
            "sales": sales.ravel(),
            "promo": promo.ravel(),
            "price": price.ravel(),
            "rival": rival.ravel(),
        },
        index=index,
    )
    past = frame.index.get_level_values("date") < stamps[days]
    history, future = frame[past].copy(), frame[~past].copy()
    history.loc[rng.random(len(history)) < 0.03, "sales"] = np.nan  # missing values, masked
    static = pd.DataFrame({"group": group, "store_size": size}, index=pd.Index(ids, name="item"))
    return history, future, static


# ---------------------------------------------------------------- cases


def _plain(fmt: int):
    import tsrnn
    from tsrnn.datasets import load

    y = load("airpassengers")
    extra = {"long_lookback": 36} if fmt >= 2 else {}
    model = tsrnn.RNNForecaster(
        horizon=12, lookback=24, steps=30, n_models=4, interval=0.9, **extra, **SMALL
    ).fit(y)
    calls = [{}] + ([LEVELS] if fmt >= 3 else [])
    features = "AirPassengers, one series, n_models=4, interval=0.9" + (
        ", long_lookback=36" if fmt >= 2 else ""
    )
    return model, calls, features


def _many(fmt: int):
    import tsrnn

    y, X, future = monthly_panel(6, seed=1)
    model = tsrnn.RNNForecaster(
        horizon=12, lookback=12, steps=30, n_models=2, interval=0.8, **SMALL
    ).fit(y, X)
    calls = [{"X_future": future}]
    if fmt >= 3:
        calls.append({"X_future": future, **LEVELS})
    # A newer history of the fitted series (and its X): the forecast starts later.
    y2, X2, future2 = monthly_panel(6, seed=1, newer=3)
    calls.append({"y": y2, "X": X2, "X_future": future2})
    features = "6 monthly series (id, timestamp), known numeric X (price), interval=0.8"
    return model, calls, features


def _keeps_no_series(fmt: int):
    import tsrnn
    from tsrnn.cluster import local_cluster
    from tsrnn.parallel import fit_dataset, read_dataset

    frame = weekly_long_frame(30, seed=2)
    with tempfile.TemporaryDirectory() as folder:
        for i, part in enumerate(np.array_split(np.arange(len(frame)), 3)):
            frame.iloc[part].to_parquet(Path(folder) / f"part-{i}.parquet", index=False)
        with local_cluster(1) as client:
            data = read_dataset(folder, id_col="item", client=client)
            model = fit_dataset(tsrnn.RNNForecaster(horizon=4, steps=30, n_models=2, **SMALL), data)
    assert model.series_ids_ is None
    y = frame.set_index(["item", "week"]).sort_index()["sales"]
    calls = [{"y": y}, {"y": y, **LEVELS}]
    features = "fitted on a Dask dataset (30 weekly series, 3 Parquet files), keeps no series"
    return model, calls, features


def _covariates_4(fmt: int):
    import tsrnn

    history, future, _ = daily_retail(6, seed=3)
    y, X = history["sales"], history[["price", "rival"]]
    model = tsrnn.RNNForecaster(
        horizon=7,
        lookback=14,
        steps=30,
        n_models=2,
        missing="mask",
        hist_exog=["rival"],
        calendar="auto",
        **SMALL,
    )
    model.fit(y, X)
    X_future = future[["price"]]
    calls = [{"X_future": X_future}, {"X_future": X_future, **LEVELS}]
    features = (
        "6 daily series with NaN targets (missing='mask'), known numeric X (price), "
        "past-only hist_exog (rival), calendar='auto'"
    )
    return model, calls, features


def _covariates_5(fmt: int):
    import tsrnn

    history, future, static = daily_retail(8, seed=4)
    y, X = history["sales"], history[["promo", "price", "rival"]]
    model = tsrnn.RNNForecaster(
        horizon=7,
        lookback=14,
        steps=40,
        n_models=2,
        missing="mask",
        hist_exog=["rival"],
        calendar="auto",
        **SMALL,
    )
    model.fit(y, X, static=static)
    X_future = future[["promo", "price"]]
    unknown = X_future.copy()
    unknown["promo"] = unknown["promo"].where(unknown["promo"] != "bogo", "clearance")
    # A new series with a short history: its static row is given, its group is known.
    short = history.loc[["item2"]].iloc[-10:].rename(index={"item2": "new"}, level=0)
    new_future = future.loc[["item2"]].rename(index={"item2": "new"}, level=0)
    new_static = pd.DataFrame(
        {"group": ["weekday"], "store_size": [2.5]}, index=pd.Index(["new"], name="item")
    )
    calls = [
        {"X_future": X_future},
        {"X_future": X_future, **LEVELS},
        {"X_future": unknown},  # a promotion never seen in fit: code 0
        {
            "y": short["sales"],
            "X": short[["promo", "price", "rival"]],
            "X_future": new_future[["promo", "price"]],
            "static": new_static,
        },
    ]
    features = (
        "8 daily series: static text (group) and numeric (store_size) covariates, text X "
        "(promo), known numeric X (price), hist_exog (rival), calendar='auto', NaN "
        "targets (missing='mask'); predict with an unknown category and for "
        "a new series with its static row"
    )
    return model, calls, features


def _holidays_5(fmt: int):
    import tsrnn

    stamps = pd.date_range("2021-10-01", periods=120, freq="D")
    t = np.arange(len(stamps))
    rng = np.random.default_rng(5)
    y = pd.Series(
        40 + 5 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 1, len(t)), index=stamps, name="visits"
    )
    y = y.drop(stamps[[50, 51]])  # a gap of two days: missing targets, masked
    model = tsrnn.RNNForecaster(
        horizon=14, lookback=28, steps=30, n_models=2, holidays="US", calendar="auto", **SMALL
    ).fit(y)
    calls = [{}, LEVELS]
    features = "one daily series with a gap of two days, holidays='US' and calendar='auto'"
    return model, calls, features


def cases(fmt: int) -> dict[str, Any]:
    out: dict[str, Any] = {"plain": _plain, "many": _many}
    if fmt >= 3:
        out["keeps_no_series"] = _keeps_no_series
    if fmt == 4:
        out["covariates"] = _covariates_4
    if fmt >= 5:
        out["covariates"] = _covariates_5
        out["holidays"] = _holidays_5
    return out


# ---------------------------------------------------------------- main


def _format_in_file(path: Path) -> int:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return int(f.metadata()["format_version"])


def main(argv: list[str]) -> None:
    import torch

    import tsrnn
    import tsrnn.persist

    fmt = int(argv[0])
    first = "--first" in argv  # the first commit writing the format, not the last
    only = {a for a in argv[1:] if a != "--first"}
    if fmt != tsrnn.persist.FORMAT_VERSION:
        raise SystemExit(
            f"this tsrnn ({tsrnn.__file__}) writes format {tsrnn.persist.FORMAT_VERSION}, not {fmt}"
        )
    source = Path(tsrnn.__file__).resolve().parent.parent
    commit = subprocess.run(
        ["git", "-C", str(source), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(source), "status", "--porcelain", "--", "tsrnn"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if dirty:
        raise SystemExit(f"{source} has local changes to tsrnn/: record from a clean commit")
    torch.set_num_threads(1)
    for name, build in cases(fmt).items():
        if only and name not in only:
            continue
        path = HERE / f"format{fmt}{'first' if first else ''}_{name}.tsrnn"
        if path.exists() or path.with_suffix(".json").exists():
            raise SystemExit(f"{path.name} exists: fixtures are written once, never replaced")
        model, calls, features = build(fmt)
        inputs: dict[str, Any] = {}
        recorded = []
        for call in calls:
            kwargs = {}
            for key, value in call.items():
                if isinstance(value, (pd.Series, pd.DataFrame)):
                    value = encode(value)
                    name = next((n for n, v in inputs.items() if v == value), None)
                    if name is None:
                        name = key if key not in inputs else f"{key}_{len(inputs)}"
                        inputs[name] = value
                    value = {"$input": name}
                kwargs[key] = value
            out = model.predict(**call_arguments(kwargs, inputs))
            recorded.append({"kwargs": kwargs, "output": encode(out)})
        tsrnn.save(model, path)
        record = {
            "commit": commit,
            "format_version": _format_in_file(path),
            "tsrnn_version": tsrnn.__version__,
            "torch_version": torch.__version__,
            "python": sys.version.split()[0],
            "features": features,
            "inputs": inputs,
            "calls": recorded,
        }
        text = json.dumps(record, indent=1)
        # Lists of plain values on one line (JSON strings hold no raw newline).
        text = re.sub(r"\[[^\[\]{}]*\]", lambda m: re.sub(r"\n\s*", "", m.group(0)), text)
        path.with_suffix(".json").write_text(text + "\n")
        print(f"{path.name}: {path.stat().st_size} bytes, {len(calls)} calls")


if __name__ == "__main__":
    main(sys.argv[1:])
