"""Progress bars on stderr: a network's epochs or steps, and the tasks of a cluster job.

Every bar is a ``rich`` progress bar on stderr (stdout stays for results, e.g. a CSV written
to ``-``); a quiet caller gets no bar and a ``None`` callback. ``rich`` is imported only when
a bar is drawn.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Progress", "epoch_bar", "step_bar"]

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
