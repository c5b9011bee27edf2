"""`botsettings serve` as a real process on a port the test chooses (so it can be
killed and started again at the same address)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from bench.process import BIN, wait_ready


def start_serve(db_url: str, data_dir: Path, port: int, *args: str, env: dict[str, str] | None = None,
                ) -> subprocess.Popen[bytes]:
    full_env = {**os.environ, "DATABASE_URL": db_url, "BOTSETTINGS_DATA_DIR": str(data_dir), **(env or {})}
    proc = subprocess.Popen([BIN, "serve", "--port", str(port), "--no-migrate", *args], env=full_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(f"http://127.0.0.1:{port}", proc)
    return proc


def stop(proc: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    if proc.poll() is None:
        proc.kill() if kill else proc.terminate()
    proc.wait(30)


def stop_all(procs: list[subprocess.Popen[bytes]], timeout: float = 20) -> None:
    """Ask every process to stop first, then wait for each (they shut down in parallel)."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        proc.wait(timeout)
