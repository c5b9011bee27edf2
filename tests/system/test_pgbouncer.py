"""Four `botsettings serve` processes behind a real PgBouncer in transaction-pooling
mode: queries through the pooler, LISTEN and the scheduler's leadership direct
(BOTSETTINGS_LISTEN_URL). Writes, reads and propagation between the processes work,
and the pooler really carries the queries on its few server connections."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from app.store.engine import asyncpg_dsn
from app.store.leadership import APPLICATION_NAME as LEADER
from app.store.listener import APPLICATION_NAME as LISTENER
from bench.process import free_port
from tests.support.pgbouncer import POOL_SIZE, pgbouncer
from tests.support.serve import start_serve, stop

pytestmark = pytest.mark.slow
PROCESSES = 4


@pytest.fixture
def pooled_processes(db_url: str, tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    with pgbouncer(db_url) as pooled_url, contextlib.ExitStack() as stack:
        env = {"BOTSETTINGS_LISTEN_URL": db_url, "BOTSETTINGS_DATABASE_POOLING": "transaction"}
        urls = []
        for _ in range(PROCESSES):
            port = free_port()
            proc = start_serve(pooled_url, tmp_path, port, env=env)
            stack.callback(stop, proc)
            urls.append(f"http://127.0.0.1:{port}")
        yield pooled_url, urls


async def test_four_processes_through_a_transaction_pooler(db_url: str, pooled_processes) -> None:
    _, urls = pooled_processes
    heads: list[int] = []
    async with httpx.AsyncClient(timeout=20) as http:
        async def writes(i: int, url: str) -> None:
            for n in range(15):  # every process writes, each change two keys of its own bot
                r = await http.patch(f"{url}/v1/settings/bots/mira",
                                     json={"max_output_tokens": 100 * (i + 1) + n, "memory_n_results": i * 100 + n})
                assert r.status_code == 200 and r.json()["changed"], r.text
                r = await http.put(f"{url}/v1/settings/global/top_p", json={"value": round(0.1 + n / 100, 2)})
                assert r.status_code == 200, r.text  # the same value from another process: no change
                heads.append(r.json()["head"])

        await asyncio.gather(*(writes(i, url) for i, url in enumerate(urls)))
        head = max(heads)
        assert head >= PROCESSES * 15 * 2 + 15

        # Every process converges on the same head and the same values (propagation
        # over the direct LISTEN connections; catch-up reads through the pooler).
        deadline = time.monotonic() + 20
        while True:
            snapshots = [(await http.get(f"{url}/v1/snapshot")).json() for url in urls]
            if all(s["revision"] == head for s in snapshots):
                break
            assert time.monotonic() < deadline, [s["revision"] for s in snapshots]
            await asyncio.sleep(0.1)
        assert all(s["bots"] == snapshots[0]["bots"] for s in snapshots)
        # Reads that query the database (stored scope, history, point in time) work through it.
        for url in urls:
            r = await http.get(f"{url}/v1/settings/bots/mira")
            assert r.status_code == 200 and r.json()["head"] == head
            r = await http.get(f"{url}/v1/history?scope=bots/mira&limit=5")
            assert r.status_code == 200 and len(r.json()["events"]) == 5
            r = await http.get(f"{url}/v1/settings/global?revision=3")
            assert r.status_code == 200 and r.json()["revision"] == 3
        # A change in one process is seen by a follower of another.
        async with http.stream("GET", f"{urls[3]}/v1/watch") as stream:
            r = await http.put(f"{urls[0]}/v1/settings/bots/nova/temperature", json={"value": 0.25})
            assert r.status_code == 200
            async for line in stream.aiter_lines():
                if line.startswith("data:"):
                    assert '"value":0.25' in line
                    break

    direct = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        rows = await direct.fetch("SELECT application_name FROM pg_stat_activity WHERE datname = current_database() "
                                  "AND pid <> pg_backend_pid()")
    finally:
        await direct.close()
    names = [r["application_name"] for r in rows]
    assert names.count(LISTENER) == PROCESSES, names  # LISTEN: one direct connection per process
    assert names.count(LEADER) == PROCESSES, names  # leadership candidates: direct too
    # Everything else came through the pooler: at most its pool (fewer connections than
    # processes), where each process's own pool would keep one open at least.
    assert len(names) - 2 * PROCESSES <= POOL_SIZE < PROCESSES, names
