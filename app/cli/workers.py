"""`serve --workers N`: N worker processes, each with its own listener on the port.

uvicorn's supervisor hands every worker the same listening socket, and whichever
worker wakes first accepts: measured, one worker took 15 of 16 kept-alive
connections and two workers served no more than one. Here each worker gets its own
socket bound with SO_REUSEPORT, so the kernel spreads new connections across the
workers' listeners by a hash of the connection.

The sockets are bound in this process (a port in use fails the start at once, before
any worker runs), handed to each spawned worker, and closed here right after: a
listener left open in the supervisor would be a member of the group that nobody
accepts on. A worker that dies is replaced, with a new listener. SIGTERM or Ctrl-C
stops the workers gracefully (each finishes its in-flight requests) and then this
process.
"""

from __future__ import annotations

import signal
import socket
import time
from typing import Any

import structlog
import uvicorn
from uvicorn._subprocess import get_subprocess

log = structlog.get_logger("botsettings.serve")
STOP_TIMEOUT = 15.0  # seconds: uvicorn's graceful shutdown (10 s) and the lifespan's close


def reuse_port_listener(host: str, port: int) -> socket.socket:
    """One worker's listener: IPPROTO_TCP (for TCP_NODELAY, see app/cli/admin.py) and SO_REUSEPORT."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def run_workers(config: uvicorn.Config, host: str, port: int, workers: int) -> None:
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    listeners = [reuse_port_listener(host, port) for _ in range(workers)]  # all bound before any starts
    processes = [_start(config, sock) for sock in listeners]
    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stopping:
            time.sleep(0.2)
            for i, process in enumerate(processes):
                if not process.is_alive() and not stopping:
                    log.warning("serve.worker_died", pid=process.pid, exitcode=process.exitcode)
                    processes[i] = _start(config, reuse_port_listener(host, port))
    finally:
        for process in processes:
            process.terminate()  # SIGTERM: uvicorn's graceful shutdown in the worker
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _start(config: uvicorn.Config, sock: socket.socket) -> Any:
    server = uvicorn.Server(config)
    process = get_subprocess(config, target=server.run, sockets=[sock])
    process.start()
    sock.close()  # the worker holds its own copy now
    return process
