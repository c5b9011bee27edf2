"""Which worker process serves a connection: the kernel's table of TCP sockets
(/proc/net/tcp) gives the server side's socket inode for a client's port, and the
process holding that inode among its file descriptors is the worker. Linux only."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _server_inode(server_port: int, client_port: int) -> str | None:
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
            if int(local, 16) == server_port and int(remote, 16) == client_port:
                return fields[9]
    return None


def owner(pids: list[int], server_port: int, client_port: int) -> int | None:
    """The pid among ``pids`` that holds the accepted socket of this connection."""
    inode = _server_inode(server_port, client_port)
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return pid
            except OSError:
                continue
    return None


def listeners(port: int) -> int:
    """How many sockets listen on ``port`` (one per worker with SO_REUSEPORT)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            count += int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A"  # 0A: LISTEN
    return count


async def all_listening(port: int, workers: int, wait_seconds: float = 30.0) -> None:
    """Wait until every worker listens: the first one up answers before the others have started."""
    for _ in range(int(wait_seconds / 0.05)):
        if listeners(port) >= workers:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"only {listeners(port)} of {workers} workers listen on {port}")
