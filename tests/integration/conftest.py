"""Fixtures shared by the integration tests of several features."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import msgspec
import pytest

from app.config import Config
from app.runtime import Runtime


@pytest.fixture
async def pair(config: Config) -> AsyncIterator[tuple[Runtime, Runtime]]:
    """Two listening runtimes on one database, standing in for two processes.

    A long poll interval: the quiet-time catch-up must not fill a gap before the
    payload shows it (the tests count which path applied a change)."""
    config = msgspec.structs.replace(config, listener_poll_seconds=60.0)
    a = await Runtime.start(config, migrate=False, listen=True)
    b = await Runtime.start(config, migrate=False, listen=True)
    for rt in (a, b):  # LISTENing before the first change, or it is read at connect instead
        assert rt.listener is not None
        await asyncio.wait_for(rt.listener.wait_connected(), 10)
    yield a, b
    await b.close()
    await a.close()
