"""GET /v1/bots/{slug}/effective served below the framework (app/api/fast_reads.py):
the same body as the full path, an ETag per snapshot, If-None-Match → 304, and every
refusal still the full path's."""

from __future__ import annotations

from pathlib import Path

import httpx
import msgspec

from app.api.app import create_app
from app.config import Config
from app.runtime import Runtime
from tests.support.logs import captured_logs, json_lines
from tests.support.server import served
from tests.support.tokens import bearer, write_tokens_file


async def test_the_plain_read_has_an_etag_per_snapshot_and_answers_304(client: httpx.AsyncClient,
                                                                       runtime: Runtime) -> None:
    fast = await client.get("/v1/bots/mira/effective")
    assert fast.status_code == 200 and fast.headers["x-settings-revision"] == "0"
    etag = fast.headers["etag"]
    # The full path (a query string sends it there) answers the same document.
    full = await client.get("/v1/bots/mira/effective", params={"keys": ",".join(fast.json()["settings"])})
    assert full.status_code == 200 and full.json() == fast.json()
    again = await client.get("/v1/bots/mira/effective", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert (await client.get("/v1/bots/nova/effective", headers={"If-None-Match": etag})).status_code == 200
    r = await client.patch("/v1/settings/bots/mira", json={"temperature": 0.33})
    assert r.status_code == 200
    await runtime.service.refresh()
    changed = await client.get("/v1/bots/mira/effective", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json()["settings"]["temperature"] == {"value": 0.33, "source": "bot", "revision": 1}
    assert changed.headers["x-content-type-options"] == "nosniff"
    missing = await client.get("/v1/bots/zed/effective")
    assert missing.status_code == 404 and "unknown bot 'zed'" in missing.json()["detail"]
    bad_host = await client.get("/v1/bots/mira/effective", headers={"Host": "evil.example"})
    assert bad_host.status_code == 421


async def test_with_tokens_refusals_are_the_full_paths(config: Config, runtime: Runtime, tmp_path: Path) -> None:
    config = msgspec.structs.replace(config, tokens_file=write_tokens_file(tmp_path))
    async with served(create_app(config, runtime)) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        r = await http.get("/v1/bots/mira/effective")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        r = await http.get("/v1/bots/mira/effective", headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401 and r.json()["detail"] == "the API token is not valid"
        r = await http.get("/v1/bots/nova/effective", headers=bearer("mira-writer"))
        assert r.status_code == 403 and "limited to bots mira" in r.json()["detail"]
        ok = await http.get("/v1/bots/mira/effective", headers=bearer("mira-writer"))
        assert ok.status_code == 200 and ok.headers["etag"]
        r = await http.get("/v1/bots/mira/effective", headers={**bearer("reader"), "If-None-Match": ok.headers["etag"]})
        assert r.status_code == 304


async def test_the_fast_read_carries_a_request_id_and_logs_at_debug_only(client: httpx.AsyncClient) -> None:
    with captured_logs("json", "info") as quiet:
        assert (await client.get("/v1/bots/mira/effective")).status_code == 200
    assert not [line for line in json_lines(quiet.getvalue()) if line["event"] == "http.request"]
    with captured_logs("json", "debug") as loud:
        r = await client.get("/v1/bots/mira/effective", headers={"X-Request-Id": "turn-42", "X-Actor": "bawt"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "turn-42"
    line = next(line for line in json_lines(loud.getvalue()) if line["event"] == "http.request")
    assert (line["level"], line["path"], line["status"], line["actor"]) == ("debug", "/v1/bots/mira/effective",
                                                                            200, "bawt")
    assert "x-request-id" in (await client.get("/v1/bots/mira/effective")).headers  # made when none is sent


async def test_fast_reads_are_counted_in_the_same_series_as_the_full_paths(client: httpx.AsyncClient) -> None:
    async def count(status: int) -> float:  # the registry is the process's: compare before and after
        text = (await client.get("/metrics")).text
        series = [line for line in text.splitlines() if line.startswith("botsettings_requests_total{")
                  and 'path="/v1/bots/{slug}/effective"' in line and f'status_code="{status}"' in line]
        assert len(series) <= 1, series
        return float(series[0].rsplit(" ", 1)[1]) if series else 0.0

    ok, unchanged = await count(200), await count(304)
    fast = await client.get("/v1/bots/mira/effective")
    assert fast.status_code == 200
    full = await client.get("/v1/bots/mira/effective", params={"keys": "temperature"})  # the framework's path
    assert full.status_code == 200
    assert await count(200) == ok + 2  # one series, counted by both paths
    r = await client.get("/v1/bots/mira/effective", headers={"If-None-Match": fast.headers["etag"]})
    assert r.status_code == 304 and await count(304) == unchanged + 1
