"""``--level`` and ``--quantile``: the bounds a forecast adds beside ``lower`` and ``upper``.

Their values are checked as the options are parsed, by the library's rule
(``tsrnn.intervals.invalid_level`` and ``invalid_quantile``: a level is a percentage in
(0, 100), a quantile a probability in (0, 1)) with the CLI's own messages; :func:`check_levels`
refuses them, before any work, where no prediction interval is calibrated.
"""

from typing import Annotated

import typer


def _checked(values: list[float] | None, invalid, what: str) -> list[float] | None:
    """``values`` each once, in the order given, if ``invalid`` (a rule of
    ``tsrnn.intervals``) finds none bad; else one line saying the first bad one is not
    ``what``."""
    if not values:
        return None
    bad = invalid(values)
    if bad is not None:
        raise typer.BadParameter(f"{bad:g} is not {what}")
    return list(dict.fromkeys(values))


def _percentages(values: list[float] | None) -> list[float] | None:
    """``--level`` values: percentages in (0, 100)."""
    from tsrnn.intervals import invalid_level

    return _checked(
        values,
        invalid_level,
        "a percentage in (0, 100): give the coverage of an interval, e.g. --level 80 --level 95",
    )


def _probabilities(values: list[float] | None) -> list[float] | None:
    """``--quantile`` values: probabilities in (0, 1)."""
    from tsrnn.intervals import invalid_quantile

    return _checked(
        values,
        invalid_quantile,
        "a probability in (0, 1): give a quantile such as --quantile 0.1 --quantile 0.9",
    )


Levels = Annotated[
    list[float] | None,
    typer.Option(
        "--level",
        metavar="PERCENT",
        callback=_percentages,
        help="Also write the bounds of the prediction interval of this coverage in percent as "
        "columns lo-PERCENT and hi-PERCENT (--level 80: lo-80, hi-80); repeat the option for "
        "more levels.",
        show_default=False,
    ),
]
Quantiles = Annotated[
    list[float] | None,
    typer.Option(
        "--quantile",
        metavar="FLOAT",
        callback=_probabilities,
        help="Also write this quantile of the forecast, in (0, 1), as column q-FLOAT "
        "(--quantile 0.1: q-0.1); repeat the option for more quantiles.",
        show_default=False,
    ),
]


def check_levels(
    level: list | None, quantiles: list | None, *, interval: float | None, saved: bool = False
) -> None:
    """Refuse --level and --quantile without a prediction interval, before any work.

    Levels and quantiles come from the calibration of the interval: a model fitted with
    ``interval=None`` (``--no-interval``; ``saved``: a model file) has none.
    """
    if (level or quantiles) and interval is None:
        given = "--level" if level else "--quantile"
        why = (
            "and the model was fitted without one (--no-interval): fit it again with an interval"
            if saved
            else "which --no-interval skips: drop --no-interval"
        )
        raise typer.BadParameter(
            f"{given} needs the calibration of the prediction interval, {why}",
            param_hint=f"'{given}'",
        )
