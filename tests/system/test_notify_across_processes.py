"""A real `serve` process kept current by LISTEN/NOTIFY, even after its listener is killed."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import httpx

from app.domain import scopes
from app.services import SettingsService
from app.store.listener import APPLICATION_NAME
from bench.process import service_process

MIRA = scopes.bot("mira")


async def test_a_change_reaches_another_process_even_after_its_listener_is_killed(
        db_url: str, tmp_path: Path, service: SettingsService, raw: asyncpg.Connection) -> None:
    with service_process(db_url, tmp_path, env={"BOTSETTINGS_LISTENER_POLL_SECONDS": "1"}) as (base, _):
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            async def effective_temperature() -> float:
                r = await http.get("/v1/bots/mira/effective", params={"keys": "temperature"})
                return r.json()["settings"]["temperature"]["value"]

            await service.set_value(MIRA, "temperature", 0.11, actor="other-process")
            t0 = time.monotonic()
            while await effective_temperature() != 0.11:
                assert time.monotonic() - t0 < 5
            killed = await raw.fetchval("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                        "WHERE application_name = $1 AND datname = current_database()",
                                        APPLICATION_NAME)
            assert killed == 1
            for value in (0.12, 0.13, 0.14):
                await service.set_value(MIRA, "temperature", value, actor="other-process")
            deadline = time.monotonic() + 15
            while await effective_temperature() != 0.14:
                assert time.monotonic() < deadline, "the other process never converged"
                await asyncio.sleep(0.05)
            body = (await http.get("/v1/bots/mira/effective")).json()
            assert body["revision"] == 4
