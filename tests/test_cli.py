"""The installed ``tsrnn`` command, run in subprocesses: happy paths and a matrix of bad inputs.

Training is kept tiny (1-2 epochs, 4 hidden units); the bad-input cases run in parallel, and
most of them fail before any training.
"""

import itertools
import os
import pickle
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

TSRNN = shutil.which("tsrnn", path=str(Path(sys.executable).parent)) or shutil.which("tsrnn")
FAST = ["--epochs", "1", "--hidden-size", "4", "--n-models", "1", "--random-state", "0",
        "--n-threads", "1"]  # fmt: skip
MONTHS = [f"{y}-{m:02d}-01" for y in (2018, 2019, 2020) for m in range(1, 13)]

pytestmark = pytest.mark.skipif(TSRNN is None, reason="the tsrnn command is not installed")


def run(*args, cwd) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TSRNN_DEBUG"}
    return subprocess.run(
        [TSRNN, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**env, "COLUMNS": "100"},
    )


def _csv(header, *columns) -> str:
    lines = [",".join(map(str, row)) for row in zip(*columns, strict=True)]
    return "\n".join([header, *lines]) + "\n"


@pytest.fixture(scope="module")
def air(tmp_path_factory) -> Path:
    """The bundled airpassengers series, exported by the command itself."""
    folder = tmp_path_factory.mktemp("air")
    result = run("datasets", "export", "airpassengers", "air.csv", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder / "air.csv"


# ---------------------------------------------------------------------- happy paths


def test_version():
    result = run("--version", cwd=".")
    assert result.returncode == 0 and result.stdout.startswith("tsrnn ")


@pytest.mark.parametrize(
    "command", [[], ["forecast"], ["fit"], ["predict"], ["backtest"], ["datasets"]]
)
def test_help(command):
    result = run(*command, "--help", cwd=".")
    assert result.returncode == 0 and "Usage: tsrnn" in result.stdout
    assert result.stderr == ""


def test_help_does_not_import_heavy_modules():
    """`tsrnn --help` loads neither torch, dask, pandas nor tsrnn itself."""
    code = (
        "import sys\n"
        "from tsrnn_cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ['torch', 'dask', 'pandas', 'numpy', 'matplotlib', 'tsrnn']\n"
        "print([m for m in heavy if m in sys.modules], file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stderr.strip() == "[]"


def test_datasets_list_and_export_to_stdout(tmp_path):
    listed = run("datasets", "list", cwd=tmp_path)
    assert listed.returncode == 0 and "airpassengers" in listed.stdout
    exported = run("datasets", "export", "airpassengers", "-", cwd=tmp_path)
    assert exported.returncode == 0
    assert exported.stdout.splitlines()[:2] == ["ds,airpassengers", "1949-01-01,112.0"]


def test_forecast_writes_csv_plot_and_summary(air, tmp_path):
    result = run(
        "forecast", air, "--horizon", "12", "--output", "fc.csv", "--plot", "fc.png", *FAST,
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "fc.csv")
    assert table.columns.tolist() == ["ds", "forecast", "lower", "upper"]
    assert len(table) == 12 and table["ds"].iloc[0] == "1961-01-01"
    assert (table["lower"] <= table["forecast"]).all() and (
        table["forecast"] <= table["upper"]
    ).all()
    assert (tmp_path / "fc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Read 144 rows" in result.stderr and "frequency MS" in result.stderr
    assert "fc.csv" in result.stderr and "fc.png" in result.stderr
    assert result.stdout == ""
    # stderr is no terminal here: no bar, one line per finished stage, then the summary
    assert not any(c in result.stderr for c in "━\r\x1b")
    stages = [_pairs(line) for line in result.stderr.splitlines() if line.startswith("event=")]
    assert [s["stage"] for s in stages] == STAGES
    assert all(float(s["seconds"]) >= 0 for s in stages)
    reading, training, calibration, _, writing = stages
    assert (reading["rows"], reading["series"], training["series"]) == ("144", "1", "1")
    # --n-models 1: one network, and its twin on the calibration windows
    assert training["networks"] == "2" and f"of {training['steps']} steps" in result.stderr
    assert int(calibration["windows"]) > 0
    assert (writing["rows"], writing["output"], writing["plot"]) == ("12", "fc.csv", "fc.png")
    assert len(result.stderr.splitlines()) == len(STAGES) + 2  # "Read ...", "Forecast ..."


STAGES = ["reading", "training", "calibration", "prediction", "writing"]


def _pairs(line: str) -> dict[str, str]:
    """A text log line, 'event=stage stage=reading rows=144 ...', as a dict (no value here
    holds a space)."""
    return dict(pair.split("=", 1) for pair in line.split())


def test_log_format_json_is_one_object_per_line(air, tmp_path):
    """--log-format json: every line on stderr is a JSON object, the stages in order with
    the counts of the data, then the summary; an error is one JSON object too, exit 2, and
    nothing is written."""
    import json

    result = run("forecast", air, "-H", "4", "-o", "fc.csv", "--log-format", "json", *FAST,
                 cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert [e.get("stage") for e in events] == [*STAGES, None]
    reading, training, calibration, prediction, writing, done = events
    assert all(e["event"] == "stage" and e["seconds"] >= 0 for e in events[:-1])
    assert (reading["rows"], reading["series"], reading["data"]) == (144, 1, str(air))
    assert (training["networks"], training["series"]) == (2, 1) and training["steps"] >= 1
    assert calibration["windows"] > 0
    assert (prediction["series"], prediction["horizon"], writing["rows"]) == (1, 4, 4)
    assert done["event"] == "done" and done["command"] == "forecast"
    assert done["message"].startswith("Forecast 4 steps of 1 series")
    assert len(pd.read_csv(tmp_path / "fc.csv")) == 4

    failed = run("forecast", air, "-H", "4", "-o", "bad.csv", "--target", "nope",
                 "--log-format", "json", *FAST, cwd=tmp_path)  # fmt: skip
    assert failed.returncode == 2
    [error] = [json.loads(line) for line in failed.stderr.splitlines()]
    assert error["event"] == "error" and error["exit"] == 2 and "nope" in error["message"]
    unknown = run("forecast", air, "-o", "bad.csv", "--log-format", "xml", cwd=tmp_path)
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1
    assert "'xml' is not one of 'text', 'json'" in unknown.stderr
    assert not any(tmp_path.glob("bad.csv*"))


def test_forecast_to_stdout_writes_only_csv(air, tmp_path):
    """--output - : stdout is the CSV and nothing else; --quiet: stderr is empty."""
    result = run("forecast", air, "-H", "3", "--output", "-", "--quiet", "--no-interval", *FAST,
                 cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "ds,forecast,lower,upper" and len(lines) == 4
    assert result.stderr == ""
    assert os.listdir(tmp_path) == []


def _assert_nested(table: pd.DataFrame) -> None:
    """The 95 % bounds hold the 90 % interval (lower, upper), which holds the 80 % bounds."""
    nested = ["lo-95", "lower", "lo-80", "hi-80", "upper", "hi-95"]
    for inner, outer in itertools.pairwise(nested):
        assert (table[inner] <= table[outer]).all(), (inner, outer)


def test_forecast_with_levels_and_quantiles(air, tmp_path):
    """--level and --quantile add their bounds after the default columns, nested by level."""
    result = run("forecast", air, "-H", "6", "--level", "80", "--level", "95", "--quantile",
                 "0.5", "-o", "fc.csv", "--plot", "fc.png", *FAST, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "fc.csv")
    assert table.columns.tolist() == ["ds", "forecast", "lower", "upper", "lo-80", "hi-80",
                                      "lo-95", "hi-95", "q-0.5"]  # fmt: skip
    assert len(table) == 6
    _assert_nested(table)
    assert (tmp_path / "fc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_forecast_a_file_in_nixtla_long_format_naming_no_column(tmp_path):
    """unique_id, ds, y (statsforecast's and mlforecast's names): no --id-col, --time-col or
    --target needed; the output keeps the names."""
    rng = np.random.default_rng(0)
    stamps = pd.date_range("2020-01-01", periods=30, freq="MS")
    frame = pd.concat(
        pd.DataFrame({"unique_id": key, "ds": stamps, "y": 10 + rng.random(30).cumsum()})
        for key in ("a", "b")
    )
    frame.to_csv(tmp_path / "long.csv", index=False)
    result = run("forecast", "long.csv", "-H", "3", "-o", "fc.csv", *FAST, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "fc.csv")
    assert table.columns.tolist()[:3] == ["unique_id", "ds", "forecast"] and len(table) == 6

    # A product the model never saw: predict --data forecasts it from its own history.
    fitted = run("fit", "long.csv", "-H", "3", "--model", "m.tsrnn", *FAST, cwd=tmp_path)
    assert fitted.returncode == 0, fitted.stderr
    frame[frame["unique_id"] == "a"].assign(unique_id="new").to_csv(tmp_path / "new.csv",
                                                                    index=False)  # fmt: skip
    new = run("predict", "--model", "m.tsrnn", "--data", "new.csv", "-o", "p.csv", cwd=tmp_path)
    assert new.returncode == 0, new.stderr
    got = pd.read_csv(tmp_path / "p.csv")
    assert got["unique_id"].unique().tolist() == ["new"] and len(got) == 3


def test_a_past_only_column_needs_no_future_file(tmp_path):
    """--hist-exog and --calendar auto: no --future asked for them, by forecast or predict."""
    rng = np.random.default_rng(1)
    signal = rng.normal(size=40)
    frame = pd.DataFrame({"ds": pd.date_range("2020-01-01", periods=40, freq="MS"),
                          "y": 10 + np.roll(signal, 1), "signal": signal})  # fmt: skip
    frame.to_csv(tmp_path / "data.csv", index=False)
    result = run("forecast", "data.csv", "-H", "2", "--hist-exog", "signal", "--calendar", "auto",
                 "-o", "fc.csv", *FAST, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(pd.read_csv(tmp_path / "fc.csv")) == 2
    fitted = run("fit", "data.csv", "-H", "2", "--hist-exog", "signal", "--calendar", "auto",
                 "-m", "m.tsrnn", *FAST, cwd=tmp_path)  # fmt: skip
    assert fitted.returncode == 0, fitted.stderr
    predicted = run("predict", "-m", "m.tsrnn", "--data", "data.csv", "-o", "p.csv", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr


def test_fit_then_predict_equals_forecast(air, tmp_path):
    """fit + predict from the saved model gives the very same CSV as forecast."""
    options = ["--time-col", "ds", "--target", "airpassengers", "--lookback", "24",
               "--cell", "gru", "--horizon", "12", *FAST]  # fmt: skip
    fitted = run("fit", air, "--model", "model.tsrnn", *options, cwd=tmp_path)
    assert fitted.returncode == 0, fitted.stderr
    assert "model.tsrnn" in fitted.stderr
    predicted = run("predict", "--model", "model.tsrnn", "--horizon", "12", "-o", "p.csv",
                    cwd=tmp_path)  # fmt: skip
    assert predicted.returncode == 0, predicted.stderr
    forecast = run("forecast", air, "-o", "f.csv", "--quiet", *options, cwd=tmp_path)
    assert forecast.returncode == 0, forecast.stderr
    assert (tmp_path / "p.csv").read_text() == (tmp_path / "f.csv").read_text()

    # Levels from the saved model: the default columns as they were, then the bounds.
    levels = run("predict", "--model", "model.tsrnn", "-H", "12", "--level", "80",
                 "--quantile", "0.9", "-o", "l.csv", cwd=tmp_path)  # fmt: skip
    assert levels.returncode == 0, levels.stderr
    with_levels = pd.read_csv(tmp_path / "l.csv")
    default = pd.read_csv(tmp_path / "p.csv")
    assert with_levels.columns.tolist() == [*default.columns, "lo-80", "hi-80", "q-0.9"]
    pd.testing.assert_frame_equal(with_levels[default.columns], default)

    # From newer history: the forecast starts after the data's last timestamp.
    (tmp_path / "older.csv").write_text("".join(air.read_text().splitlines(True)[:121]))
    newer = run("predict", "-m", "model.tsrnn", "--data", "older.csv", "-H", "2", "-o", "-",
                "--plot", "older.png", cwd=tmp_path)  # fmt: skip
    assert newer.returncode == 0, newer.stderr
    assert newer.stdout.splitlines()[1].startswith("1959-01-01,")
    assert (tmp_path / "older.png").exists()


def test_backtest_prints_metrics_table(air, tmp_path):
    result = run("backtest", air, "--horizon", "6", "--origins", "2", "--no-interval",
                 "-o", "metrics.csv", *FAST, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    header = result.stdout.splitlines()[0].split()
    assert header[:2] == ["origin", "cutoff"] and "mae" in header and "mase" in header
    assert result.stdout.splitlines()[-1].split()[0] == "mean"
    assert pd.read_csv(tmp_path / "metrics.csv")["origin"].tolist() == ["1", "2", "mean"]


def _noisy_stores() -> pd.DataFrame:
    """``_stores()`` with a little noise, so that the seasonal-naive scale of MASE is not 0."""
    frame = _stores()
    frame["units"] += [(i * 7) % 5 * 0.3 for i in range(len(frame))]
    return frame


def test_backtest_writes_the_forecasts_of_its_windows(tmp_path):
    """--forecasts: one row per series, origin and step; the metrics are those of its rows."""
    _noisy_stores().to_csv(tmp_path / "stores.csv", index=False)
    common = ["backtest", "stores.csv", "--id-col", "store", "-H", "2", "--origins", "2",
              "--lookback", "6", *FAST]  # fmt: skip
    result = run(*common, "--level", "80", "--forecasts", "cv.csv", "-o", "metrics.csv",
                 "--plot", "cv.png", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    header = result.stdout.splitlines()[0].split()
    assert {"mae", "coverage", "msis", "sql"} <= set(header)
    assert "cv.csv (forecasts)" in result.stderr and "metrics.csv (metrics)" in result.stderr
    assert "cv.png (plot of s0, s1, s2)" in result.stderr  # three series: each drawn
    assert imread(tmp_path / "cv.png").shape == (1040, 900, 4)  # their panels, the metric's
    table = pd.read_csv(tmp_path / "cv.csv")
    assert table.columns.tolist() == ["store", "month", "cutoff", "y", "forecast", "lower",
                                      "upper", "lo-80", "hi-80"]  # fmt: skip
    assert len(table) == 3 * 2 * 2  # series x origins x horizon
    assert table.groupby("store")["cutoff"].nunique().tolist() == [2, 2, 2]
    assert (table["month"] > table["cutoff"]).all()
    actual = pd.read_csv(tmp_path / "stores.csv").set_index(["store", "month"])["units"]
    assert table.set_index(["store", "month"])["y"].equals(actual.loc[table.set_index(
        ["store", "month"]).index].rename("y"))  # fmt: skip
    errors = (table["y"] - table["forecast"]).abs()
    mae = errors.groupby([table["cutoff"], table["store"]]).mean().groupby(level=0).mean()
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert metrics["mae"].iloc[:2].to_numpy() == pytest.approx(mae.to_numpy())

    # --no-refit: one fit, its first window as above; Parquet by the extension.
    once = run(*common, "--no-refit", "--forecasts", "cv.parquet", "-o", "once.csv", "-q",
               cwd=tmp_path)  # fmt: skip
    assert once.returncode == 0, once.stderr
    parquet = pd.read_parquet(tmp_path / "cv.parquet")
    assert parquet.columns.tolist() == table.columns[:-2].tolist() and len(parquet) == 12
    first = parquet["cutoff"] == parquet["cutoff"].min()
    assert parquet.loc[first, "forecast"].to_numpy() == pytest.approx(
        table.loc[first.to_numpy(), "forecast"].to_numpy()
    )
    assert pd.read_csv(tmp_path / "once.csv")["fit_seconds"].iloc[1] == 0


class _Drift:
    """A cheap deterministic forecaster: the last value plus half a unit per step, bounds at
    fixed distances (none with ``interval=None``)."""

    def __init__(self, interval=0.9):
        self.interval = interval

    def get_params(self, deep=True):
        return {"interval": self.interval}

    def set_params(self, **params):
        self.__dict__.update(params)
        return self

    def fit(self, y, X=None):
        self.y_ = y
        return self

    def predict(self, horizon, X_future=None, y=None, X=None, level=None, quantiles=None):
        import numpy as np

        last = (self.y_ if y is None else y).groupby(level=0, sort=False).last()
        index = pd.MultiIndex.from_product([last.index, range(horizon)])
        mean = np.repeat(last.to_numpy(), horizon) + np.tile(0.5 * np.arange(1, horizon + 1),
                                                             len(last))  # fmt: skip
        half = 2.0 if self.interval is not None else np.nan
        out = {"forecast": mean, "lower": mean - half, "upper": mean + half}
        for value in level or []:
            out[f"lo-{value:g}"], out[f"hi-{value:g}"] = mean - value / 20, mean + value / 20
        for value in quantiles or []:
            out[f"q-{value:g}"] = mean + (value - 0.5) * 8
        return pd.DataFrame(out, index=index)


@pytest.mark.parametrize("interval", [0.9, None])
@pytest.mark.parametrize("refit", [True, False])
def test_backtest_with_forecasts_scores_as_tsrnn_backtest(interval, refit):
    """The metrics printed with --forecasts (backtest's table of the same fits, one round of
    fits) are tsrnn.backtest's own; the table keeps the bounds asked for only."""
    from tsrnn import backtest

    frame = _noisy_stores().iloc[2:]  # series ending together, one starting later
    y = frame.set_index(["store", "month"])["units"]
    windows = {"horizon": 2, "n_origins": 3, "step": 1}
    expected = backtest(_Drift(interval), y, **windows, refit=refit)
    level = [80] if interval else None
    got, table = backtest(_Drift(interval), y, **windows, refit=refit, level=level,
                          return_table=True)  # fmt: skip
    pd.testing.assert_frame_equal(got.drop(columns="fit_seconds"),
                                  expected.drop(columns="fit_seconds"))  # fmt: skip
    assert got["msis"].notna().all() == (interval is not None)
    bounds = ["lo-80", "hi-80"] if interval else []
    assert table.columns.tolist() == ["store", "month", "cutoff", "y", "forecast", "lower",
                                      "upper", *bounds]  # fmt: skip
    assert len(table) == 3 * 3 * 2


def test_many_series_with_exogenous_columns(tmp_path):
    """Long format with --id-col, --exog and --future; the id column is in the output."""
    n = len(MONTHS)
    (tmp_path / "stores.csv").write_text(
        _csv("store,month,units,price", ["a"] * n + ["b"] * n, MONTHS * 2,
             [i % 12 + 10 for i in range(2 * n)], [1 + i % 3 for i in range(2 * n)])
    )  # fmt: skip
    (tmp_path / "future.csv").write_text(
        _csv("store,month,price", ["a", "a", "b", "b"], ["2021-01-01", "2021-02-01"] * 2, [1] * 4)
    )
    result = run("forecast", "stores.csv", "--id-col", "store", "--target", "units",
                 "--exog", "price", "--future", "future.csv", "-H", "2", "-o", "-",
                 "--lookback", "6", *FAST, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert table.columns.tolist() == ["store", "month", "forecast", "lower", "upper"]
    assert table["store"].tolist() == ["a", "a", "b", "b"]


def _stores(n_stores=3) -> pd.DataFrame:
    """``n_stores`` monthly series of 36 points in long format, dates as timestamps."""
    n = len(MONTHS)
    return pd.DataFrame(
        {
            "store": [f"s{k}" for k in range(n_stores) for _ in range(n)],
            "month": pd.to_datetime(MONTHS * n_stores),
            "units": [10.0 + (i % 12) + k for k in range(n_stores) for i in range(n)],
        }
    )


def test_forecast_many_series_from_parquet(tmp_path):
    """A Parquet file in long format forecasts like a CSV; the summary counts the series read
    and forecast, and names those --plot-ids drew."""
    _stores().to_parquet(tmp_path / "stores.parquet", index=False)
    result = run("forecast", "stores.parquet", "--id-col", "store", "-H", "2", "-o", "fc.csv",
                 "--no-interval", "--lookback", "6", "--plot", "two.png", "--plot-ids", "s2,s0",
                 *FAST, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "two.png (plot of s2, s0)" in result.stderr  # --plot-ids: those alone, in order
    assert imread(tmp_path / "two.png").shape == (580, 900, 4)
    table = pd.read_csv(tmp_path / "fc.csv")
    assert table.columns.tolist() == ["store", "month", "forecast", "lower", "upper"]
    assert table["store"].tolist() == ["s0", "s0", "s1", "s1", "s2", "s2"]
    assert table["month"].iloc[0] == "2021-01-01"
    assert "Read 108 rows from stores.parquet: 3 series, frequency MS" in result.stderr
    assert "Forecast 2 steps of 3 series" in result.stderr


def test_plot_draws_the_first_and_hardest_of_many_series(tmp_path):
    """--plot of 8 series: the first 3 and the 3 of largest calibration error (which,
    tests/test_plot.py checks)."""
    frame = _stores(8)
    frame["units"] += [(i * 7) % 5 * 0.4 * (i // 36) for i in range(len(frame))]
    frame.to_csv(tmp_path / "stores.csv", index=False)
    common = ["forecast", "stores.csv", "--id-col", "store", "-H", "3", "--lookback", "6",
              "--level", "80", "-o", "fc.csv", *FAST]  # fmt: skip
    result = run(*common, "--plot", "fc.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "fc.png (plot of s0, s1, s2 and the hardest s" in result.stderr
    assert imread(tmp_path / "fc.png").shape == (1620, 900, 4)  # six panels


def test_forecast_on_two_local_workers_equals_the_in_process_forecast(tmp_path):
    """--workers 2: the networks train on a local Dask cluster, same seeds, same forecast.

    A CSV file is read by this process (a Parquet one would be read by the workers, as a
    dataset: tests/test_dataset.py)."""
    _stores().to_csv(tmp_path / "stores.csv", index=False)
    common = ["forecast", "stores.csv", "--id-col", "store", "-H", "2", "--lookback", "6",
              *FAST]  # fmt: skip
    here = run(*common, "-o", "here.csv", cwd=tmp_path)
    there = run(*common, "-o", "there.csv", "--workers", "2", cwd=tmp_path)
    assert here.returncode == 0, here.stderr
    assert there.returncode == 0, there.stderr
    assert "2 Dask worker(s) ready to train" in there.stderr
    assert (tmp_path / "here.csv").read_text() == (tmp_path / "there.csv").read_text()


def test_forecast_a_parquet_dataset_with_levels(tmp_path):
    """A dataset forecast by the workers of a local cluster carries the --level bounds."""
    (tmp_path / "lake").mkdir()
    _stores().to_parquet(tmp_path / "lake" / "part-0.parquet", index=False)
    result = run("forecast", "lake", "--id-col", "store", "-H", "2", "--workers", "2",
                 "--level", "80", "--level", "95", "-o", "out/", "--lookback", "6", *FAST,
                 cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = pd.read_parquet(tmp_path / "out").sort_values(["store", "month"])
    assert table.columns.tolist() == ["store", "month", "forecast", "lower", "upper", "lo-80",
                                      "hi-80", "lo-95", "hi-95"]  # fmt: skip
    assert len(table) == 6
    _assert_nested(table)


def test_a_bad_file_read_beside_a_starting_cluster_fails_in_one_line(tmp_path):
    """The cluster starts before the file is read: an error still ends it cleanly."""
    (tmp_path / "bad.csv").write_text("ds,y\n2020-01-01,1\n2020-01-02,x\n2020-01-03,2\n")
    result = run("forecast", "bad.csv", "-H", "1", "--workers", "2", "-o", "fc.csv", cwd=tmp_path)
    assert result.returncode == 2
    assert "must be numeric, but line 3 has 'x'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "fc.csv").exists()


def test_cluster_options_are_checked_before_reading(air, tmp_path):
    both = run("forecast", air, "--workers", "2", "--scheduler", "tcp://127.0.0.1:1", "-o",
               "fc.csv", cwd=tmp_path)  # fmt: skip
    assert both.returncode == 2 and "not both" in both.stderr
    ranks = run("fit", air, "-m", "m.tsrnn", "--ranks", "2", *FAST, cwd=tmp_path)
    assert ranks.returncode == 2 and "--ranks needs a cluster" in ranks.stderr
    gone = run("forecast", air, "--scheduler", "tcp://127.0.0.1:1", "-o", "fc.csv", *FAST,
               cwd=tmp_path)  # fmt: skip
    assert gone.returncode == 2 and "Cannot reach the Dask scheduler" in gone.stderr
    assert "Traceback" not in gone.stderr
    assert not any(tmp_path.glob("fc.csv*")) and not (tmp_path / "m.tsrnn").exists()


def test_progress_shows_on_a_terminal(air, tmp_path):
    """On a terminal, stderr shows the reading, training and forecasting stages; --quiet
    shows nothing."""
    import pty

    def on_terminal(*args) -> str:
        leader, follower = pty.openpty()
        env = {k: v for k, v in os.environ.items() if k != "TSRNN_DEBUG"}
        env = {**env, "COLUMNS": "100", "TERM": "xterm"}
        command = [TSRNN, *map(str, args)]
        with subprocess.Popen(
            command, cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=follower, env=env,
        ) as process:  # fmt: skip
            os.close(follower)
            chunks = []
            while True:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the command closed the terminal
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            assert process.wait(timeout=300) == 0
        os.close(leader)
        return b"".join(chunks).decode(errors="replace")

    shown = on_terminal("forecast", air, "-H", "3", "-o", "fc.csv", "--no-interval", *FAST)
    assert f"Reading {air}" in shown
    assert "training" in shown and "━" in shown  # the bar, and no log line
    assert "Forecasting 1 series" in shown and "event=" not in shown
    assert "Forecast 3 steps of 1 series" in shown
    assert on_terminal("forecast", air, "-H", "3", "-o", "fc.csv", "-q", *FAST) == ""


def test_debug_shows_traceback(tmp_path):
    result = run("forecast", "missing.csv", "--debug", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" in result.stderr and "DataError" in result.stderr


# ---------------------------------------------------------------------- bad inputs

GOOD = _csv("date,units", MONTHS, range(36))
STORES = _stores(3).assign(month=lambda f: f["month"].dt.strftime("%Y-%m-%d")).to_csv(index=False)


def _with(text: str, line: int, value: str) -> str:
    """GOOD with the value of data line ``line`` (1 = first data row) replaced."""
    lines = text.splitlines()
    date = lines[line].split(",")[0]
    lines[line] = f"{date},{value}"
    return "\n".join(lines) + "\n"


def _rows(text: str, order: list[int]) -> str:
    lines = text.splitlines()
    return "\n".join([lines[0], *(lines[i] for i in order)]) + "\n"


def _pickle() -> bytes:
    return pickle.dumps({"weights": [1.0, 2.0]})


def _truncated_model() -> bytes:
    import numpy as np

    from tsrnn import RNNRegressor, make_windows
    from tsrnn.persist import save

    X, y = make_windows(np.arange(40.0), lookback=4)
    model = RNNRegressor(hidden_size=2, epochs=1, random_state=0, device="cpu").fit(X, y)
    path = save(model, Path(os.environ.get("TMPDIR", "/tmp")) / f"tsrnn-test-{os.getpid()}.tsrnn")
    raw = path.read_bytes()
    path.unlink()
    return raw[:-20]


FORECAST = ["forecast", "data.csv", "-o", "out.csv", "--plot", "out.png"]
PARQUET = ["forecast", "data.parquet", "-o", "out.csv", "--plot", "out.png"]


def _parquet(frame: pd.DataFrame | None = None) -> bytes:
    import io

    if frame is None:
        frame = pd.DataFrame({"date": pd.to_datetime(MONTHS), "units": range(36)})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _corrupt_parquet() -> bytes:
    """A Parquet file whose metadata is overwritten (its length and magic bytes kept)."""
    raw = _parquet()
    size = int.from_bytes(raw[-8:-4], "little")
    return raw[: -8 - size] + b"\xff" * size + raw[-8:]


# id, input files, arguments, text the one-line message must contain
BAD_INPUTS = [
    ("missing-file", {}, FORECAST, "does not exist"),
    ("empty-file", {"data.csv": ""}, FORECAST, "is empty"),
    ("binary-file", {"data.csv": b"\x89PNG\r\n\x1a\n\xff\xfe\x00garbage"}, FORECAST, "not UTF-8"),
    ("malformed-csv", {"data.csv": GOOD + "2021-01-01,1,2,3\n"}, FORECAST, "Expected 2 fields"),
    ("unknown-column", {"data.csv": GOOD}, [*FORECAST, "--target", "unit"], "did you mean 'units'"),
    ("ambiguous-target", {"data.csv": _csv("date,a,b", MONTHS, range(36), range(36))}, FORECAST,
     "2 numeric columns"),
    ("non-numeric-target", {"data.csv": _with(GOOD, 5, "abc")}, FORECAST, "line 6 has 'abc'"),
    ("nan", {"data.csv": _with(GOOD, 7, "")}, [*FORECAST, "--missing", "raise"],
     "empty value (NaN) on line 8"),
    ("unsorted", {"data.csv": _rows(GOOD, [1, 3, 2, *range(4, 37)])}, FORECAST, "not sorted"),
    ("duplicated", {"data.csv": _rows(GOOD, [1, 2, 2, *range(3, 37)])}, FORECAST, "twice"),
    ("gap", {"data.csv": _rows(GOOD, [*range(1, 10), *range(11, 37)])},
     [*FORECAST, "--missing", "raise"], "gap"),
    ("too-short", {"data.csv": _csv("date,units", MONTHS[:10], range(10))},
     [*FORECAST, "--horizon", "12"], "No series is long enough to hold out a 12-step window"),
    ("bad-choice", {"data.csv": GOOD}, [*FORECAST, "--cell", "lsmt"], "'lsmt' is not one of"),
    ("bad-range", {"data.csv": GOOD}, [*FORECAST, "--horizon", "0"], "--horizon"),
    ("bad-value-for-model", {"data.csv": GOOD}, [*FORECAST, "--interval", "1.5", *FAST],
     "'interval' parameter"),
    ("unknown-option", {"data.csv": GOOD}, [*FORECAST, "--epoch", "3"], "No such option: --epoch"),
    ("missing-output-folder", {"data.csv": GOOD}, ["forecast", "data.csv", "-o", "no/out.csv"],
     "does not exist"),
    ("exog-without-future", {"data.csv": _csv("date,units,p", MONTHS, range(36), range(36))},
     [*FORECAST, "--target", "units", "--exog", "p"], "--future"),
    ("pickle-model", {"model.tsrnn": _pickle()},
     ["predict", "-m", "model.tsrnn", "-o", "out.csv"], "pickle"),
    ("corrupted-model", {"model.tsrnn": _truncated_model},
     ["predict", "-m", "model.tsrnn", "-o", "out.csv"], "corrupted"),
    ("missing-model", {}, ["predict", "-m", "model.tsrnn", "-o", "out.csv"], "does not exist"),
    ("unknown-dataset", {}, ["datasets", "export", "nope", "out.csv"], "Unknown dataset"),
    ("fit-bad-data", {"data.csv": _with(GOOD, 3, "")},
     ["fit", "data.csv", "-m", "out.tsrnn", "--missing", "raise"], "NaN"),
    ("backtest-too-short", {"data.csv": GOOD},
     ["backtest", "data.csv", "-H", "12", "--origins", "4", "-o", "out.csv", *FAST], "short"),
    ("bad-level", {"data.csv": GOOD}, [*FORECAST, "--level", "120"],
     "'--level': 120 is not a percentage in (0, 100)"),
    ("bad-quantile", {"data.csv": GOOD}, [*FORECAST, "--quantile", "80", *FAST],
     "'--quantile': 80 is not a probability in (0, 1)"),
    ("level-without-interval", {"data.csv": GOOD}, [*FORECAST, "--level", "80", "--no-interval"],
     "drop --no-interval"),
    ("predict-bad-level", {}, ["predict", "-m", "model.tsrnn", "--level", "100", "-o", "out.csv"],
     "100 is not a percentage"),
    ("backtest-bad-level", {"data.csv": GOOD},
     ["backtest", "data.csv", "-H", "2", "--level", "0", "--forecasts", "cv.csv", *FAST],
     "0 is not a percentage"),
    ("backtest-level-without-forecasts", {"data.csv": GOOD},
     ["backtest", "data.csv", "-H", "2", "--level", "80", *FAST], "add --forecasts PATH"),
    ("backtest-two-csv-to-stdout", {"data.csv": GOOD},
     ["backtest", "data.csv", "-H", "2", "-o", "-", "--forecasts", "-", *FAST], "only one CSV"),
    ("backtest-forecasts-missing-folder", {"data.csv": GOOD},
     ["backtest", "data.csv", "-H", "2", "--forecasts", "no/cv.parquet", *FAST], "does not exist"),
    ("parquet-not-parquet", {"data.parquet": GOOD}, PARQUET, "is not a Parquet file"),
    ("parquet-truncated", {"data.parquet": lambda: _parquet()[:-100]}, PARQUET,
     "or a truncated one"),
    ("parquet-corrupt", {"data.parquet": _corrupt_parquet}, PARQUET,
     "is not a readable Parquet file"),
    ("parquet-empty", {"data.pq": b""}, ["forecast", "data.pq", "-o", "out.csv"], "is empty"),
    ("parquet-missing-column", {"data.parquet": _parquet}, [*PARQUET, "--id-col", "store"],
     "Column 'store' given as id_col= (--id-col) is not in data.parquet"),
    ("parquet-gap", {"data.parquet": lambda: _parquet(pd.DataFrame(
        {"date": pd.to_datetime(MONTHS[:5] + MONTHS[6:]), "units": range(35)}))},
     [*PARQUET, "--missing", "raise"], "has a gap: timestamp 2018-06-01 is missing"),
    ("plot-unknown-id", {"data.csv": STORES}, [*FORECAST, "--id-col", "store", "--plot-ids",
     "s0,s9", *FAST], "no series 's9' in data.csv: give values of its id column 'store' "
     "(its first ids: s0,s1,s2)"),
    ("plot-ids-of-one-series", {"data.csv": GOOD}, [*FORECAST, "--plot-ids", "a"],
     "data.csv holds one"),
    ("plot-ids-without-plot", {"data.csv": STORES},
     ["forecast", "data.csv", "--id-col", "store", "--plot-ids", "s0", "-o", "out.csv"],
     "add --plot PNG"),
    ("backtest-plot-unknown-id", {"data.csv": STORES}, ["backtest", "data.csv", "--id-col",
     "store", "-H", "2", "--plot", "out.png", "--plot-ids", "7", *FAST], "no series '7'"),
    ("parquet-bad-future", {"data.csv": _csv("date,units,p", MONTHS, range(36), range(36)),
                            "future.parquet": b"PAR1 not really"},
     [*FORECAST, "--target", "units", "--exog", "p", "--future", "future.parquet", *FAST],
     "future.parquet' is not a Parquet file"),
]  # fmt: skip


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory) -> dict:
    """Run every bad-input case, in parallel, each in its own folder."""

    def one(case):
        name, files, args, _ = case
        folder = tmp_path_factory.mktemp(name)
        for file, content in files.items():
            content = content() if callable(content) else content
            data = content if isinstance(content, bytes) else content.encode()
            (folder / file).write_bytes(data)
        return name, (run(*args, cwd=folder), folder, set(files))

    with ThreadPoolExecutor(max_workers=(os.cpu_count() or 1) + 1) as pool:
        return dict(pool.map(one, BAD_INPUTS))


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[case[0] for case in BAD_INPUTS])
def test_bad_input(bad_runs, case):
    """Exit code 2, one line on stderr saying what to fix, no traceback, no file left.

    Stderr is no terminal here: the lines of the stages finished before the error (reading
    the file) come first, as in any log."""
    name, _, _, message = case
    result, folder, inputs = bad_runs[name]
    assert result.returncode == 2, result.stderr
    *done, error = result.stderr.strip().splitlines()
    assert all(line.startswith("event=stage stage=reading ") for line in done), result.stderr
    assert error.startswith("Error: ") and message in error
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert set(os.listdir(folder)) == inputs  # no output, no temporary file


# ---------------------------------------------------------------------- options table


def test_model_options_match_the_forecaster():
    """Every model option is a forecaster parameter; shown defaults and choices are its own."""
    import inspect
    import typing

    from sklearn.utils._param_validation import StrOptions
    from tsrnn_cli._model_options import MODEL_OPTIONS

    from tsrnn._train.loop import LOSSES, OPTIMIZERS
    from tsrnn.forecaster import RNNForecaster
    from tsrnn.nn import CELLS

    signature = inspect.signature(RNNForecaster).parameters
    tables = {"cell": CELLS, "optimizer": OPTIMIZERS, "loss": LOSSES}
    for name, annotation in MODEL_OPTIONS.items():
        if name == "no_interval":
            continue
        assert name in signature, name
        kind, option = typing.get_args(annotation)
        default = signature[name].default
        if default is not None:
            assert option.show_default == str(default), name
        literal = [a for a in typing.get_args(kind) if typing.get_origin(a) is typing.Literal]
        if literal:
            constraints = RNNForecaster._parameter_constraints.get(name, [])
            strings = [c.options for c in constraints if isinstance(c, StrOptions)]
            allowed = set(tables[name]) if name in tables else strings[0]
            assert set(typing.get_args(literal[0])) == set(allowed), name
    assert set(signature) - set(MODEL_OPTIONS) == {"horizon", "verbose"}
