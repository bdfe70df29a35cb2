"""``--plot``: a PNG of a forecast (``forecast``, ``predict``) or of a backtest's windows.

Three steps, each a function: :func:`pick` chooses the series drawn (those of ``--plot-ids``,
else the first :data:`FIRST` and the :data:`HARDEST` of largest error, or every series when
there are few), :func:`plot_frame` (:func:`backtest_frame`) gathers their rows into one frame,
and :func:`draw_forecasts` (:func:`draw_backtest`) draws that frame, and nothing else: the
tests check the frame the drawing receives. On a dataset the workers send the rows of the
series drawn, never the rest (:func:`dataset_frame`).

Drawn on a bare matplotlib ``Figure`` rendered by the Agg canvas: no pyplot, no GUI backend and
no global state, so it works on a headless machine and in parallel processes. pandas and
matplotlib are imported inside the functions (``tsrnn --help`` stays fast).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    import pandas as pd

#: Series drawn by default: the first FIRST and the HARDEST of largest error.
FIRST, HARDEST = 3, 3
#: What the hardest are measured by, for a forecast and for a backtest.
CALIBRATION_ERROR = "scaled error on the calibration windows"
BACKTEST_ERROR = "sMAPE on the backtest windows"


@dataclass
class Picked:
    """The series drawn, in order, with a note for each (its error, why it was drawn).

    Attributes
    ----------
    ids : list
    notes : dict
        Id -> "hardest: scaled error on the calibration windows 2.31", or "" when nothing is
        known of it.
    caption : str
        What the figure shows of the data: "first 3 and hardest 3 of 120 series".
    hardest : list
        The ids drawn for their error.
    """

    ids: list
    notes: dict = field(default_factory=dict)
    caption: str = ""
    hardest: list = field(default_factory=list)

    def describe(self) -> str:
        """'plot of s0, s1, s2 and the hardest s7, s9': for the summary line."""
        first = [str(k) for k in self.ids if k not in self.hardest]
        text = "plot of " + ", ".join(first) if first else "plot of"
        if self.hardest:
            text += (" and" if first else "") + " the hardest " + ", ".join(map(str, self.hardest))
        return text


def pick(
    first: list,
    errors: pd.Series | None = None,
    *,
    n_series: int,
    chosen: list | None = None,
    measure: str = CALIBRATION_ERROR,
) -> Picked:
    """Which series to draw.

    Parameters
    ----------
    first : list
        The first ``FIRST + HARDEST`` ids (all of them when there are fewer series).
    errors : Series or None
        Errors indexed by id, largest first (``calibration_series_errors_``; the hardest
        only, on a dataset); None when unknown.
    n_series : int
        Series in all.
    chosen : list or None
        The ids of ``--plot-ids``, drawn alone, in their order.
    measure : str
        What ``errors`` measure, for the notes.

    Returns
    -------
    Picked
    """
    known = errors if errors is not None and len(errors) else None
    if chosen:
        ids, hardest = list(chosen), []
        caption = f"{len(ids)} of {n_series} series (--plot-ids)"
    elif n_series <= FIRST + HARDEST or known is None:
        ids, hardest = list(first[: FIRST + HARDEST]), []
        caption = "" if len(ids) >= n_series else f"first {len(ids)} of {n_series} series"
    else:
        ids = list(first[:FIRST])
        hardest = [k for k in known.index if k not in ids][:HARDEST]
        ids += hardest
        caption = f"first {FIRST} and hardest {len(hardest)} of {n_series} series"
    notes = {}
    for key in ids:
        note = ""
        if known is not None and key in known.index:
            note = f"{measure} {known[key]:.2f}"
            if key in hardest:
                note = f"hardest: {note}"
        notes[key] = note
    return Picked(ids, notes, caption, hardest)


def plot_frame(history: pd.Series | None, forecast: pd.DataFrame, ids: list, *, tail: int):
    """The rows drawn: the last ``tail`` values of each series of ``ids``, then its forecast.

    Parameters
    ----------
    history : Series or None
        The observed series, indexed by time or by (id, time); None draws the forecasts alone.
    forecast : DataFrame
        As ``RNNForecaster.predict`` returns it: ``forecast``, ``lower``, ``upper`` and the
        ``lo-L``/``hi-L`` and ``q-Q`` bounds, indexed by time or by (id, time).
    ids : list
        The series drawn (:func:`pick`), in order; ``[name]`` for one series.
    tail : int

    Returns
    -------
    DataFrame
        Indexed by (id, time), one block per series in the order of ``ids``: the history
        rows (column ``y``; NaN in the other columns) then the forecast rows (``y`` NaN).
    """
    import pandas as pd

    blocks = []
    pasts = _series_of(history, ids) if history is not None else {}
    futures = _series_of(forecast, ids)
    for key in ids:
        future = futures[key]
        past = pasts.get(key)
        past = past.iloc[-tail:].to_frame("y") if past is not None else None
        part = pd.concat([past, future], axis=0) if past is not None else future.copy()
        if "y" not in part.columns:
            part.insert(0, "y", float("nan"))
        part = part[["y", *future.columns]]
        part.index = pd.MultiIndex.from_arrays(
            [[key] * len(part), part.index], names=["id", future.index.name or "time"]
        )
        blocks.append(part)
    return pd.concat(blocks)


def _series_of(frame, keys: list) -> dict:
    """The rows of each id in ``keys`` on the time level (a frame of one series: its only
    key, ``keys[0]``): one pass over ``frame``, whatever the number of series it holds."""
    import pandas as pd

    if not isinstance(frame.index, pd.MultiIndex):
        return {keys[0]: frame}
    kept = frame[frame.index.get_level_values(0).isin(keys)]
    return {key: part.droplevel(0) for key, part in kept.groupby(level=0, sort=False)}


def _canvas(panels: int, extra: float = 0.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 2.6 * panels + extra + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _title(key, target: str | None, note: str) -> str:
    """'s7 — units (hardest: scaled error ... 2.31)'; one series: its name alone."""
    name = str(key) if target is None or str(key) == str(target) else f"{key} — {target}"
    return f"{name} ({note})" if note else name


def _save(fig, path: str | os.PathLike) -> None:
    from tsrnn.io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)


def draw_forecasts(
    frame: pd.DataFrame,
    path: str | os.PathLike,
    *,
    target: str | None,
    interval: float | None,
    notes: dict | None = None,
    caption: str = "",
):
    """Draw :func:`plot_frame`'s rows, one panel per series, and write them as a PNG.

    The history in grey, the forecast in blue, the band of ``lower``/``upper`` labelled with
    its level ("90 % interval") and one band per ``lo-L``/``hi-L`` pair ("80 % interval"),
    the narrower darker and drawn over the wider; each panel titled "<id> — <target>" and its
    note.

    Parameters
    ----------
    frame : DataFrame
        As :func:`plot_frame` returns it.
    path : str or path-like
        Where to write the PNG; written atomically.
    target : str or None
        The target's name.
    interval : float or None
        The coverage of ``lower``/``upper`` (the forecaster's ``interval``).
    notes : dict or None
        Id -> a note for the panel's title (:class:`Picked`).
    caption : str
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import numpy as np
    from matplotlib import colormaps

    from tsrnn.intervals import LOWER, UPPER, level_columns, levels_in

    cmap = colormaps["Blues"]
    ids = frame.index.get_level_values(0).unique().tolist()
    levels = levels_in(frame.columns)
    fig = _canvas(len(ids))
    axes = fig.subplots(len(ids), 1, squeeze=False)[:, 0]
    for ax, key in zip(axes, ids, strict=True):
        part = frame.xs(key, level=0)
        future = part[part["forecast"].notna()]
        past = part[part["forecast"].isna()]  # NaN values too: a gap shows as one
        if len(past):
            ax.plot(past.index, past["y"], color="0.2", lw=1.2, label="history", zorder=3)
        ax.plot(
            future.index, future["forecast"], color="tab:blue", lw=1.6, label="forecast", zorder=3
        )
        bands = [(float(level), *level_columns(float(level))) for level in levels]
        if interval is not None and np.isfinite(future[[LOWER, UPPER]].to_numpy()).any():
            bands.append((interval * 100, LOWER, UPPER))
        bands.sort(key=lambda band: -band[0])  # widest first, the narrower drawn over it
        for k, (level, low, high) in enumerate(bands):
            shade = cmap(0.2 + 0.25 * k / max(len(bands) - 1, 1))
            ax.fill_between(
                future.index,
                future[low],
                future[high],
                color=shade,
                lw=0,
                zorder=1,
                label=f"{level:g} % interval",
            )
        ax.set_title(_title(key, target, (notes or {}).get(key, "")), fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper left", frameon=False, fontsize=8)
    if caption:
        fig.suptitle(caption)
    _save(fig, path)
    return fig


# ---------------------------------------------------------------------- the commands' plots


def tail_of(horizon: int) -> int:
    """History points drawn before a forecast of ``horizon`` steps."""
    return max(4 * horizon, 48)


def check_plot_ids(names: list[str] | None, plot) -> None:
    """--plot-ids without --plot: refused before any work."""
    if names and plot is None:
        raise typer.BadParameter(
            "--plot-ids picks the series --plot draws: add --plot PNG", param_hint="'--plot-ids'"
        )


def chosen_ids(names: list[str] | None, found: dict, *, data, id_col: str | None, first: list):
    """The ids of ``names`` (the text of --plot-ids), or one line naming the first that is no
    series' id; ``found`` maps the text of the ids found to the ids, ``first`` a few ids for
    the message."""
    if not names:
        return None
    if id_col is None:
        raise typer.BadParameter(
            f"--plot-ids picks among many series and {data} holds one: drop --plot-ids, or "
            "name the column of the series' ids with --id-col",
            param_hint="'--plot-ids'",
        )
    for name in names:
        if name not in found:
            shown = ",".join(map(str, first))
            raise typer.BadParameter(
                f"no series {name!r} in {data}: give values of its id column {id_col!r} (its "
                f"first ids: {shown}), separated by commas",
                param_hint="'--plot-ids'",
            )
    return [found[name] for name in names]


def ids_in(frame) -> list:
    """The ids of a frame indexed by (id, time), in order (``[]`` for one series)."""
    import pandas as pd

    if not isinstance(frame.index, pd.MultiIndex):
        return []
    return frame.index.get_level_values(0).unique().tolist()


def chosen_in_memory(names: list[str] | None, frame, *, data) -> list | None:
    """:func:`chosen_ids` among the series of ``frame`` (the history, or a forecast)."""
    if not names:
        return None
    ids = ids_in(frame)
    found = {str(key): key for key in ids}
    id_col = frame.index.names[0] if ids else None
    return chosen_ids(names, found, data=data, id_col=id_col, first=ids[:3])


def plot_forecast(
    history,
    forecast,
    path,
    *,
    errors=None,
    chosen: list | None = None,
    target: str | None,
    interval: float | None,
    horizon: int,
) -> Picked:
    """Pick, gather and draw the series of a forecast held by this process."""
    ids = ids_in(forecast)
    if ids:
        picked = pick(ids[: FIRST + HARDEST], errors, n_series=len(ids), chosen=chosen)
    else:  # one series
        picked = Picked([target or "series"], {target or "series": ""})
    frame = plot_frame(history, forecast, picked.ids, tail=tail_of(horizon))
    draw_forecasts(
        frame, path, target=target, interval=interval, notes=picked.notes, caption=picked.caption
    )
    return picked


def write_and_plot(quiet: bool, result, output: str, plot, *, history, **drawing) -> str:
    """The writing stage of a forecast held by this process: the file, then the figure of
    :func:`plot_forecast` (``history``, ``drawing``: its arguments) where ``plot`` is given;
    the words the command's summary names the figure by."""
    from tsrnn.io import write_forecast

    from ._printing import stage

    with stage(quiet, None, "writing", rows=len(result), output=output) as shown:
        write_forecast(result, output)
        if plot is None:
            return "plot"
        shown["plot"] = str(plot)
        return plot_forecast(history, result, plot, **drawing).describe()


def dataset_frame(dataset, forecasts, ids: list, *, tail: int):
    """:func:`plot_frame` of the series ``ids`` of a dataset forecast by its workers: their
    last ``tail`` values and their forecast rows come from the workers (the forecasts
    filtered where they live, on the dataset's client), never the other series'."""
    from tsrnn.parallel import history_tail

    columns = dataset.columns
    rows = forecasts[forecasts[columns.id].isin(ids)]
    drawn = dataset.client.compute(rows).result()
    drawn = drawn.set_index([columns.id, columns.time]).sort_index()
    return plot_frame(history_tail(dataset, ids, tail), drawn, ids, tail=tail)


def plot_dataset(
    dataset,
    forecasts,
    path,
    *,
    errors=None,
    chosen: list | None = None,
    interval: float | None,
    horizon: int,
) -> Picked:
    """Pick, gather (:func:`dataset_frame`) and draw the series of a dataset's forecast."""
    from tsrnn.parallel import first_ids

    first = first_ids(dataset, FIRST + HARDEST)
    picked = pick(first, errors, n_series=dataset.n_series, chosen=chosen)
    frame = dataset_frame(dataset, forecasts, picked.ids, tail=tail_of(horizon))
    draw_forecasts(
        frame,
        path,
        target=dataset.columns.target,
        interval=interval,
        notes=picked.notes,
        caption=picked.caption,
    )
    return picked


def chosen_in_dataset(names: list[str] | None, dataset, *, data) -> list | None:
    """:func:`chosen_ids` among the series of a dataset: the workers look the names up."""
    if not names:
        return None
    from tsrnn.parallel import find_ids, first_ids

    found = find_ids(dataset, names)
    first = first_ids(dataset, 3) if len(found) < len(set(names)) else []
    return chosen_ids(names, found, data=data, id_col=dataset.columns.id, first=first)


# ---------------------------------------------------------------------- backtest


def window_errors(table) -> pd.Series:
    """Each series' sMAPE over every backtest window of a ``cross_validation`` table, largest
    first (steps without an actual value left out)."""
    import numpy as np
    import pandas as pd

    from tsrnn.metrics import smape

    keys = list(table.columns[: table.columns.get_loc("cutoff")])[:-1]
    seen = table[table["y"].notna()]
    if not keys:
        values = [smape(seen["y"], seen["forecast"])] if len(seen) else []
        return pd.Series(values, index=pd.Index([None] * len(values)), dtype=np.float64)
    errors = {
        key: smape(part["y"], part["forecast"]) for key, part in seen.groupby(keys[0], sort=False)
    }
    return pd.Series(errors, dtype=np.float64).sort_values(ascending=False, kind="stable")


def backtest_frame(table, history, ids: list, *, tail: int):
    """The rows of a backtest drawn: each series' actual values from ``tail`` points before
    its first window (``cutoff`` NaT), then every window's rows of the ``cross_validation``
    ``table`` (its ``cutoff``, ``y``, ``forecast`` and bounds).

    Parameters
    ----------
    table : DataFrame
        As ``tsrnn.cross_validation`` returns it.
    history : Series
        The series backtested, indexed by time or (id, time).
    ids : list
        The series drawn; ``[name]`` for one series.
    tail : int

    Returns
    -------
    DataFrame
        Indexed by (id, time), one block per series in the order of ``ids``: the actual
        values then the windows' rows (``origins * horizon`` of them per series).
    """
    import pandas as pd

    at = table.columns.get_loc("cutoff")
    keys = list(table.columns[:at])
    time = keys[-1]
    if len(keys) > 1:
        windows = table.set_index(keys)
    else:  # one series: the name it is drawn under
        windows = table.set_index(
            pd.MultiIndex.from_arrays([[ids[0]] * len(table), table[time]], names=[None, time])
        )
        windows = windows.drop(columns=time)
    pasts = _series_of(history, ids)
    blocks = []
    for key in ids:
        rows = windows.xs(key, level=0)
        past = pasts[key]
        start = past.index.get_indexer([rows.index.min()])[0]
        past = past.iloc[max(start - tail, 0) :].to_frame("y")
        past.insert(0, "cutoff", pd.NaT)
        part = pd.concat([past, rows.reset_index(drop=False).set_index(time)])
        part = part[["cutoff", *rows.columns.drop("cutoff")]]
        part.index = pd.MultiIndex.from_arrays([[key] * len(part), part.index], names=["id", time])
        blocks.append(part)
    return pd.concat(blocks)


def draw_backtest(
    frame: pd.DataFrame,
    metrics: pd.DataFrame,
    path: str | os.PathLike,
    *,
    target: str | None,
    metric: str = "smape",
    notes: dict | None = None,
    caption: str = "",
):
    """Draw :func:`backtest_frame`'s rows (the actual values, and each window's forecast and
    interval in the colour of its origin), one panel per series, and under them the
    ``metric`` of each origin (the rows of ``tsrnn.backtest``'s ``metrics``); write a PNG.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import numpy as np

    from tsrnn.intervals import LOWER, UPPER

    ids = frame.index.get_level_values(0).unique().tolist()
    per_origin = metrics[metrics.index != "mean"]
    cutoffs = list(per_origin["cutoff"])
    colour = {cutoff: f"C{k % 10}" for k, cutoff in enumerate(cutoffs)}
    fig = _canvas(len(ids), extra=2.0)
    grid = fig.add_gridspec(len(ids) + 1, 1, height_ratios=[2.6] * len(ids) + [1.6])
    for k, key in enumerate(ids):
        ax = fig.add_subplot(grid[k])
        part = frame.xs(key, level=0)
        actual = part[part["cutoff"].isna()]
        ax.plot(actual.index, actual["y"], color="0.2", lw=1.2, label="actual")
        for n, (cutoff, window) in enumerate(part[part["cutoff"].notna()].groupby("cutoff")):
            shade = colour.get(cutoff, f"C{n % 10}")
            ax.plot(window.index, window["forecast"], color=shade, lw=1.6, label=f"origin {n + 1}")
            if LOWER in window and np.isfinite(window[[LOWER, UPPER]].to_numpy()).any():
                ax.fill_between(
                    window.index, window[LOWER], window[UPPER], color=shade, alpha=0.15, lw=0
                )
            ax.axvline(cutoff, color=shade, lw=0.8, ls=":")
        ax.set_title(_title(key, target, (notes or {}).get(key, "")), fontsize=10)
        ax.grid(alpha=0.3)
        if k == 0:
            ax.legend(loc="upper left", frameon=False, fontsize=8, ncol=2)
    ax = fig.add_subplot(grid[len(ids)])
    from tsrnn.io import format_value

    labels = [f"{n + 1}: {format_value(c)}" for n, c in enumerate(cutoffs)]
    ax.bar(labels, per_origin[metric].to_numpy(dtype=float), color=[colour[c] for c in cutoffs])
    name = {"smape": "sMAPE (%)", "mase": "MASE", "mae": "MAE"}.get(metric, metric)
    ax.set_title(f"{name} per origin (mean over the series; origin: its cutoff)", fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    if caption:
        fig.suptitle(caption)
    _save(fig, path)
    return fig


def plot_backtest(
    history, table, metrics, path, *, chosen: list | None = None, target: str | None, horizon: int
) -> Picked:
    """Pick (the hardest: by sMAPE over the windows), gather and draw a backtest."""
    ids = ids_in(history)
    errors = window_errors(table)
    if ids:
        picked = pick(
            ids[: FIRST + HARDEST], errors, n_series=len(ids), chosen=chosen, measure=BACKTEST_ERROR
        )
    else:
        name = target or "series"
        note = f"{BACKTEST_ERROR} {errors.iloc[0]:.2f}" if len(errors) else ""
        picked = Picked([name], {name: note})
    frame = backtest_frame(table, history, picked.ids, tail=max(2 * horizon, 24))
    draw_backtest(frame, metrics, path, target=target, notes=picked.notes, caption=picked.caption)
    return picked
