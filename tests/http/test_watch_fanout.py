"""The /v1/watch fan-out (app/api/watch_fanout.py) over real HTTP: changes written
straight to live watchers, a slow reader that neither delays the others nor grows
without bound, and every watcher told every revision exactly once, in order."""

from __future__ import annotations

import asyncio
import re
import socket

import pytest
from httpx import AsyncClient

from app.api import watch_fanout
from app.domain import scopes
from app.runtime import Runtime
from app.services import SettingsService
from tests.support.sse import read_events

MIRA = scopes.bot("mira")
_ID = re.compile(rb"(?:^|\n)id: (\d+)\n")


async def raw_watch(base_url: str, since: int, *, tiny_buffer: bool) -> tuple[asyncio.StreamReader,
                                                                              asyncio.StreamWriter]:
    """A watch on a plain socket; with ``tiny_buffer`` and not read, a stalled reader."""
    host, port = base_url.removeprefix("http://").split(":")
    sock = socket.socket()
    if tiny_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    # A small stream buffer too: the stream stops reading from the socket when it is full.
    reader, writer = await asyncio.open_connection(sock=sock, limit=2048)
    writer.write(f"GET /v1/watch?since={since} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    await writer.drain()
    return reader, writer


async def read_ids(reader: asyncio.StreamReader, count: int) -> list[int]:
    """The ids of the next ``count`` events off a raw watch (chunk framing and all)."""
    ids: list[int] = []
    buffer = b""
    while len(ids) < count:
        buffer += await asyncio.wait_for(reader.read(1 << 20), 10)
        *frames, buffer = buffer.split(b"\n\n")
        ids.extend(int(m.group(1)) for frame in frames if (m := _ID.search(frame)))
    return ids


async def until(check, timeout: float = 10) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not in time")


async def test_a_stalled_reader_is_bounded_and_delays_no_one(
        client: AsyncClient, base_url: str, runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watch_fanout, "QUEUE_LIMIT", 4)
    svc = runtime.service
    since = svc.revision
    fanout = watch_fanout.fanout_of(svc)
    stalled_reader, stalled_writer = await raw_watch(base_url, since, tiny_buffer=True)
    try:
        await stalled_watch(client, svc, fanout, since, stalled_reader)
    finally:
        stalled_writer.close()
    await until(lambda: not fanout.watchers)  # a client that goes away is dropped


async def stalled_watch(client: AsyncClient, svc: SettingsService, fanout: watch_fanout.Fanout, since: int,
                        stalled_reader: asyncio.StreamReader) -> None:
    await until(lambda: len(fanout.watchers) == 1)
    count = 100
    big = "x" * 60_000  # 100 changes of ~60 KB: far more than the socket buffers hold

    async def writes() -> None:
        for n in range(count):
            await svc.patch(MIRA, {"system_prompt": f"{n} {big}"}, actor="t")

    async with client.stream("GET", f"/v1/watch?since={since}") as response:
        await until(lambda: len(fanout.watchers) == 2)
        writing = asyncio.ensure_future(writes())
        events = await asyncio.wait_for(read_events(response, count), 30)  # not held up by the stalled one
        await writing
    assert [int(e["id"]) for e in events] == list(range(since + 1, since + count + 1))
    # The stalled watcher fell behind: its queue stayed within the limit (it re-reads from
    # the log once it can be written to again).
    await until(lambda: len(fanout.watchers) == 1)  # the reader above has gone
    [stalled] = list(fanout.watchers)
    assert not stalled.live and len(stalled.queue) <= 4 and stalled.overflows >= 1
    # Now it reads: every revision, once, in order, from wherever the fan-out left off.
    assert await read_ids(stalled_reader, count) == list(range(since + 1, since + count + 1))
    # Caught up, it is live again and takes the next change straight from the fan-out.
    await until(lambda: stalled.live)
    nxt = await svc.patch(MIRA, {"system_prompt": "after"}, actor="t")
    assert await read_ids(stalled_reader, 1) == [nxt.first_revision]


async def test_live_changes_during_the_backlog_arrive_once_in_order(client: AsyncClient, runtime: Runtime) -> None:
    svc = runtime.service
    for n in range(30):  # a backlog
        await svc.patch(MIRA, {"temperature": round(0.01 * (n + 1), 2)}, actor="t")

    async def live() -> None:
        for n in range(30):
            await svc.patch(scopes.bot("nova"), {"temperature": round(0.01 * (n + 1), 2)}, actor="t")

    async with client.stream("GET", "/v1/watch?since=0") as response:
        writing = asyncio.ensure_future(live())  # while the backlog is being read and sent
        events = await asyncio.wait_for(read_events(response, 60), 30)
        await writing
    assert [int(e["id"]) for e in events] == list(range(1, 61))
    assert [e["data"]["scopes"] for e in events] == [["bots/mira"]] * 30 + [["bots/nova"]] * 30
    # Resuming from the middle (Last-Event-ID) gives exactly what follows.
    async with client.stream("GET", "/v1/watch", headers={"Last-Event-ID": "45"}) as response:
        resumed = await asyncio.wait_for(read_events(response, 15), 10)
    assert [int(e["id"]) for e in resumed] == list(range(46, 61))
