"""Training speed of RNNRegressor against a minimal hand-written PyTorch loop.

The same LSTM task (hidden 64, lookback 48, 20,000 windows, batch 64, 3 epochs) is trained by
both over the same pre-made arrays, interleaved round by round so that both see the same machine
load, with 1 and with 2 torch threads, first on a quiet machine and then with another process
keeping one core busy (where OpenMP spin-waiting would show). Prints windows/second of each and
their ratio (target: RNNRegressor >= 0.95 of the hand loop), then the memory ``make_windows``
adds on a 10-million point series with lookback 256.

Run: ``python benchmarks/train_speed.py [--rounds 3] [--windows 20000]``
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import torch
from torch import nn

from tsrnn import RNNRegressor, make_windows
from tsrnn.nn import RNNNet

HIDDEN, LOOKBACK, BATCH, EPOCHS = 64, 48, 64, 3


def hand_loop(X: np.ndarray, y: np.ndarray, seed: int) -> float:
    """The minimal loop a PyTorch user would write; returns seconds."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    X_t = torch.from_numpy(X)[:, :, None]
    y_t = torch.from_numpy(y)[:, None]
    model = RNNNet(1, 1, cell="lstm", hidden_size=HIDDEN)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()
    for _ in range(EPOCHS):
        order = torch.randperm(len(X_t))
        for i in range(0, len(X_t), BATCH):
            idx = order[i : i + BATCH]
            optimizer.zero_grad()
            loss = loss_fn(model(X_t[idx]), y_t[idx])
            loss.backward()
            optimizer.step()
    return time.perf_counter() - start


def tsrnn_fit(X: np.ndarray, y: np.ndarray, seed: int) -> float:
    """The same task through RNNRegressor.fit, at torch's current thread count; returns seconds."""
    start = time.perf_counter()
    RNNRegressor(
        cell="lstm",
        hidden_size=HIDDEN,
        epochs=EPOCHS,
        batch_size=BATCH,
        random_state=seed,
        n_threads=torch.get_num_threads(),
    ).fit(X, y)
    return time.perf_counter() - start


@contextlib.contextmanager
def busy_core(enabled: bool):
    """Keep one core busy with another process, as a second job on the machine would."""
    if not enabled:
        yield
        return
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        burner.kill()
        burner.wait()


def window_memory() -> tuple[int, int]:
    """Bytes of a 10M-point float64 series, and bytes make_windows allocates over it."""
    series = np.random.default_rng(0).normal(size=10_000_000)
    tracemalloc.start()
    X, _ = make_windows(series, lookback=256)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert X.shape == (10_000_000 - 256, 256) and np.shares_memory(X, series)
    return series.nbytes, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--windows", type=int, default=20_000)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    series = np.sin(np.arange(args.windows + LOOKBACK) / 10) + 0.1 * rng.normal(
        size=args.windows + LOOKBACK
    )
    X, y = make_windows(series.astype(np.float32), lookback=LOOKBACK)
    X, y = np.array(X[: args.windows]), np.array(y[: args.windows])  # writable copies
    n = len(X) * EPOCHS
    print(
        f"LSTM hidden {HIDDEN}, lookback {LOOKBACK}, {len(X)} windows, batch {BATCH}, "
        f"{EPOCHS} epochs; median of {args.rounds} interleaved rounds"
    )
    print(
        f"{'threads':>7}  {'other load':>10}  {'hand loop win/s':>16}  "
        f"{'RNNRegressor win/s':>19}  {'ratio':>6}"
    )
    previous = torch.get_num_threads()
    for contended in (False, True):
        for threads in (1, 2):
            torch.set_num_threads(threads)
            hand, ours = [], []
            with busy_core(contended):
                for r in range(args.rounds):
                    first, second = (hand_loop, tsrnn_fit) if r % 2 == 0 else (tsrnn_fit, hand_loop)
                    t1, t2 = first(X, y, r), second(X, y, r)
                    (hand if first is hand_loop else ours).append(t1)
                    (ours if first is hand_loop else hand).append(t2)
            h, o = n / statistics.median(hand), n / statistics.median(ours)
            load = "1 core" if contended else "none"
            print(f"{threads:>7}  {load:>10}  {h:>16,.0f}  {o:>19,.0f}  {o / h:>6.3f}")
    torch.set_num_threads(previous)

    series_bytes, added = window_memory()
    print(
        f"make_windows on 10,000,000 points, lookback 256: series {series_bytes / 2**20:,.1f} MiB,"
        f" windows add {added / 2**10:,.1f} KiB ({added / series_bytes:.4%} of the series;"
        f" a copy would be {256 * series_bytes / 2**30:,.1f} GiB)"
    )


if __name__ == "__main__":
    main()
