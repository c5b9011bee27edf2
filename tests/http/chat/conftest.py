"""The chat gateway under test: the app on loopback (real PostgreSQL underneath), an
OpenAI-compatible fake upstream on loopback that records what it receives, and the
official `openai` client pointed at the app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
import openai
import pytest

from app.api.app import create_app
from app.config import Config
from app.runtime import Runtime
from tests.support.server import served
from tests.support.upstream import FakeUpstream, serving_upstream


@pytest.fixture
async def upstream() -> AsyncIterator[FakeUpstream]:
    async with serving_upstream() as fake:
        yield fake


GatewayFactory = Callable[..., Any]


@pytest.fixture
def start_gateway(config: Config, runtime: Runtime) -> GatewayFactory:
    """``async with start_gateway(**config_fields) as base_url``: the app with that
    configuration (one at a time: the app registers the runtime's metrics)."""
    def start(**fields: Any) -> Any:
        return served(create_app(msgspec.structs.replace(config, **fields), runtime))
    return start


@pytest.fixture
async def gateway(start_gateway: GatewayFactory, upstream: FakeUpstream) -> AsyncIterator[str]:
    async with start_gateway(upstream_url=upstream.url, upstream_api_key="sk-upstream-secret",
                             allowed_models=frozenset({"grok-4"}), max_body_bytes=64 * 1024) as url:
        yield url


@pytest.fixture
async def oai(gateway: str) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(base_url=f"{gateway}/v1", api_key="caller-key", max_retries=0, timeout=10)
    yield client
    await client.close()
