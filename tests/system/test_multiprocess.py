"""Several service processes on one PostgreSQL stay consistent (the scale-out path)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.process import BIN, free_port, wait_ready
from tests.support.serve import stop_all


@pytest.fixture
def processes(db_url: str, tmp_path: Path) -> Iterator[list[tuple[subprocess.Popen[bytes], str]]]:
    env = {**os.environ, "DATABASE_URL": db_url, "BOTSETTINGS_DATA_DIR": str(tmp_path)}
    started = []
    for _ in range(3):  # started together, then waited for: they boot in parallel
        port = free_port()
        proc = subprocess.Popen([BIN, "serve", "--port", str(port), "--no-migrate"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append((proc, f"http://127.0.0.1:{port}"))
    for proc, url in started:
        wait_ready(url, proc)
    yield started
    stop_all([proc for proc, _ in started])


async def test_three_processes_converge_and_survive_one_stopping(processes) -> None:
    (_, writer_url), (_, reader1), (stopped_proc, reader2) = processes
    async with httpx.AsyncClient(timeout=5) as http:
        async def revision_of(url: str) -> int:
            return (await http.get(f"{url}/v1/bots/mira/effective?keys=temperature")).json()["revision"]

        written = 0
        errors = []

        async def writer() -> None:
            nonlocal written
            for i in range(60):
                r = await http.patch(f"{writer_url}/v1/settings/bots/mira",
                                     json={"temperature": round(0.01 * (i + 1), 2), "memory_n_results": i})
                assert r.status_code == 200, r.text
                written = r.json()["head"]
                if i == 30:
                    stopped_proc.send_signal(signal.SIGTERM)  # a replica goes away mid-load

        async def reader(url: str, stop_ok: bool) -> None:
            while written < 120:
                try:
                    body = (await http.get(f"{url}/v1/bots/mira/effective?keys=temperature,memory_n_results"))
                    settings = body.json()["settings"]
                    # Whole changes only: temperature i+1 always arrives with memory_n_results i.
                    if settings["memory_n_results"]["source"] == "bot":
                        t, m = settings["temperature"]["value"], settings["memory_n_results"]["value"]
                        assert round(t * 100) == m + 1, (t, m)
                except httpx.TransportError as exc:
                    if not stop_ok:
                        errors.append(exc)
                    return
                await asyncio.sleep(0.01)

        await asyncio.gather(writer(), reader(reader1, False), reader(reader2, True))
        assert not errors
        assert stopped_proc.wait(20) == 0, "SIGTERM should shut a replica down cleanly"
        deadline = time.monotonic() + 10
        while {await revision_of(writer_url), await revision_of(reader1)} != {written}:
            assert time.monotonic() < deadline, "the remaining processes did not converge"
            await asyncio.sleep(0.05)
        assert written == 120
        metrics = (await http.get(f"{reader1}/metrics")).text
        assert "botsettings_head_revision 120.0" in metrics and "botsettings_listener_connected 1.0" in metrics
