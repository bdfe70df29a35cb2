"""The model options: the parameters of :class:`tsrnn.RNNForecaster` as command-line options.

:data:`MODEL_OPTIONS` is a table named after the forecaster's parameters (``--hidden-size`` is
``hidden_size``); a command decorated with :func:`model_options` gets the ones the user gave
as a dict, and the forecaster's own defaults apply to the rest. Nothing here imports tsrnn:
``tsrnn --help`` builds every command's options from this table and must stay fast (the shown
defaults are written out; tests/test_cli.py checks they are the forecaster's).
"""

import functools
import inspect
from typing import Annotated, Literal

import typer

from ._data import exog_columns

#: RNNForecaster parameter -> its option. Defaults shown are the forecaster's (a test checks).
MODEL_OPTIONS = {
    "lookback": Annotated[
        int | None,
        typer.Option(
            metavar="INT",
            min=1,
            help="Steps of history each forecast reads.",
            show_default="2 horizons or 2 seasons, at least 8; short series are padded",
        ),
    ],
    "long_lookback": Annotated[
        int | None,
        typer.Option(
            metavar="INT",
            min=1,
            help="Steps of history the third and fourth of every four networks read instead.",
            show_default="2 lookbacks, at most the longest series",
        ),
    ],
    "strategy": Annotated[
        Literal["direct", "recursive"] | None,
        typer.Option(
            help="direct: one network emits every step; recursive: a one-step network is fed "
            "its own forecasts.",
            show_default="direct",
        ),
    ],
    "normalize": Annotated[
        Literal["last", "window", "none"] | None,
        typer.Option(
            help="How each window is made level-free (window: also scale-free).",
            show_default="window",
        ),
    ],
    "season_length": Annotated[
        int | None,
        typer.Option(
            metavar="INT", min=1, help="Observations per season.", show_default="from the frequency"
        ),
    ],
    "scaler": Annotated[
        Literal["auto", "log", "standard", "minmax", "none"] | None,
        typer.Option(
            help="Scaling of each series (auto: log if positive, else standard) and inputs.",
            show_default="auto",
        ),
    ],
    "deseasonalize": Annotated[
        bool | None,
        typer.Option(
            "--deseasonalize/--no-deseasonalize",
            help="Take seasonal indices out of series with a significant season.",
            show_default="True",
        ),
    ],
    "patch_size": Annotated[
        int | None,
        typer.Option(
            metavar="INT",
            min=1,
            help="Steps the network reads as one input step.",
            show_default="lookback / 12, at least 1",
        ),
    ],
    "combine": Annotated[
        Literal["auto", "none", "theta"] | None,
        typer.Option(
            help="theta: average the networks' forecast with the Theta method's; auto: "
            "whichever errs less on the calibration windows.",
            show_default="auto",
        ),
    ],
    "interval": Annotated[
        float | None,
        typer.Option(
            metavar="FLOAT",
            help="Coverage of the prediction interval, in (0, 1).",
            # tsrnn.intervals.DEFAULT_INTERVAL, written out: --help imports no tsrnn module.
            show_default="0.9",
        ),
    ],
    "no_interval": Annotated[
        bool,
        typer.Option(
            "--no-interval", help="Skip the prediction interval (faster: one network less)."
        ),
    ],
    "hist_exog": Annotated[
        list[str] | None,
        typer.Option(
            "--hist-exog",
            metavar="COLUMN[,COLUMN]",
            help="Past-only input column: read over the history, never needed in the future "
            "(no --future for it); repeat the option or separate names by commas.",
            show_default=False,
        ),
    ],
    "calendar": Annotated[
        Literal["auto"] | None,
        typer.Option(
            help="auto: add calendar inputs read off the timestamps (hour, weekday, day of the "
            "year, week, month or quarter, as the frequency has them); no future file needed.",
            show_default="none",
        ),
    ],
    "holidays": Annotated[
        str | None,
        typer.Option(
            metavar="COUNTRY",
            help="Add an input that is 1 on the public holidays of this country (a code of the "
            "holidays package: US, DE, GB, US-CA, ...), read off the timestamps of daily or "
            "finer data; no future file needed.",
            show_default=False,
        ),
    ],
    "missing": Annotated[
        Literal["mask", "raise"] | None,
        typer.Option(
            help="Empty target values and missing timestamps (gaps): mask them out of the inputs "
            "and the loss, or refuse them.",
            show_default="mask",
        ),
    ],
    "calibration_size": Annotated[
        int | None,
        typer.Option(
            metavar="INT",
            min=1,
            help="Windows per series held out to calibrate the interval.",
            show_default="about 200 in all, one per series at least",
        ),
    ],
    "n_models": Annotated[
        int | None,
        typer.Option(
            metavar="INT", min=1, help="Networks averaged (different seeds).", show_default="4"
        ),
    ],
    "cell": Annotated[
        Literal["rnn", "lstm", "gru"] | None,
        typer.Option(help="Recurrent cell.", show_default="lstm"),
    ],
    "hidden_size": Annotated[
        int | None,
        typer.Option(metavar="INT", min=1, help="Units of the hidden state.", show_default="64"),
    ],
    "num_layers": Annotated[
        int | None,
        typer.Option(metavar="INT", min=1, help="Stacked recurrent layers.", show_default="1"),
    ],
    "dropout": Annotated[
        float | None,
        typer.Option(
            metavar="FLOAT",
            help="Dropout between layers and before the head, in [0, 1).",
            show_default="0.0",
        ),
    ],
    "optimizer": Annotated[
        Literal["adam", "rmsprop", "sgd"] | None,
        typer.Option(help="Optimizer.", show_default="adam"),
    ],
    "learning_rate": Annotated[
        float | None, typer.Option(metavar="FLOAT", help="Learning rate.", show_default="0.001")
    ],
    "weight_decay": Annotated[
        float | None, typer.Option(metavar="FLOAT", help="L2 penalty.", show_default="0.0")
    ],
    "steps": Annotated[
        int | None,
        typer.Option(
            metavar="INT",
            min=1,
            help="Gradient steps per network.",
            show_default="50 passes over the windows, 300 to 2000 steps",
        ),
    ],
    "epochs": Annotated[
        int | None,
        typer.Option(metavar="INT", min=1, help="Passes over the windows instead of --steps."),
    ],
    "batch_size": Annotated[
        int | None,
        typer.Option(metavar="INT", min=1, help="Windows per batch.", show_default="256"),
    ],
    "loss": Annotated[
        Literal["mse", "mae", "huber"] | None,
        typer.Option(help="Training loss.", show_default="mae"),
    ],
    "clip_grad_norm": Annotated[
        float | None,
        typer.Option(
            metavar="FLOAT", help="Clip the gradient norm to this value.", show_default="1.0"
        ),
    ],
    "device": Annotated[
        str | None,
        typer.Option(help="auto, cpu, cuda or cuda:N.", show_default="auto"),
    ],
    "n_threads": Annotated[
        int | None,
        typer.Option(
            metavar="INT",
            min=1,
            help="Torch threads while training.",
            show_default="1",
        ),
    ],
    "random_state": Annotated[
        int | None,
        typer.Option(
            metavar="INT",
            help="Seed: the same seed and data give the same forecast on one machine.",
        ),
    ],
}


def model_options(command, exclude: frozenset[str] = frozenset()):
    """Give ``command`` the model options; it receives the ones given as ``params``.

    ``params`` maps RNNForecaster parameter names to the values the user typed; options left
    out are absent, so the forecaster's defaults apply. ``--no-interval`` becomes
    ``interval=None``. Options named in ``exclude`` are left out (use it through
    ``functools.partial`` as a decorator).
    """
    options = {name: a for name, a in MODEL_OPTIONS.items() if name not in exclude}
    signature = inspect.signature(command)
    own = [p for name, p in signature.parameters.items() if name != "params"]
    added = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=annotation,
            default=False if name == "no_interval" else None,
        )
        for name, annotation in options.items()
    ]

    @functools.wraps(command)
    def with_params(**kwargs):
        given = {name: kwargs.pop(name) for name in options}
        params = {name: value for name, value in given.items() if value is not None}
        if params.pop("no_interval", False):
            params["interval"] = None
        if "hist_exog" in params:
            params["hist_exog"] = exog_columns(params["hist_exog"])
        return command(**kwargs, params=params)

    with_params.__signature__ = signature.replace(parameters=own + added)
    return with_params
