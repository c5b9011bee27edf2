"""botsettings-client against a real `botsettings serve` process on loopback:
changes arrive quickly, and a killed service, a cut stream or an outage at start
lose nothing."""
# The sync client is driven from async tests only where the test writes through the
# async service fixture meanwhile; blocking there is intended.
# ruff: noqa: ASYNC210, ASYNC212

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from botsettings_client import (
    AsyncSettingsClient,
    Change,
    ServiceUnavailable,
    SettingsClient,
    UnknownBot,
    UnknownSetting,
    Value,
)

from app.domain import scopes
from app.services.settings import SettingsService
from bench.process import free_port
from tests.support.proxy import Relay
from tests.support.serve import start_serve, stop

pytestmark = pytest.mark.slow
VISIBLE_WITHIN_SECONDS = 2.0  # each change, on a loaded 2-core machine; the fan-out bench measures the figures


@pytest.fixture
def serve(db_url: str, tmp_path: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    proc = start_serve(db_url, tmp_path, port)
    yield f"http://127.0.0.1:{port}", port
    stop(proc)


def snapshot_of(url: str) -> dict:
    return httpx.get(f"{url}/v1/snapshot", timeout=10).json()


def same_as_service(client: SettingsClient | AsyncSettingsClient, document: dict) -> None:
    assert client.revision == document["revision"]
    for slug, bot in document["bots"].items():
        mine = client.bot(slug).effective()
        assert {k: (v.value, v.source, v.revision) for k, v in mine.items()} == {
            k: (v["value"], v["source"], v["revision"]) for k, v in bot["settings"].items()}, slug


def wait_until(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_change_in_the_service_is_visible_in_the_client_quickly(serve: tuple[str, int]) -> None:
    url, _ = serve
    seen: list[Change] = []
    with SettingsClient(url) as client:
        assert not client.stale and client.bot_names == ["mira", "nova", "spark"]
        assert client.bot("mira").value("temperature") == Value(0.85, "yaml", None)
        client.on_change(seen.append)
        delays = []
        with httpx.Client(base_url=url, timeout=10) as http:
            for i in range(1, 21):
                started = time.perf_counter()
                r = http.put("/v1/settings/bots/mira/temperature", json={"value": i / 100})
                assert r.status_code == 200
                wait_until(lambda i=i: client.bot("mira").get("temperature") == i / 100)
                delays.append(time.perf_counter() - started)
            head = r.json()["head"]
            http.put("/v1/settings/global/top_p", json={"value": 0.4})
            client.wait_for_revision(head + 1)
        assert max(delays) < VISIBLE_WITHIN_SECONDS, delays
        assert statistics.median(delays) < 0.25, delays  # typically ~0.02 s (PUT round trip included)
        assert client.bot("mira").value("temperature") == Value(0.2, "bot", head)
        assert client.bot("spark").value("top_p") == Value(0.4, "global", head + 1)
        assert seen[0] == Change("mira", "temperature", Value(0.85, "yaml", None), Value(0.01, "bot", 1), 1)
        assert {c.bot for c in seen if c.key == "top_p"} == {"mira", "nova", "spark"}
        same_as_service(client, snapshot_of(url))
        with pytest.raises(UnknownBot):
            client.bot("zed").get("temperature")
        with pytest.raises(UnknownSetting):
            client.bot("mira").get("temprature")  # type: ignore[arg-type]


async def test_killing_and_restarting_the_service_loses_nothing(db_url: str, tmp_path: Path,
                                                                service: SettingsService) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_serve(db_url, tmp_path, port)
    with SettingsClient(url, bots=["mira", "nova"], max_backoff=0.2) as client:
        with httpx.Client(base_url=url, timeout=10) as http:
            for i in range(5):
                http.patch("/v1/settings/bots/mira", json={"temperature": i / 10, "memory_n_results": i})
        client.wait_for_revision(10)  # two keys, two revisions per change
        stop(proc, kill=True)
        wait_until(lambda: client.stale)
        stale_since = client.stale_since
        assert stale_since is not None and stale_since <= time.time()
        # The platform keeps writing through other processes while this one is down.
        for i in range(5, 12):
            await service.patch(scopes.bot("mira"), {"temperature": i / 10, "memory_n_results": i}, actor="t")
        await service.set_value(scopes.bot("nova"), "top_p", 0.3, actor="t")
        assert client.revision == 10 and client.bot("mira").get("temperature") == 0.4  # last known, not a default
        proc = start_serve(db_url, tmp_path, port)
        try:
            client.wait_for_revision(25, timeout=20)
            wait_until(lambda: not client.stale)
            assert client.bootstraps == 1, "a resume needs no new bootstrap"
            same_as_service(client, httpx.get(f"{url}/v1/snapshot?bots=mira,nova", timeout=10).json())
            assert client.bot("nova").value("top_p") == Value(0.3, "bot", 25)
        finally:
            stop(proc)


async def test_cutting_the_stream_mid_change_loses_nothing(serve: tuple[str, int]) -> None:
    url, port = serve
    relay = Relay(port)
    await relay.start()
    keys = {"temperature": 0.5, "top_p": 0.5, "memory_n_results": 7, "max_output_tokens": 300}
    try:
        async with AsyncSettingsClient(f"http://127.0.0.1:{relay.port}", max_backoff=0.1) as client, \
                httpx.AsyncClient(base_url=url, timeout=10) as http:
            for round_ in range(12):
                # A burst of multi-key changes, the connection cut while they stream out.
                writes = [http.patch(f"/v1/settings/bots/{bot}", json={**keys, "memory_n_results": round_ * 3 + n})
                          for n, bot in enumerate(("mira", "nova", "spark"))]
                await asyncio.gather(*writes, asyncio.sleep(0.002 * round_))
                opened = relay.connections
                relay.cut()
                # The next round cuts the resumed stream, not a reconnect still in its backoff.
                deadline = time.monotonic() + 10
                while relay.connections == opened:
                    assert time.monotonic() < deadline, f"no reconnect after cut {round_ + 1}"
                    await asyncio.sleep(0.01)
            head = (await http.get("/v1/snapshot")).json()["revision"]
            await client.wait_for_revision(head, timeout=20)
            assert relay.connections > 12, "the stream was cut and resumed every round"
            document = (await http.get("/v1/snapshot")).json()
            same_as_service(client, document)
    finally:
        await relay.close()


async def test_an_outage_at_start_serves_the_snapshot_file_marked_stale_then_catches_up(
        db_url: str, tmp_path: Path, service: SettingsService) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    path = tmp_path / "state" / "settings.json"
    proc = start_serve(db_url, tmp_path, port)
    with SettingsClient(url, snapshot_path=path) as client:
        httpx.put(f"{url}/v1/settings/bots/mira/temperature", json={"value": 0.33}, timeout=10)
        client.wait_for_revision(1)
    saved_at = path.stat().st_mtime
    stop(proc)
    await service.set_value(scopes.bot("mira"), "temperature", 0.44, actor="t")  # while it is down

    with pytest.raises(ServiceUnavailable):
        SettingsClient(url)  # no file: it says so, it does not invent defaults
    with SettingsClient(url, snapshot_path=path, max_backoff=0.2) as client:
        assert client.stale and client.revision == 1
        assert client.stale_since is not None and abs(client.stale_since - saved_at) < 2
        assert client.bot("mira").value("temperature") == Value(0.33, "bot", 1)
        with pytest.raises(UnknownSetting):
            client.bot("mira").get("nope")  # type: ignore[arg-type]
        proc = start_serve(db_url, tmp_path, port)
        try:
            client.wait_for_revision(2, timeout=20)
            wait_until(lambda: not client.stale)
            assert client.bot("mira").value("temperature") == Value(0.44, "bot", 2)
        finally:
            stop(proc)
