"""Each request logged once with its id and actor, the id echoed and on every line it causes,
and never a secret — over real HTTP to a uvicorn server on loopback."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from app.api.app import create_app
from app.config import Config
from app.domain.access import Role, new_secret, token_line
from app.http.auth import COOKIE
from app.runtime import Runtime
from tests.support.logs import captured_logs, json_lines
from tests.support.server import served

SECRET = new_secret()


@pytest.fixture
async def base_url(config: Config, runtime: Runtime, tmp_path: Path) -> AsyncIterator[str]:
    tokens = tmp_path / "tokens"
    tokens.write_text(token_line("ops", Role.ADMIN, SECRET) + "\n")
    async with served(create_app(msgspec.structs.replace(config, tokens_file=tokens), runtime)) as url:
        yield url


def _requests(lines: list[dict[str, Any]], request_id: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["event"] == "http.request" and line["request_id"] == request_id]


async def test_a_request_is_logged_once_with_its_id_actor_status_and_duration(base_url: str) -> None:
    with captured_logs("json") as out:
        async with httpx.AsyncClient(base_url=base_url) as http:
            answer = await http.patch("/v1/settings/bots/mira", json={"temperature": 0.4},
                                      headers={"Authorization": f"Bearer {SECRET}", "X-Request-Id": "deploy-42"})
    assert answer.status_code == 200 and answer.headers["x-request-id"] == "deploy-42"
    lines = json_lines(out.getvalue())
    [line] = _requests(lines, "deploy-42")
    assert (line["method"], line["path"], line["status"], line["actor"]) == (
        "PATCH", "/v1/settings/bots/mira", 200, "ops")
    assert isinstance(line["duration_ms"], float) and 0 <= line["duration_ms"] < 60_000
    assert line["level"] == "info" and line["logger"] == "botsettings.http"
    # The change the request made is logged with the same id.
    [change] = [line for line in lines if line["event"] == "change.applied"]
    assert change["request_id"] == "deploy-42" and change["actor"] == "ops"
    assert SECRET not in out.getvalue()


async def test_a_generated_id_replaces_an_insane_one_and_errors_are_logged_too(base_url: str) -> None:
    with captured_logs("json") as out:
        async with httpx.AsyncClient(base_url=base_url) as http:
            unknown = await http.get("/v1/nothing-here", headers={"X-Request-Id": "x" * 500,
                                                                  "Authorization": f"Bearer {SECRET}"})
            refused = await http.get("/v1/bots", headers={"Authorization": "Bearer not-the-secret",
                                                          "X-Request-Id": "bad id"})
    assert unknown.status_code == 404 and refused.status_code == 401
    ids = [unknown.headers["x-request-id"], refused.headers["x-request-id"]]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids) and ids[0] != ids[1]
    lines = json_lines(out.getvalue())
    [not_found] = _requests(lines, ids[0])
    [unauthenticated] = _requests(lines, ids[1])
    assert (not_found["path"], not_found["status"]) == ("/v1/nothing-here", 404)
    assert (unauthenticated["status"], unauthenticated["actor"]) == (401, None)
    # The guard's own warning names the same request, and the guessed secret is nowhere.
    [failed] = [line for line in lines if line["event"] == "auth.failed"]
    assert failed["request_id"] == ids[1]
    assert "not-the-secret" not in out.getvalue() and SECRET not in out.getvalue()


async def test_the_pages_cookie_is_never_logged_and_the_query_string_is_left_out(base_url: str) -> None:
    with captured_logs("json") as out:
        async with httpx.AsyncClient(base_url=base_url) as http:
            # The cookie carries a session opened by signing in (issue 15: it used to carry the token).
            signed_in = await http.post("/login", data={"token": SECRET}, headers={"Origin": base_url})
            assert signed_in.status_code == 303
            session = signed_in.cookies[COOKIE]
            page = await http.get("/bots/mira?reason=look", headers={"X-Request-Id": "page-1"})
    assert page.status_code == 200 and page.headers["x-request-id"] == "page-1"
    [line] = _requests(json_lines(out.getvalue()), "page-1")
    assert (line["path"], line["actor"]) == ("/bots/mira", "ops")
    assert SECRET not in out.getvalue() and session not in out.getvalue() and COOKIE not in out.getvalue()


async def test_probes_are_logged_at_debug_level_only(base_url: str) -> None:
    with captured_logs("json", "info") as quiet:
        async with httpx.AsyncClient(base_url=base_url) as http:
            assert (await http.get("/healthz")).status_code == 200
    assert not [line for line in json_lines(quiet.getvalue()) if line["event"] == "http.request"]
    with captured_logs("json", "debug") as loud:
        async with httpx.AsyncClient(base_url=base_url) as http:
            answer = await http.get("/healthz")
    [line] = _requests(json_lines(loud.getvalue()), answer.headers["x-request-id"])
    assert (line["path"], line["level"]) == ("/healthz", "debug")
