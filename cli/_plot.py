"""``--plot``: a PNG of the recent history, the forecast, its interval and the --level bands.

Drawn on a bare matplotlib ``Figure`` rendered by the Agg canvas: no pyplot, no GUI backend and
no global state, so it works on a headless machine and in parallel processes.
"""

import os

# Series drawn at most (one panel each); the rest are named in the title.
MAX_PANELS = 6


def plot_forecast(history, forecast, path: str | os.PathLike) -> None:
    """Write a PNG of ``history``'s tail, ``forecast``, its ``[lower, upper]`` band and a
    lighter band for each ``[lo-L, hi-L]`` pair of columns (``--level``).

    Parameters
    ----------
    history : Series or None
        The observed series (``DatetimeIndex``, or ``MultiIndex`` (id, timestamp)); None draws
        the forecast alone. Only the last ``max(4 * horizon, 48)`` points are drawn.
    forecast : DataFrame
        Columns ``forecast``, ``lower``, ``upper`` (and ``lo-L``, ``hi-L``, ...) as returned by
        ``RNNForecaster.predict``.
    path : str or path-like
        Where to write the PNG; written atomically.
    """
    import numpy as np
    import pandas as pd
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from tsrnn.intervals import LOWER, UPPER, level_columns, levels_in
    from tsrnn.io import atomic_path

    multi = isinstance(forecast.index, pd.MultiIndex)
    ids = forecast.index.get_level_values(0).unique().tolist() if multi else [None]
    shown = ids[:MAX_PANELS]
    levels = sorted(levels_in(forecast.columns), key=float, reverse=True)
    if multi:
        forecasts = _series_of(forecast, shown)
        histories = _series_of(history, shown) if history is not None else {}
    fig = Figure(figsize=(9, 2.6 * len(shown) + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(shown), 1, squeeze=False)[:, 0]
    for ax, key in zip(axes, shown, strict=True):
        part = forecasts[key] if multi else forecast
        tail = max(4 * len(part), 48)
        past = histories.get(key) if multi else history
        if past is not None:
            past = past.iloc[-tail:]
            ax.plot(past.index, past.to_numpy(), color="0.2", lw=1.2, label="history")
        ax.plot(part.index, part["forecast"], color="tab:blue", lw=1.6, label="forecast")
        if np.isfinite(part[[LOWER, UPPER]].to_numpy()).any():
            ax.fill_between(
                part.index,
                part[LOWER],
                part[UPPER],
                color="tab:blue",
                alpha=0.2,
                lw=0,
                label="interval",
            )
        for level in levels:  # widest first
            low, high = level_columns(float(level))
            ax.fill_between(
                part.index,
                part[low],
                part[high],
                color="tab:blue",
                alpha=0.1,
                lw=0,
                label=f"{level} %",
            )
        if multi:
            ax.set_title(f"{forecast.index.names[0] or 'series'} {key}")
        elif history is not None and history.name is not None:
            ax.set_title(str(history.name))
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper left", frameon=False)
    if len(ids) > len(shown):
        fig.suptitle(f"first {len(shown)} of {len(ids)} series")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)


def _series_of(frame, keys: list) -> dict:
    """The rows of each id in ``keys`` on the time level: one pass over ``frame``, whatever the
    number of series it holds, and a grouping of the few rows kept."""
    kept = frame[frame.index.get_level_values(0).isin(keys)]
    return {key: part.droplevel(0) for key, part in kept.groupby(level=0, sort=False)}
