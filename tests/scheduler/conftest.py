"""Runtimes standing in for service processes, each with its own connections, listener
and (when asked) scheduler; and a recording job handler (a plugin, as a platform
would register through the botsettings.jobs entry points)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from app.config import Config
from app.runtime import Runtime
from app.services.job_handlers import JobContext

BOTS_YAML = """
bots:
  mira:
    default_model: grok-4-fast
    settings:
      history_summarization_interval_minutes: 20
  nova:
    default_model: qwen3-8b
  spark: {}
"""

MakeRuntime = Callable[..., Awaitable[Runtime]]


class Recorder:
    """Records every call; the test's stand-in for the platform's summarizer."""

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.calls: list[JobContext] = []

    async def __call__(self, context: JobContext) -> None:
        self.calls.append(context)


@pytest.fixture
async def make_runtime(config: Config, tmp_path: Path) -> AsyncIterator[MakeRuntime]:
    started: list[Runtime] = []
    path = tmp_path / "bots.yaml"
    path.write_text(BOTS_YAML)

    async def make(*, schedule: bool = True, handlers: dict[str, Any] | None = None, **overrides: Any) -> Runtime:
        cfg = msgspec.structs.replace(config, bots_yaml=path, **{"leader_check_seconds": 0.2, **overrides})
        rt = await Runtime.start(cfg, migrate=False, listen=True)
        for job, handler in (handlers or {}).items():
            rt.handlers.register(job, handler)
        started.append(rt)
        if schedule:
            await rt.start_scheduler()
        return rt

    yield make
    for rt in started:
        await rt.close()


async def eventually(check: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(interval)


async def leader_of(*runtimes: Runtime, timeout: float = 10.0) -> Runtime:
    async def one() -> Runtime | None:
        leaders = [rt for rt in runtimes if rt.scheduler is not None and rt.scheduler.is_leader]
        return leaders[0] if len(leaders) == 1 else None
    leader: Runtime = await eventually(one, timeout)
    return leader
