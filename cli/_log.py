"""The command's log on stderr: progress bars for a person, one line per event for a program.

On a terminal (rich's ``Console.is_terminal``: a tty, or ``TTY_COMPATIBLE=1``) the text log
is what a person watches: progress bars, spinners and the summary lines. Anywhere else
(a file, a pipe) there is no bar: each finished stage is one line of ``key=value`` pairs
(``event=stage stage=training seconds=12.3 networks=8 steps=300 series=144``), before the
summary lines. ``--log-format json`` writes every line on stderr as a JSON object, the same
fields, warnings and errors included. ``--quiet`` leaves errors and warnings only.

The stages come from two places, written out here alike: those the command runs itself
(reading a file, predicting, writing: :func:`stage_line`), and the INFO records of the
library's ``"tsrnn"`` logger (a fit's training and calibration, a search's candidates, a
dataset's stages on the cluster), whose fields are their ``tsrnn`` attribute.
"""

import json
import logging
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import typer

LogFormat = Annotated[
    Literal["text", "json"],
    typer.Option(
        "--log-format",
        help="text: progress bars on a terminal, else one 'key=value' line per finished stage "
        "then the summary; json: one JSON object per line on stderr, errors included.",
    ),
]


@dataclass
class Log:
    """How this run logs: ``json`` lines or text, ``quiet``, stderr a ``terminal``;
    ``adapt`` rewrites the fields of an event kind before they are written."""

    json: bool = False
    quiet: bool = False
    terminal: bool = False
    adapt: dict[str, Callable[[dict], dict]] = field(default_factory=dict)

    @property
    def bars(self) -> bool:
        """Progress bars and spinners: text on a terminal, not quiet."""
        return self.terminal and not self.json and not self.quiet

    @property
    def lines(self) -> bool:
        """One line per finished stage: not quiet, and no bars."""
        return not self.quiet and not self.bars


#: This run's log (one command a process).
LOG = Log()


def json_asked(args: list[str]) -> bool:
    """Whether the command line asks for ``--log-format json`` (read before the options are
    parsed, so that their own errors come out as JSON too)."""
    end = args.index("--") if "--" in args else len(args)
    asked = None
    for k, arg in enumerate(args[:end]):
        if arg == "--log-format" and k + 1 < end:
            asked = args[k + 1]
        elif arg.startswith("--log-format="):
            asked = arg.partition("=")[2]
    return asked == "json"


def start(*, quiet: bool, log_format: str) -> Log:
    """Set this run's log from ``--quiet`` and ``--log-format``, and write the library's
    stage records as lines when there are no bars."""
    from rich.console import Console

    LOG.json, LOG.quiet = log_format == "json", quiet
    LOG.terminal = Console(stderr=True).is_terminal
    logger = logging.getLogger("tsrnn")
    logger.handlers = [handler for handler in logger.handlers if not isinstance(handler, _Lines)]
    if LOG.lines:
        logger.addHandler(_Lines())
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return LOG


def write(fields: dict[str, Any]) -> None:
    """Write one event on stderr: a JSON object, or ``key=value`` pairs."""
    fields = LOG.adapt.get(fields.get("event"), dict)(fields)
    line = json.dumps(_plain(fields), default=str) if LOG.json else logfmt(fields)
    print(line, file=sys.stderr, flush=True)


def stage_line(name: str, seconds: float, **fields: Any) -> None:
    """A finished stage the command ran itself, as one line (nothing with bars or --quiet)."""
    if LOG.lines:
        write({"event": "stage", "stage": name, "seconds": round(seconds, 3), **fields})


def error_line(kind: str, message: str, **fields: Any) -> str:
    """A warning or an error as one line: 'Error: ...', or a JSON object with --log-format
    json (the line, without its newline)."""
    message = " ".join(str(message).split())
    if LOG.json:
        return json.dumps({"event": kind, "message": message, **fields})
    return f"{kind.capitalize()}: {message}"


def logfmt(fields: dict[str, Any], prefix: str = "") -> str:
    """``key=value`` pairs: nested dicts as ``key.inner=value``, lists joined by commas,
    a value with a space, a quote or an equals sign quoted.

    Examples
    --------
    >>> logfmt({"event": "stage", "stage": "reading", "peak_gib": [0.9, 0.85], "data": "a b"})
    'event=stage stage=reading peak_gib=0.9,0.85 data="a b"'
    >>> logfmt({"params": {"hidden_size": 16, "cell": "gru"}, "ok": True})
    'params.hidden_size=16 params.cell=gru ok=true'
    """
    pairs = []
    for key, value in fields.items():
        if isinstance(value, dict):
            pairs.append(logfmt(value, f"{prefix}{key}."))
        else:
            pairs.append(f"{prefix}{key}={_text(value)}")
    return " ".join(pairs)


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(_text(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    text = str(value)
    if not text or any(c.isspace() or c in '="' for c in text):
        return json.dumps(text)
    return text


def _plain(value: Any) -> Any:
    """JSON-ready: NaN and infinities as null (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class _Lines(logging.Handler):
    """Writes the library's records as lines: their ``tsrnn`` fields, else their message."""

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "tsrnn", None)
        if fields is None:
            fields = {"event": record.levelname.lower(), "message": record.getMessage()}
        write(dict(fields))
