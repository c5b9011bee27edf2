"""A TCP relay on loopback whose connections a test can cut (a network fault between
a follower and the service, without touching either)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator


class Relay:
    def __init__(self, target_port: int = 0, target_socket: str | None = None) -> None:
        """Relay to 127.0.0.1:``target_port``, or to the Unix socket ``target_socket``."""
        self.target_port = target_port
        self.target_socket = target_socket
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.connections = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            if self.target_socket is not None:
                up_reader, up_writer = await asyncio.open_unix_connection(self.target_socket)
            else:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    def cut(self) -> None:
        """Drop every open connection at once (both directions, mid-stream)."""
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@contextlib.contextmanager
def relay_in_thread(target_port: int = 0, target_socket: str | None = None) -> Iterator[Relay]:
    """A relay on an event loop of its own, so tests that block (waiting for a process)
    do not stall the bytes it carries."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    relay = Relay(target_port, target_socket)
    asyncio.run_coroutine_threadsafe(relay.start(), loop).result(10)
    try:
        yield relay
    finally:
        asyncio.run_coroutine_threadsafe(relay.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
