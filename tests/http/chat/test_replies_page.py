"""The operators' page lists a bot's recent replies with the settings revision each used."""

from __future__ import annotations

import re

import httpx

from tests.support.upstream import FakeUpstream

HI = [{"role": "user", "content": "hi"}]


async def test_the_bot_page_links_to_its_recent_replies_with_their_revision(
        gateway: str, upstream: FakeUpstream) -> None:
    async with httpx.AsyncClient(base_url=gateway, timeout=10) as http:
        async def chat(request_id: str, conversation: str | None = None) -> None:
            headers = {"X-Request-Id": request_id, **({"X-Conversation-Id": conversation} if conversation else {})}
            r = await http.post("/v1/chat/completions", json={"model": "mira", "messages": HI}, headers=headers)
            assert r.status_code == 200

        await chat("first", "talk")
        assert (await http.patch("/v1/settings/bots/mira", json={"temperature": 0.5})).status_code == 200
        await chat("second")
        await chat("third", "talk")  # pinned: still revision 0
        upstream.status = 500
        assert (await http.post("/v1/chat/completions", json={"model": "mira", "messages": HI},
                                headers={"X-Request-Id": "broken"})).status_code == 502
        bot_page = await http.get("/bots/mira")
        assert 'href="/bots/mira/replies"' in bot_page.text
        page = await http.get("/bots/mira/replies")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        rows = re.findall(r"<code>([\w-]+)</code>.*?/history/(\d+)\?in=bots/mira\">\d+</a>( <span class=\"badge\">"
                          r"pinned</span>)?", page.text, re.S)
        assert [(rid, rev, bool(pinned)) for rid, rev, pinned in rows] == [
            ("broken", "1", False), ("third", "0", True), ("second", "1", False), ("first", "0", True)]
        assert "model exploded" in page.text and "conversation talk" in page.text
        errors = await http.get("/bots/mira/replies", params={"status": "error"})
        assert "<code>broken</code>" in errors.text and "<code>first</code>" not in errors.text
        assert (await http.get("/bots/nobody/replies")).status_code == 404
        assert (await http.get("/bots/mira/replies", params={"status": "fine"})).status_code == 400
