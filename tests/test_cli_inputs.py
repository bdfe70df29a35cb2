"""The installed ``tsrnn`` command with the inputs of a global model (#24): static, text
(categorical) and past-only columns, and a product the model never saw."""

import numpy as np
import pandas as pd
from test_cli import FAST, pytestmark, run  # noqa: F401  (skipped without the command)


def _retail(tmp_path) -> None:
    """A retailer's long file: text promotion, past-only competitor price, static category
    (text) and store size; its future file; and a new product of a category never seen."""
    days = pd.date_range("2024-01-01", periods=40, freq="D")
    rows, future, new = [], [], []
    for k, (category, size) in enumerate([("dairy", 1.0), ("dairy", 2.0), ("bakery", 3.0)]):
        for t, day in enumerate(days):
            promo = "bogo" if t % 5 == 0 else "none"
            rows.append((f"item{k}", day, 10 + k + (t % 7) + 3 * (promo == "bogo"), promo,
                         5.0 + t % 3, category, size))  # fmt: skip
        for day in pd.date_range(days[-1] + pd.Timedelta("1D"), periods=3, freq="D"):
            future.append((f"item{k}", day, "none"))
    for t, day in enumerate(days[:10]):
        new.append(("fresh", day, 12 + t % 7, "none", 5.0, "frozen", 2.0))
    header = ["item", "date", "sales", "promo", "competitor_price", "category", "store_size"]
    pd.DataFrame(rows, columns=header).to_csv(tmp_path / "sales.csv", index=False)
    pd.DataFrame(new, columns=header).to_csv(tmp_path / "new.csv", index=False)
    pd.DataFrame(future, columns=["item", "date", "promo"]).to_csv(
        tmp_path / "future.csv", index=False
    )
    start = days[9] + pd.Timedelta("1D")
    stamps = pd.date_range(start, periods=3, freq="D")
    pd.DataFrame({"item": "fresh", "date": stamps, "promo": ["none", "flash", "none"]}).to_csv(
        tmp_path / "new_future.csv", index=False
    )


def test_static_categorical_and_past_only_columns_and_a_new_product(tmp_path):
    """--static category,store_size, a text --exog, a --hist-exog column; the model file then
    forecasts a new product of an unknown category and an unknown promotion from --data."""
    _retail(tmp_path)
    columns = ["--id-col", "item", "--target", "sales", "--exog", "promo", "--hist-exog",
               "competitor_price", "--static", "category,store_size", "-H", "3",
               "--lookback", "7", *FAST]  # fmt: skip
    result = run("forecast", "sales.csv", *columns, "--future", "future.csv", "-o", "fc.csv",
                 cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "fc.csv")
    assert table["item"].tolist() == ["item0"] * 3 + ["item1"] * 3 + ["item2"] * 3
    assert np.isfinite(table["forecast"]).all()
    fitted = run("fit", "sales.csv", *columns, "-m", "m.tsrnn", cwd=tmp_path)
    assert fitted.returncode == 0, fitted.stderr
    new = run("predict", "-m", "m.tsrnn", "--data", "new.csv", "--future", "new_future.csv",
              "-o", "p.csv", cwd=tmp_path)  # fmt: skip
    assert new.returncode == 0, new.stderr
    predicted = pd.read_csv(tmp_path / "p.csv")
    assert predicted["item"].tolist() == ["fresh"] * 3
    assert np.isfinite(predicted["forecast"]).all()
    # The static columns are needed of new series only: a newer history of fitted items
    # without them forecasts; a new item without them is one line naming what to add.
    sales = pd.read_csv(tmp_path / "sales.csv")
    sales.drop(columns=["category", "store_size"]).to_csv(tmp_path / "newer.csv", index=False)
    newer = run("predict", "-m", "m.tsrnn", "--data", "newer.csv", "--future", "future.csv",
                "-o", "n.csv", cwd=tmp_path)  # fmt: skip
    assert newer.returncode == 0, newer.stderr
    bare = pd.read_csv(tmp_path / "new.csv").drop(columns=["category", "store_size"])
    bare.to_csv(tmp_path / "bare.csv", index=False)
    refused = run("predict", "-m", "m.tsrnn", "--data", "bare.csv", "--future",
                  "new_future.csv", "-o", "b.csv", cwd=tmp_path)  # fmt: skip
    assert refused.returncode == 2 and "as columns of --data" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "b.csv").exists()


def test_a_static_column_that_changes_within_a_series_is_refused(tmp_path):
    _retail(tmp_path)
    frame = pd.read_csv(tmp_path / "sales.csv")
    frame.loc[5, "category"] = "frozen"  # item0 changes category on day 6
    frame.to_csv(tmp_path / "bad.csv", index=False)
    result = run("forecast", "bad.csv", "--id-col", "item", "--target", "sales", "--static",
                 "category", "-H", "3", "-o", "fc.csv", *FAST, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2
    assert "static column 'category' of bad.csv changes within series 'item0'" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "fc.csv").exists()


def test_backtest_reads_static_and_text_columns(tmp_path):
    """backtest --static with a text --exog: every origin is fitted with them."""
    _retail(tmp_path)
    result = run("backtest", "sales.csv", "--id-col", "item", "--target", "sales", "--exog",
                 "promo", "--static", "category,store_size", "-H", "3", "--origins", "2",
                 "--lookback", "7", "-o", "metrics.csv", *FAST, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert len(metrics) == 3 and np.isfinite(metrics["mase"]).all()  # 2 origins and the mean
