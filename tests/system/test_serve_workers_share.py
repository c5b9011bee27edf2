"""serve --workers 2: each worker has its own SO_REUSEPORT listener, so connections are
spread by the kernel rather than taken by whichever worker wakes first (uvicorn's shared
socket gave one worker 15 of 16 kept-alive connections). Which worker holds a
connection is read from /proc (bench/worker_share.py)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from bench.load import Conn, port_of
from bench.process import service_process
from bench.worker_share import all_listening, descendants, listeners, owner


async def test_two_workers_each_listen_and_share_the_connections(db_url: str, tmp_path: Path) -> None:
    with service_process(db_url, tmp_path, "--workers", "2") as (base, proc):
        port = port_of(base)
        await all_listening(port, 2)
        assert listeners(port) == 2  # one listener per worker, none left in the supervisor
        workers = descendants(proc.pid)
        conns = [await Conn.open(port) for _ in range(32)]
        for conn in conns:
            status, _ = await conn.request("GET", "/v1/bots/mira/effective")
            assert status == 200
        holders = [owner(workers, port, c.writer.get_extra_info("sockname")[1]) for c in conns]
        for conn in conns:
            conn.close()
        counts = {pid: holders.count(pid) for pid in set(holders)}
        assert None not in counts and len(counts) == 2, counts
        # 32 connections hashed over two listeners: fewer than 6 on one side has odds of about 1 in 9,000
        assert min(counts.values()) >= 6, counts
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 30) == 0  # a graceful stop of both workers
