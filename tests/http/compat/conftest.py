"""The platform's clients, replayed against the app on loopback (tests/http/conftest.py)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.platform_client import ServiceClientReplay


@pytest.fixture
def platform(client: httpx.AsyncClient) -> ServiceClientReplay:
    return ServiceClientReplay(client)
