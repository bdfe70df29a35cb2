"""Progress: bars on stderr for a person, log records of the finished stages for a program.

Every bar is a ``rich`` progress bar on stderr (stdout stays for results, e.g. a CSV written
to ``-``); a quiet caller gets no bar and a ``None`` callback. ``rich`` is imported only when
a bar is drawn.

A finished stage of the work (the training of a fit's networks, its calibration, a search's
candidate) is an INFO record of the ``"tsrnn"`` logger (:func:`log_event`, :func:`timed`),
whatever the bars: its message a short sentence, its fields a dict in the record's ``tsrnn``
attribute. Nothing handles them unless the caller configures ``logging`` (Python's default
shows warnings only); the ``tsrnn`` command writes them as lines (``tsrnn_cli._log``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Progress", "epoch_bar", "log_event", "log_stage", "step_bar", "timed"]

#: The library's logger: one INFO record per finished stage, with its fields in ``tsrnn``.
logger = logging.getLogger("tsrnn")

#: ``on_epoch(epoch, train_loss, valid_loss)``, called as each epoch ends.
EpochCallback = Callable[[int, float, "float | None"], None]


def _rich_progress(label: str, *columns: Any) -> Any:
    """A started-on-enter rich ``Progress``: label, bar, done/total, ``columns``, elapsed."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        *columns,
        console=Console(stderr=True, force_jupyter=False),
    )


@contextlib.contextmanager
def epoch_bar(total: int, verbose: int) -> Iterator[EpochCallback | None]:
    """An ``on_epoch`` callback drawing a bar of ``total`` epochs with their losses, or None.

    Parameters
    ----------
    total : int
        Epochs of the fit.
    verbose : int
        0: no bar, the block gets None.

    Yields
    ------
    callable(epoch, train_loss, valid_loss) or None
    """
    if not verbose:
        yield None
        return
    from rich.progress import TextColumn, TimeElapsedColumn

    columns = (TimeElapsedColumn(), TextColumn("{task.fields[losses]}"))
    with _rich_progress("training", *columns) as bar:
        task = bar.add_task("fit", total=total, losses="")

        def on_epoch(epoch: int, train_loss: float, valid_loss: float | None) -> None:
            losses = f"loss {train_loss:.4g}"
            if valid_loss is not None:
                losses += f"  valid {valid_loss:.4g}"
            bar.update(task, advance=1, losses=losses)

        yield on_epoch


@contextlib.contextmanager
def step_bar(total: int, verbose: int, every: int = 10) -> Iterator[Callable[[int], None] | None]:
    """An ``on_step(step)`` callback drawing a bar of ``total`` gradient steps, or None.

    The bar is redrawn every ``every`` steps (and at the last one).

    Parameters
    ----------
    total : int
    verbose : int
        0: no bar, the block gets None.
    every : int, default=10

    Yields
    ------
    callable(step) or None
    """
    if not verbose:
        yield None
        return
    from rich.progress import TimeElapsedColumn

    with _rich_progress("training", TimeElapsedColumn()) as bar:
        task = bar.add_task("fit", total=total)
        shown = 0

        def on_step(step: int) -> None:
            nonlocal shown
            if step - shown >= every or step == total:
                bar.update(task, advance=step - shown)
                shown = step

        yield on_step


class Progress:
    """A bar of a job's tasks on stderr (or nothing when ``verbose`` is 0).

    Parameters
    ----------
    verbose : int
    total : int
    label : str
        Shown before the bar, e.g. ``"search"``.
    unit : str
        Shown after the count, e.g. ``"fits"``.
    """

    def __init__(self, verbose: int, total: int, label: str, unit: str) -> None:
        self.verbose, self._total, self.label, self.unit = verbose, total, label, unit
        self._progress = None

    def __enter__(self) -> Progress:
        if self.verbose:
            from rich.progress import TextColumn, TimeElapsedColumn

            self._progress = _rich_progress(
                self.label,
                TextColumn(self.unit),
                TimeElapsedColumn(),
                TextColumn("{task.fields[note]}"),
            )
            self._progress.__enter__()
            self._task = self._progress.add_task(self.label, total=self._total, note="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def advance(self, note: str = "") -> None:
        """One more done; ``note`` is shown after the bar (e.g. the best score so far)."""
        if self._progress is not None:
            self._progress.update(self._task, advance=1, note=note)

    def total(self, total: int) -> None:
        """Change the total (a halving search learns it as it goes)."""
        if self._progress is not None and total != self._total:
            self._total = total
            self._progress.update(self._task, total=total)

    def note(self, text: str) -> None:
        """Print a line above the bar."""
        if self._progress is not None:
            self._progress.console.print(text)


def log_event(event: str, message: str, **fields: Any) -> None:
    """Log one INFO record of the ``"tsrnn"`` logger: ``message``, and ``{"event": event,
    **fields}`` as its ``tsrnn`` attribute (numbers, strings, lists and dicts of them).

    Examples
    --------
    >>> import logging
    >>> seen = []
    >>> class Keep(logging.Handler):
    ...     def emit(self, record):
    ...         seen.append(record.tsrnn)
    >>> logger.addHandler(keep := Keep()); logger.setLevel(logging.INFO)
    >>> log_event("stage", "training: 2 networks", stage="training", networks=2)
    >>> seen
    [{'event': 'stage', 'stage': 'training', 'networks': 2}]
    >>> logger.removeHandler(keep); logger.setLevel(logging.NOTSET)
    """
    if logger.isEnabledFor(logging.INFO):
        logger.info(message, extra={"tsrnn": {"event": event, **fields}})


@contextlib.contextmanager
def timed(stage: str, **fields: Any) -> Iterator[dict[str, Any]]:
    """Time the block and log it as a finished ``stage`` (:func:`log_event`) with its
    ``seconds`` and ``fields``; the block may add fields to the dict it gets. Nothing is
    logged when the block raises.

    Examples
    --------
    >>> with timed("calibration", series=3) as found:
    ...     found["windows"] = 6
    """
    found = dict(fields)
    start = time.perf_counter()
    yield found
    log_stage(stage, time.perf_counter() - start, **found)


def log_stage(stage: str, seconds: float, **fields: Any) -> None:
    """Log a finished ``stage`` of ``seconds`` (:func:`log_event`, event ``"stage"``): the
    message 'training: 12.3 s (networks 8, steps 300, series 144)'."""
    shown = ", ".join(f"{k} {_shown(v)}" for k, v in fields.items())
    log_event(
        "stage",
        f"{stage}: {seconds:.1f} s" + (f" ({shown})" if shown else ""),
        stage=stage,
        seconds=round(seconds, 3),
        **fields,
    )


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "/".join(map(str, value))
    return str(value)
