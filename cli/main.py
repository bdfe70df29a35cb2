"""The ``tsrnn`` application: command registration and the one place errors become exit codes.

Every user error (a :class:`tsrnn.errors.TsrnnError` from the library, or a usage error from
the option parser) prints one line on stderr and exits with code 2; ``--debug`` adds the
traceback. Anything else is a bug: one line, exit code 1, and the traceback with ``--debug``.
A warning is one line too ("Warning: ..."; ``--debug``: Python's format). With
``--log-format json`` each of these lines is a JSON object (``_log.error_line``).
"""

import importlib
import importlib.util
import os
import sys
import traceback
import warnings

import typer

from . import _log, backtest, datasets, fit, forecast, predict

# The Dask search command arrives in its own module; register it when it is there.
_search_spec = importlib.util.find_spec(f"{__package__}.search")
search = importlib.import_module(_search_spec.name) if _search_spec is not None else None

USER_ERROR = 2
BUG = 1
INTERRUPTED = 130

app = typer.Typer(
    name="tsrnn",
    help="Forecast time series in CSV files with recurrent neural networks (RNN, LSTM, GRU).",
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("forecast")(forecast.forecast)
app.command("fit")(fit.fit)
app.command("predict")(predict.predict)
app.command("backtest")(backtest.backtest)
if search is not None:
    app.command("search")(search.search)
app.add_typer(datasets.app, name="datasets")


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"tsrnn {version('tsrnn')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Print the version."
    ),
    debug: bool = typer.Option(
        False,
        "--debug",
        help="On an error, also print the traceback (may come anywhere on the command line; "
        "or set TSRNN_DEBUG=1).",
    ),
) -> None:
    """Forecast time series in CSV files with recurrent neural networks (RNN, LSTM, GRU)."""


def main(argv: list[str] | None = None) -> None:
    """Run the ``tsrnn`` command and exit with its status: 0, 2 for user errors, 1 for bugs."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = _take_debug(args) or os.environ.get("TSRNN_DEBUG", "") not in ("", "0")
    _log.LOG.json = _log.json_asked(args)  # the command sets it again from its options
    if not debug:  # deprecation notices are for developers, not for the command's users
        for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
            warnings.simplefilter("ignore", category)
        warnings.formatwarning = _one_line  # e.g. a worker lost, training resumed from step N
    try:
        status = app(args=args, prog_name="tsrnn", standalone_mode=False)
    except typer.TyperException as exc:  # usage errors from the option parser
        status = _usage_error(exc, debug)
    except KeyboardInterrupt:
        shown = _log.error_line("error", "Interrupted.", exit=INTERRUPTED)
        typer.echo(shown if _log.LOG.json else "Interrupted.", err=True)
        status = INTERRUPTED
    except BrokenPipeError:  # e.g. `tsrnn datasets export x - | head`
        sys.stdout = None  # nothing more can be written; do not fail again at exit
        status = BUG
    except Exception as exc:
        status = _library_error(exc, debug)
    sys.exit(status if isinstance(status, int) else 0)


def _one_line(message, category, filename, lineno, line=None) -> str:
    """A warning as the command's users read it: 'Warning: ...', one line (--debug: Python's
    own format, with the place it came from)."""
    return _log.error_line("warning", str(message)) + "\n"


def _take_debug(args: list[str]) -> bool:
    """Remove every ``--debug`` before a ``--`` separator from ``args``; True if there was one."""
    end = args.index("--") if "--" in args else len(args)
    found = "--debug" in args[:end]
    args[:end] = [a for a in args[:end] if a != "--debug"]
    return found


def _usage_error(exc: typer.TyperException, debug: bool) -> int:
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError":  # a bare `tsrnn` or `tsrnn datasets`
        typer.echo(exc.format_message())
        return 0
    if debug:
        traceback.print_exc()
    message = " ".join(exc.format_message().replace("Value error, ", "").split())
    hint = f" Run '{ctx.command_path} --help' for the options." if ctx is not None else ""
    status = getattr(exc, "exit_code", USER_ERROR)
    typer.echo(_log.error_line("error", f"{message}.{hint}".replace("..", "."), exit=status),
               err=True)  # fmt: skip
    return status


def _library_error(exc: Exception, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    errors = sys.modules.get("tsrnn.errors")  # loaded if the library ran at all
    if errors is not None and isinstance(exc, errors.TsrnnError):
        typer.echo(_log.error_line("error", str(exc), exit=USER_ERROR), err=True)
        return USER_ERROR
    message = (
        f"unexpected {type(exc).__name__}: {' '.join(str(exc).split())} -- this is a bug in "
        "tsrnn; run again with --debug for the traceback and please report it."
    )
    typer.echo(_log.error_line("error", message, exit=BUG), err=True)
    return BUG


if __name__ == "__main__":
    main()
