"""One log stream: structlog and stdlib loggers render alike, JSON in a pipe, console on a terminal."""

from __future__ import annotations

import io
import logging
import re

import pytest
import structlog

from app.http.request_log import request_id_of
from app.logging import is_console
from tests.support.logs import Terminal, captured_logs, json_lines

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_a_pipe_gets_one_json_object_per_line_from_structlog_and_stdlib_loggers_alike(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # `serve` runs uvicorn with log_config=None, so its loggers propagate to the root; an
    # in-process server of another test may have given them uvicorn's own configuration.
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        for attribute, value in (("level", logging.NOTSET), ("propagate", True), ("handlers", [])):
            monkeypatch.setattr(logger, attribute, value)
    logging.getLogger().manager._clear_cache()
    with captured_logs("auto") as out:
        structlog.get_logger("botsettings.test").info("change.applied", keys=["bots/mira:temperature"])
        logging.getLogger("apscheduler.scheduler").info("Scheduler started")
        logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
        logging.getLogger("asyncpg.pool").warning("connection lost")
    lines = json_lines(out.getvalue())
    assert [(line["logger"], line["event"], line["level"]) for line in lines] == [
        ("botsettings.test", "change.applied", "info"),
        ("apscheduler.scheduler", "Scheduler started", "info"),
        ("uvicorn.error", "Started server process [42]", "info"),
        ("asyncpg.pool", "connection lost", "warning"),
    ]
    assert lines[0]["keys"] == ["bots/mira:temperature"]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", line["timestamp"]) for line in lines)


def test_a_terminal_gets_the_coloured_console_format_for_every_logger() -> None:
    with captured_logs("auto", stream=Terminal()) as out:
        structlog.get_logger("botsettings.test").info("change.applied", actor="alice")
        logging.getLogger("apscheduler.scheduler").info("Scheduler started")
    text = out.getvalue()
    lines = text.splitlines()
    assert len(lines) == 2 and not any(line.lstrip().startswith("{") for line in lines)
    assert ANSI.search(text), "no colour codes on a terminal"
    plain = ANSI.sub("", text)
    assert "change.applied" in plain and "actor=alice" in plain and "Scheduler started" in plain
    assert "[info" in plain


@pytest.mark.parametrize(("fmt", "tty", "console"), [
    ("auto", False, False), ("auto", True, True), ("console", False, True), ("json", True, False)])
def test_the_format_is_forced_by_name_or_follows_the_terminal(fmt: str, tty: bool, console: bool) -> None:
    assert is_console(fmt, Terminal() if tty else io.StringIO()) is console


def test_an_unknown_format_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="log format must be one of auto, console, json, got 'xml'"):
        is_console("xml", io.StringIO())


def test_forced_console_on_a_pipe_is_not_json() -> None:
    with captured_logs("console") as out:
        logging.getLogger("apscheduler.scheduler").info("Application startup complete.")
    assert "Application startup complete." in out.getvalue()
    assert not out.getvalue().lstrip().startswith("{")


def test_bound_context_and_exceptions_reach_the_line() -> None:
    log = structlog.get_logger("botsettings.test")
    with captured_logs("json") as out, structlog.contextvars.bound_contextvars(request_id="r-1"):
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            log.exception("request.failed")
            logging.getLogger("litestar").exception("stdlib failure")
    first, second = json_lines(out.getvalue())
    assert first["request_id"] == second["request_id"] == "r-1"
    assert first["level"] == second["level"] == "error"
    assert "RuntimeError: boom" in first["exception"] and "RuntimeError: boom" in second["exception"]


def test_the_level_applies_to_loggers_used_before_reconfiguration() -> None:
    log = structlog.get_logger("botsettings.test")
    with captured_logs("json", "warning") as out:
        log.info("dropped")
        log.warning("kept")
    assert [line["event"] for line in json_lines(out.getvalue())] == ["kept"]
    with captured_logs("json", "debug") as out:
        log.debug("now shown")
    assert [line["event"] for line in json_lines(out.getvalue())] == ["now shown"]


@pytest.mark.parametrize("incoming", ["abc-123", "0f8fad5b-d9cb-469f-a165-70867728950e", "trace.1:span_2", "x" * 128])
def test_a_sane_incoming_request_id_is_kept(incoming: str) -> None:
    assert request_id_of({"headers": [(b"x-request-id", incoming.encode())]}) == incoming


@pytest.mark.parametrize("incoming", ["", "x" * 129, "has space", 'quote"', "new\nline", "ünïcode", "a=b;c"])
def test_an_insane_or_missing_request_id_is_replaced_by_a_new_one(incoming: str) -> None:
    made = request_id_of({"headers": [(b"x-request-id", incoming.encode("utf-8"))]})
    assert made != incoming and re.fullmatch(r"[0-9a-f]{32}", made)
    assert request_id_of({"headers": []}) != request_id_of({"headers": []})
