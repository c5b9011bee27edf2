"""serve --workers: the shared listening socket gives every connection TCP_NODELAY.

Without it (uvicorn's own socket is made with proto 0), asyncio leaves Nagle's
algorithm on and every response on a kept-alive connection waits for the client's
delayed ACK, ~40 ms; measured in bench/api.py."""

from __future__ import annotations

import asyncio
import socket
from multiprocessing.reduction import ForkingPickler

from app.cli.admin import tcp_listener


async def test_connections_accepted_by_a_worker_have_tcp_nodelay() -> None:
    parent = tcp_listener("127.0.0.1", 0)
    # What a spawned worker receives: the socket, pickled through multiprocessing.
    worker_socket = ForkingPickler.loads(bytes(ForkingPickler.dumps(parent)))
    nodelay: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def on_connection(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nodelay.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(on_connection, sock=worker_socket)
    _, client = await asyncio.open_connection(*parent.getsockname()[:2])
    try:
        assert await asyncio.wait_for(nodelay, 5) == 1
    finally:
        client.close()
        server.close()
        parent.close()
