"""A database holding the platform's own tables, filled through the platform's statements."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.store.engine import asyncpg_dsn
from tests.support.platform import Platform


@pytest.fixture
async def platform(db_url: str) -> AsyncIterator[Platform]:
    """The platform's stores on the test database, after its start-up created its tables."""
    client = await Platform.connect(asyncpg_dsn(db_url))
    assert await client.start_up() == ["runtime_settings", "bot_profiles"]
    yield client
    await client.close()
