"""With tokens, against real `botsettings serve` processes sharing one database:

- the page's sign-in cookie is a server-side session, not the token: it works on
  another process (sessions live in PostgreSQL), sign-out revokes it everywhere, an
  expired one is refused, and only a hash of it is stored;
- a token limited to one bot learns nothing of another bot from any route or stream.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from app.domain.access import Role, new_secret, token_line
from app.http.auth import COOKIE
from app.store import migrations
from app.store.engine import asyncpg_dsn
from bench.process import service_process

SECRETS = {name: new_secret() for name in ("admin", "mira-admin", "mira-reader")}


def _sql(db_url: str, query: str, *args: object) -> object:
    async def run() -> object:
        conn = await asyncpg.connect(asyncpg_dsn(db_url))
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()
    return asyncio.run(run())


@pytest.fixture(scope="module")
def servers(module_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    tmp = tmp_path_factory.mktemp("sessions")
    tokens = tmp / "tokens"
    tokens.write_text("\n".join([token_line("admin", Role.ADMIN, SECRETS["admin"]),
                                 token_line("mira-admin", Role.ADMIN, SECRETS["mira-admin"], ["mira"]),
                                 token_line("mira-reader", Role.READER, SECRETS["mira-reader"], ["mira"])]) + "\n")
    env = {"BOTSETTINGS_TOKENS_FILE": str(tokens)}
    with service_process(module_db_url, tmp / "a", env=env) as (one, _), \
            service_process(module_db_url, tmp / "b", env=env) as (two, _):
        yield one, two


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {SECRETS[name]}"}


def sign_in(url: str, name: str) -> str:
    r = httpx.post(f"{url}/login", data={"token": SECRETS[name]}, headers={"Origin": url})
    assert r.status_code == 303, r.text
    return r.cookies[COOKIE]


def test_the_cookie_is_a_session_honoured_by_every_process_and_revoked_by_sign_out(
        servers: tuple[str, str], module_db_url: str) -> None:
    one, two = servers
    session = sign_in(one, "admin")
    assert session.startswith("bss_") and SECRETS["admin"] not in session
    stored = _sql(module_db_url, "SELECT id_hash, token_name FROM web_sessions")
    assert [(bytes(r["id_hash"]), r["token_name"]) for r in stored] == [  # type: ignore[attr-defined]
        (hashlib.sha256(session.encode()).digest(), "admin")]  # a hash, never the id itself
    cookie = {"Cookie": f"{COOKIE}={session}"}
    for url in (one, two):  # opened through one process, honoured by the other
        page = httpx.get(f"{url}/bots/mira", headers=cookie)
        assert page.status_code == 200 and "Signed in as <strong>admin</strong>" in page.text
    assert httpx.get(f"{one}/v1/bots", headers={"Cookie": f"{COOKIE}={SECRETS['admin']}"}).status_code == 401
    out = httpx.post(f"{two}/logout", headers={**cookie, "Origin": two})
    assert out.status_code == 303
    for url in (one, two):  # revoked for every process, even if the browser kept the cookie
        assert httpx.get(f"{url}/v1/bots", headers=cookie).status_code == 401
        assert httpx.get(f"{url}/bots/mira", headers=cookie).status_code == 303  # to the login page


def test_an_expired_session_is_refused(servers: tuple[str, str], module_db_url: str) -> None:
    one, _ = servers
    session = sign_in(one, "admin")
    cookie = {"Cookie": f"{COOKIE}={session}"}
    assert httpx.get(f"{one}/v1/bots", headers=cookie).status_code == 200
    _sql(module_db_url, "UPDATE web_sessions SET expires_at = now() - interval '1 second' WHERE id_hash = $1",
         hashlib.sha256(session.encode()).digest())
    assert httpx.get(f"{one}/v1/bots", headers=cookie).status_code == 401


def _seed(url: str) -> dict[str, str]:
    admin = bearer("admin")
    for slug in ("mira", "nova"):
        r = httpx.patch(f"{url}/v1/settings/bots/{slug}", json={"temperature": 0.4}, headers=admin)
        assert r.status_code == 200, r.text
    ids = {}
    for slug in ("mira", "nova"):
        r = httpx.post(f"{url}/v1/scheduled-changes", headers=admin, json={
            "apply_at": "2031-01-01T00:00Z", "scope": f"bots/{slug}", "patch": {"temperature": 0.33}})
        assert r.status_code == 201, r.text
        ids[slug] = r.json()["id"]
    return ids


def test_a_token_limited_to_mira_learns_nothing_of_nova(servers: tuple[str, str]) -> None:
    one, _ = servers
    ids = _seed(one)
    # The admin sees both: the filters below are the limit's doing.
    everything = httpx.get(f"{one}/v1/scheduled-changes", headers=bearer("admin")).text
    assert "bots/nova" in everything and "bots/mira" in everything
    assert "nova" in httpx.get(f"{one}/v1/bots", headers=bearer("admin")).text
    for name in ("mira-admin", "mira-reader"):
        h = bearer(name)
        listed = httpx.get(f"{one}/v1/scheduled-changes", headers=h)
        assert listed.status_code == 200 and "nova" not in listed.text and "bots/mira" in listed.text
        assert httpx.get(f"{one}/v1/scheduled-changes/{ids['nova']}", headers=h).status_code == 404
        assert httpx.get(f"{one}/v1/scheduled-changes/{ids['mira']}", headers=h).status_code == 200
        for path in ("/v1/bots", "/v1/models", "/v1/jobs"):
            r = httpx.get(f"{one}{path}", headers=h)
            assert r.status_code == 200 and "nova" not in r.text and "mira" in r.text, (path, r.text[:300])
        for path in ("/v1/bots/nova", "/v1/bots/nova/effective", "/v1/settings/bots/nova", "/v1/history",
                     "/v1/history?scope=bots/nova", "/v1/changes", "/v1/settings", "/v1/diff?from=0",
                     "/v1/jobs/history_summarization:nova/runs"):
            r = httpx.get(f"{one}{path}", headers=h)
            assert r.status_code in (403, 404) and "0.4" not in r.text, (path, r.status_code, r.text[:300])
    h = bearer("mira-admin")
    assert httpx.delete(f"{one}/v1/scheduled-changes/{ids['nova']}", headers=h).status_code == 404
    r = httpx.post(f"{one}/v1/scheduled-changes", headers=h, json={
        "apply_at": "2031-01-01T00:00Z", "scope": "bots/nova", "patch": {"temperature": 0.1}})
    assert r.status_code == 403
    assert httpx.post(f"{one}/v1/jobs/history_summarization:nova/run", headers=h).status_code == 404
    page = httpx.get(f"{one}/jobs", headers={"Cookie": f"{COOKIE}={sign_in(one, 'mira-admin')}"})
    assert page.status_code == 200 and "nova" not in page.text and "mira" in page.text


def test_the_watch_stream_of_a_limited_token_carries_only_its_bots(servers: tuple[str, str]) -> None:
    one, _ = servers
    head = httpx.get(f"{one}/v1/bots", headers=bearer("admin")).json()["revision"]
    got: list[dict[str, object]] = []

    def listen() -> None:
        with httpx.stream("GET", f"{one}/v1/watch?since={head}", headers=bearer("mira-reader"), timeout=20) as r:
            for line in r.iter_lines():
                if line.startswith("data:"):
                    got.append(json.loads(line[5:]))
                    if len(got) == 2:
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    admin = bearer("admin")
    for slug, value in (("nova", 0.21), ("mira", 0.22)):
        assert httpx.patch(f"{one}/v1/settings/bots/{slug}", json={"temperature": value}, headers=admin).is_success
    r = httpx.post(f"{one}/v1/settings/batch", headers=admin, json={"items": [
        {"scope_type": "bot", "scope_id": "mira", "key": "top_p", "value": 0.5},
        {"scope_type": "bot", "scope_id": "nova", "key": "top_p", "value": 0.6}]})
    assert r.status_code == 200, r.text
    thread.join(20)
    assert [n["scopes"] for n in got] == [["bots/mira"], ["bots/mira"]]  # nova's own change: not heard of
    assert got[0]["keys"] == ["temperature"] and got[1]["keys"] == []  # keys of a mixed change withheld
    assert "nova" not in json.dumps(got)


def test_sessions_table_is_created_by_the_migration(module_db_url: str) -> None:
    # 0003 made it; later migrations (0004: the batch write) come after it.
    rows = _sql(module_db_url, "SELECT version_num FROM alembic_version")
    assert [r["version_num"] for r in rows] == [migrations.head_revision()]  # type: ignore[attr-defined]
    rows = _sql(module_db_url, "SELECT to_regclass('web_sessions') IS NOT NULL AS made")
    assert [r["made"] for r in rows] == [True]  # type: ignore[attr-defined]
