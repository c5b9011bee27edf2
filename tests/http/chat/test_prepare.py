"""/v1/bots/{slug}/prepare: the pipeline without forwarding."""

from __future__ import annotations

import httpx

from app.domain import scopes
from app.runtime import Runtime
from tests.support.upstream import FakeUpstream

ASK = {"messages": [{"role": "system", "content": "Be a pirate."}, {"role": "user", "content": "hello"}]}


async def test_prepare_returns_the_upstream_request_and_provenance_and_forwards_nothing(
        gateway: str, upstream: FakeUpstream, runtime: Runtime) -> None:
    await runtime.service.set_value(scopes.bot("nova"), "allow_request_system_prompt", True, actor="t")
    async with httpx.AsyncClient(base_url=gateway) as http:
        r = await http.post("/v1/bots/mira/prepare", json={**ASK, "top_p": 0.5})
        assert r.status_code == 200 and r.headers["x-settings-revision"] == "1"
        body = r.json()
        sent = body["request"]
        assert sent["messages"][0]["content"].startswith("You are Mira") and len(sent["messages"]) == 2
        assert (sent["model"], sent["top_p"], sent["temperature"]) == ("grok-4-fast", 0.5, 0.85)
        prov = body["provenance"]
        assert prov["settings"]["top_p"] == {"value": 0.5, "source": "request"}
        assert prov["settings"]["history_tokens"] == {"value": 64000, "source": "yaml"}
        assert prov["context"]["dropped_system_messages"] == 1 and prov["overrides"] == {"top_p": "top_p"}
        # nova lets a request bring its own system prompt (set in the database just above)
        nova = (await http.post("/v1/bots/nova/prepare", json=ASK)).json()
        assert nova["request"]["messages"][0]["content"] == "Be a pirate."
        assert nova["provenance"]["settings"]["allow_request_system_prompt"]["source"] == "bot"
        # a request naming another bot, and one that cannot fit nova's 4,000-token budget
        r = await http.post("/v1/bots/mira/prepare", json={**ASK, "model": "nova"})
        assert r.status_code == 422 and "names bot 'nova'" in r.json()["error"]["message"]
        r = await http.post("/v1/bots/nova/prepare", json={"messages": [{"role": "user", "content": "x" * 20000}]})
        error = r.json()["error"]  # OpenAI's shape, the problem's members inside
        assert r.status_code == 422 and error["code"] == error["errors"][0]["code"] == "context_budget_exceeded"
        assert error["over_by_tokens"] == error["needed_tokens"] - 4000 > 0
        assert f"{error['over_by_tokens']} tokens over" in error["message"]
        r = await http.post("/v1/bots/zed/prepare", json=ASK)
        assert r.status_code == 404
        r = await http.post("/v1/bots/mira/prepare", content=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and "malformed JSON" in r.json()["error"]["message"]
        r = await http.post("/v1/bots/mira/prepare", content=b"{}")  # no Content-Type: what a cross-site form sends
        assert r.status_code == 415
    assert upstream.received == []
