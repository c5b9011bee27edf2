"""The operators' page with tokens configured: sign in with a token kept in a cookie,
roles decide what the page offers and what the server accepts, and cookie-carried
changes must come from the page's own origin."""

from __future__ import annotations

import asyncpg
from httpx import AsyncClient

from app.http.auth import COOKIE
from tests.support.http import same_origin
from tests.support.tokens import SECRETS


async def sign_in(client: AsyncClient, name: str) -> dict[str, str]:
    r = await client.post("/login", data={"token": SECRETS[name], "next": "/bots/mira"}, headers=same_origin(client))
    assert r.status_code == 303 and r.headers["location"] == "/bots/mira"
    client.cookies.clear()  # every request below names its cookie itself
    return {"Cookie": f"{COOKIE}={r.cookies[COOKIE]}"}


async def test_pages_ask_to_sign_in_and_the_cookie_is_http_only_and_strict(client: AsyncClient) -> None:
    r = await client.get("/bots/mira?saved=temperature")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fbots%2Fmira%3Fsaved%3Dtemperature"
    login = await client.get("/login")
    assert login.status_code == 200 and 'type="password"' in login.text
    assert (await client.get("/static/app.css")).status_code == 200  # the login page needs its style
    r = await client.post("/login", data={"token": SECRETS["writer"], "next": "https://evil.example/"},
                          headers=same_origin(client))
    assert r.status_code == 303 and r.headers["location"] == "/"  # never an open redirect
    cookie = r.headers["set-cookie"]
    # A session id, never the token (issue 15: the cookie used to hold the raw token).
    assert cookie.startswith(f"{COOKIE}=bss_") and SECRETS["writer"] not in cookie
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Path=/" in cookie
    assert "Secure" not in cookie
    r = await client.post("/login", data={"token": SECRETS["writer"]},
                          headers={**same_origin(client), "X-Forwarded-Proto": "https"})
    assert "Secure" in r.headers["set-cookie"]  # over https (here: a trusted proxy on loopback says so)


async def test_a_bad_token_is_refused_on_the_login_page(client: AsyncClient) -> None:
    r = await client.post("/login", data={"token": "bst_nope"}, headers=same_origin(client))
    assert r.status_code == 401 and "That token is not valid." in r.text and "set-cookie" not in r.headers
    r = await client.get("/", headers={"Cookie": f"{COOKIE}=bst_nope"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = await client.post("/login", data={"token": SECRETS["writer"]}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "set-cookie" not in r.headers


async def test_a_writer_edits_a_bot_as_itself_but_not_the_global_scope(
        client: AsyncClient, raw: asyncpg.Connection) -> None:
    cookie = await sign_in(client, "writer")
    page = await client.get("/bots/mira", headers=cookie)
    assert "Signed in as <strong>writer</strong> (writer)" in page.text and 'class="edit"' in page.text
    r = await client.post("/bots/mira/settings/temperature", data={"value": "0.5"},
                          headers={**cookie, **same_origin(client)})
    assert r.status_code == 303
    assert await raw.fetchval("SELECT actor FROM settings_events") == "writer"
    page = await client.get("/global", headers=cookie)
    assert 'class="edit"' not in page.text and "needs an admin token" in page.text
    r = await client.post("/global/settings/temperature", data={"value": "0.5"},
                          headers={**cookie, **same_origin(client)})
    assert r.status_code == 403 and "needs admin" in r.text
    assert await raw.fetchval("SELECT count(*) FROM settings_events") == 1


async def test_a_reader_sees_no_edit_buttons_and_the_server_refuses_anyway(
        client: AsyncClient, raw: asyncpg.Connection) -> None:
    cookie = await sign_in(client, "reader")
    page = await client.get("/bots/mira", headers=cookie)
    assert page.status_code == 200 and 'action="/bots/mira/settings' not in page.text
    assert "your token may not change them" in page.text
    for path in ("/bots/mira/settings/temperature", "/bots/mira/settings/temperature/reset"):
        r = await client.post(path, data={"value": "0.5"}, headers={**cookie, **same_origin(client)})
        assert r.status_code == 403 and "role reader" in r.text
    r = await client.post("/rollback", data={"to": "0", "in": "bots/mira"}, headers={**cookie, **same_origin(client)})
    assert r.status_code == 403
    assert await raw.fetchval("SELECT count(*) FROM settings_events") == 0


async def test_the_cookie_works_on_the_api_only_from_the_same_origin(
        client: AsyncClient, raw: asyncpg.Connection) -> None:
    cookie = await sign_in(client, "writer")
    assert (await client.get("/v1/bots/mira/effective", headers=cookie)).status_code == 200
    r = await client.patch("/v1/settings/bots/mira", json={"temperature": 0.5}, headers=cookie)
    assert r.status_code == 403 and "cross-site request refused" in r.json()["detail"]
    r = await client.patch("/v1/settings/bots/mira", json={"temperature": 0.5},
                           headers={**cookie, "Origin": "https://evil.example"})
    assert r.status_code == 403
    assert await raw.fetchval("SELECT count(*) FROM settings_events") == 0
    r = await client.patch("/v1/settings/bots/mira", json={"temperature": 0.5},
                           headers={**cookie, **same_origin(client)})
    assert r.status_code == 200
    assert await raw.fetchval("SELECT actor FROM settings_events") == "writer"


async def test_a_token_limited_to_mira_sees_only_mira(client: AsyncClient) -> None:
    cookie = await sign_in(client, "mira-writer")
    page = await client.get("/", headers=cookie)
    assert 'href="/bots/mira"' in page.text and 'href="/bots/nova"' not in page.text
    assert (await client.get("/bots/nova", headers=cookie)).status_code == 403
    history = await client.get("/history", headers=cookie)
    assert history.status_code == 200 and '<option value="bots/mira" selected>' in history.text
    assert (await client.get("/history?in=bots/nova", headers=cookie)).status_code == 403
    assert (await client.get("/history?in=bots/mira", headers=cookie)).status_code == 200


async def test_sign_out_clears_the_cookie(client: AsyncClient) -> None:
    cookie = await sign_in(client, "admin")
    r = await client.post("/logout", headers={**cookie, **same_origin(client)})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    cleared = r.headers["set-cookie"]
    assert cleared.startswith(f'{COOKIE}=""') or cleared.startswith(f"{COOKIE}=;")
    assert "Max-Age=0" in cleared or "expires=" in cleared.lower()
