"""HTTP tests talk to a real uvicorn server on loopback, in the test's own loop, so the
app shares the test's runtime (database, read model, listener)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.api.app import create_app
from app.config import Config
from app.runtime import Runtime
from tests.support.server import served


@pytest.fixture
async def base_url(config: Config, runtime: Runtime) -> AsyncIterator[str]:
    async with served(create_app(config, runtime)) as url:
        yield url


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        yield client
