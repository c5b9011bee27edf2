"""`botsettings serve` as a real process: one JSON object per line in a pipe — uvicorn's and
APScheduler's lines included — and the readable console format on a terminal."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import time
from pathlib import Path

import httpx

from app.domain.access import Role, new_secret, token_line
from bench.process import BIN, free_port, service_process, wait_ready

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _wait_for_leader(url: str, headers: dict[str, str]) -> None:
    deadline = time.monotonic() + 30
    while not httpx.get(f"{url}/v1/jobs", headers=headers).json()["leader"]:
        assert time.monotonic() < deadline, "the scheduler never started"
        time.sleep(0.1)


def test_a_piped_serve_writes_one_json_object_per_line_from_every_logger(db_url: str, tmp_path: Path) -> None:
    secret = new_secret()
    (tmp_path / "tokens").write_text(token_line("ops", Role.ADMIN, secret) + "\n")
    env = {"BOTSETTINGS_TOKENS_FILE": str(tmp_path / "tokens"), "BOTSETTINGS_LOG_LEVEL": "info",
           "BOTSETTINGS_LOG_FORMAT": "auto"}
    auth = {"Authorization": f"Bearer {secret}"}
    with service_process(db_url, tmp_path, env=env, output=subprocess.PIPE) as (url, proc):
        _wait_for_leader(url, auth)
        # The page's sign-in: the cookie then carries a session id, never the token.
        login = httpx.post(f"{url}/login", data={"token": secret, "next": "/"}, headers={"Origin": url})
        assert login.status_code == 303, login.text
        session = login.cookies["botsettings_session"]
        answers = [
            httpx.patch(f"{url}/v1/settings/bots/mira", json={"temperature": 0.3},
                        headers={**auth, "X-Request-Id": "tour-1"}),
            # (not /effective: a successful plain read of it is logged at debug, like a probe)
            httpx.get(f"{url}/v1/bots/mira", headers={**auth, "X-Request-Id": "tour-2"}),
            httpx.get(f"{url}/v1/bots", headers={"Authorization": "Bearer wrong", "X-Request-Id": "tour-3"}),
            httpx.get(f"{url}/", cookies={"botsettings_session": session}, headers={"X-Request-Id": "tour-4"}),
        ]
    assert [a.status_code for a in answers] == [200, 200, 401, 200]
    assert [a.headers["x-request-id"] for a in answers] == ["tour-1", "tour-2", "tour-3", "tour-4"]
    assert proc.stdout is not None and proc.returncode == 0
    output = proc.stdout.read().decode()
    lines = [json.loads(line) for line in output.splitlines()]  # a line that is not JSON fails here
    assert lines and all({"event", "level", "timestamp"} <= line.keys() for line in lines)
    loggers = {line.get("logger") for line in lines}
    assert {"apscheduler.scheduler", "uvicorn.error", "botsettings.http", "botsettings.service"} <= loggers
    assert any(line["event"] == "Scheduler started" for line in lines)
    assert "uvicorn.access" not in loggers  # the middleware's line replaces uvicorn's access log
    requests = [line for line in lines if line["event"] == "http.request"]
    for line in requests:
        assert {"method", "path", "status", "duration_ms", "request_id"} <= line.keys()
    by_id = {rid: [line for line in requests if line["request_id"] == rid] for rid in ("tour-1", "tour-2",
                                                                                          "tour-3", "tour-4")}
    assert all(len(found) == 1 for found in by_id.values()), by_id  # each request logged once
    assert [(by_id[r][0]["method"], by_id[r][0]["path"], by_id[r][0]["status"], by_id[r][0]["actor"])
            for r in by_id] == [("PATCH", "/v1/settings/bots/mira", 200, "ops"),
                                ("GET", "/v1/bots/mira", 200, "ops"),
                                ("GET", "/v1/bots", 401, None), ("GET", "/", 200, "ops")]
    [change] = [line for line in lines if line["event"] == "change.applied"]
    assert change["request_id"] == "tour-1"
    assert secret not in output and "Bearer" not in output and session not in output


def _read_until(fd: int, needle: str, seconds: float) -> str:
    seen, deadline = "", time.monotonic() + seconds
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 65536).decode(errors="replace")
            except OSError:  # the process closed the terminal
                break
    return seen


def test_serve_on_a_terminal_logs_in_the_readable_console_format(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "BOTSETTINGS_LOG_FORMAT"}
    env.update(DATABASE_URL=db_url, BOTSETTINGS_DATA_DIR=str(tmp_path), BOTSETTINGS_LOG_LEVEL="info")
    main, terminal = pty.openpty()
    proc = subprocess.Popen([BIN, "serve", "--port", str(port), "--no-migrate"], env=env,
                            stdout=terminal, stderr=terminal, stdin=subprocess.DEVNULL)
    os.close(terminal)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc)
        httpx.get(f"{url}/v1/bots", headers={"X-Request-Id": "on-a-tty"})
        text = _read_until(main, "on-a-tty", 20)
    finally:
        proc.terminate()
        proc.wait(30)
        os.close(main)
    plain = ANSI.sub("", text)
    lines = [line for line in plain.splitlines() if line.strip()]
    assert lines and not any(line.lstrip().startswith("{") for line in lines), plain
    assert ANSI.search(text), "no colour on a terminal"
    assert re.search(r"\[info\s*\]\s+Uvicorn running on", plain), plain
    [request] = [line for line in lines if "http.request" in line]
    assert "method=GET" in request and "path=/v1/bots" in request and "request_id=on-a-tty" in request


def test_a_piped_serve_can_be_told_to_use_the_console_format(db_url: str, tmp_path: Path) -> None:
    with service_process(db_url, tmp_path, env={"BOTSETTINGS_LOG_FORMAT": "console"},
                         output=subprocess.PIPE) as (url, proc):
        httpx.get(f"{url}/v1/bots", headers={"X-Request-Id": "forced"})
    assert proc.stdout is not None
    plain = ANSI.sub("", proc.stdout.read().decode())
    assert "Application startup complete." in plain and "request_id=forced" in plain
    assert not any(line.lstrip().startswith("{") for line in plain.splitlines() if line.strip())
