"""Capture the one log stream (app/logging.py) in a test, and put it back afterwards."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

from app import logging as app_logging
from app.logging import configure_logging


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as a pty would."""

    def isatty(self) -> bool:
        return True


@contextmanager
def captured_logs(fmt: str = "json", level: str = "info", stream: io.StringIO | None = None) -> Iterator[io.StringIO]:
    """Configure logging into a string buffer; restore the previous configuration after."""
    root = logging.getLogger()
    handlers, root_level = list(root.handlers), root.level
    saved = structlog.get_config()
    current = vars(app_logging._current).copy()  # level, stream and renderer the cached loggers read
    buffer = stream if stream is not None else io.StringIO()
    try:
        configure_logging(fmt, level, buffer)
        yield buffer
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(root_level)
        structlog.configure(**saved)
        vars(app_logging._current).update(current)


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every non-empty line as a JSON object (a line that is not one fails the test)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]
