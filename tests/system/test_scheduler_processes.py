"""Real service processes: one leader, a SIGKILL hands over, and the issue's "done when"."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from app.store.engine import asyncpg_dsn
from bench.process import BIN, await_ready, free_port
from tests.support.receiver import Receiver, receiving
from tests.support.scheduler import BOTS_YAML
from tests.support.serve import stop_all


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving() as app:
        yield app


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    (tmp_path / "bots.yaml").write_text(BOTS_YAML)
    return {**os.environ, "DATABASE_URL": db_url, "BOTSETTINGS_DATA_DIR": str(tmp_path),
            "BOTSETTINGS_BOTS_YAML": str(tmp_path / "bots.yaml"), "BOTSETTINGS_LOG_LEVEL": "warning"}


@pytest.fixture
def serve(env: dict[str, str]) -> Iterator[list[tuple[subprocess.Popen[bytes], str]]]:
    started: list[tuple[subprocess.Popen[bytes], str]] = []
    yield started
    stop_all([proc for proc, _ in started])


async def _start(serve, env: dict[str, str], extra: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:  # type: ignore[no-untyped-def]
    port = free_port()
    proc = subprocess.Popen([BIN, "serve", "--port", str(port), "--no-migrate"], env={**env, **extra},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    serve.append((proc, url))
    await await_ready(url, proc)
    return proc, url


async def _leaders(urls: list[str]) -> list[str]:
    async with httpx.AsyncClient(timeout=2) as http:
        leading = []
        for url in urls:
            try:
                if (await http.get(f"{url}/v1/jobs")).json()["leader"]:
                    leading.append(url)
            except httpx.TransportError:
                pass
        return leading


async def _cli(env: dict[str, str], *args: str) -> str:
    done = await asyncio.to_thread(subprocess.run, [BIN, *args], env=env, capture_output=True, text=True,
                                   timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_serve_processes_elect_one_leader_and_hand_over_on_sigterm_and_sigkill(
        serve, env: dict[str, str], receiver: Receiver, db_url: str) -> None:
    extra = {"BOTSETTINGS_JOB_WEBHOOK_URL": receiver.url}
    procs = [await _start(serve, env, extra) for _ in range(3)]
    urls = [url for _, url in procs]
    deadline = time.monotonic() + 10
    while len(leaders := await _leaders(urls)) != 1:
        assert time.monotonic() < deadline, f"expected one leader, got {leaders}"
        await asyncio.sleep(0.1)

    # Done when (1): a CLI change of mira's interval shows in `botsettings jobs` at once.
    await _cli(env, "set", "history_summarization_interval_minutes", "5", "--bot", "mira")
    jobs = {j["id"]: j for j in json.loads(await _cli(env, "jobs", "--json"))["jobs"]}
    mira = jobs["history_summarization:mira"]
    assert (mira["interval_minutes"], mira["interval_source"]) == (5, "bot")
    assert mira["handler"] == f"webhook {receiver.url}"
    from datetime import UTC, datetime, timedelta
    assert datetime.fromisoformat(mira["next_run"]) <= datetime.now(UTC) + timedelta(minutes=5)

    # Done when (2), shortened: a change scheduled a moment ahead is applied on time, with its reason.
    change = json.loads(await _cli(env, "schedule", "set", "temperature", "0.3", "--bot", "mira", "--in", "3s",
                                   "--reason", "evening calm", "--json"))
    deadline = time.monotonic() + 10
    while (shown := json.loads(await _cli(env, "schedule", "show", change["id"], "--json")))["status"] == "pending":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.2)
    assert shown["status"] == "applied" and shown["delay_seconds"] < 2
    raw = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        event = await raw.fetchrow("SELECT source, reason FROM settings_events WHERE key = 'temperature'")
        assert (event["source"], event["reason"]) == ("scheduler", "evening calm")
    finally:
        await raw.close()

    # SIGTERM: the leader releases the lock while shutting down; another leads at once.
    by_url = {url: proc for proc, url in procs}
    stopped = by_url[leaders[0]]
    stopped.send_signal(signal.SIGTERM)
    assert stopped.wait(20) == 0
    since = time.monotonic()
    remaining = [url for url in urls if url != leaders[0]]
    while len(leaders := await _leaders(remaining)) != 1:
        assert time.monotonic() - since < 3, "no prompt takeover after a graceful stop"
        await asyncio.sleep(0.05)

    # SIGKILL: nothing is released by the process; its session ends and the last one leads within 10 s.
    by_url[leaders[0]].send_signal(signal.SIGKILL)
    by_url[leaders[0]].wait(10)
    killed = time.monotonic()
    survivor = [url for url in remaining if url != leaders[0]]
    while await _leaders(survivor) != survivor:
        assert time.monotonic() - killed < 10, "no takeover within 10 s"
        await asyncio.sleep(0.1)
