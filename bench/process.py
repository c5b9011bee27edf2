"""A real `botsettings serve` process on a free loopback port, for tests and benches."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

BIN = str(Path(sys.executable).with_name("botsettings"))
READY_SECONDS = 60  # a cold start on a loaded 2-core machine, embedded PostgreSQL included


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _give_up_if_dead_or_late(proc: subprocess.Popen[bytes], deadline: float) -> None:
    if proc.poll() is not None:
        raise RuntimeError(f"botsettings serve exited with {proc.returncode} before it was ready")
    if time.monotonic() > deadline:
        raise RuntimeError("botsettings serve was not ready in time")


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        _give_up_if_dead_or_late(proc, deadline)
        time.sleep(0.1)


async def await_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    """:func:`wait_ready` without blocking the event loop (for callers that serve fakes in it)."""
    deadline = time.monotonic() + READY_SECONDS
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            try:
                if (await http.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            _give_up_if_dead_or_late(proc, deadline)
            await asyncio.sleep(0.1)


@contextlib.contextmanager
def service_process(db_url: str, data_dir: Path, *args: str, env: dict[str, str] | None = None,
                    output: int | None = subprocess.DEVNULL, migrate: bool = False,
                    ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start `serve` on ``db_url``, wait until ready, yield (base URL, process); stop it
    with SIGTERM afterwards. The schema is expected at head unless ``migrate``."""
    port = free_port()
    full_env = {**os.environ, "DATABASE_URL": db_url, "BOTSETTINGS_DATA_DIR": str(data_dir), **(env or {})}
    flags = [] if migrate else ["--no-migrate"]
    proc = subprocess.Popen([BIN, "serve", "--port", str(port), *flags, *args], env=full_env,
                            stdout=output, stderr=subprocess.STDOUT if output == subprocess.PIPE else output)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(30)
        if proc.poll() is None:
            proc.kill()
