from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from app.config import Config
from app.runtime import Runtime

MakeRuntime = Callable[..., Awaitable[Runtime]]


@pytest.fixture
async def make_runtime(config: Config, tmp_path: Path) -> AsyncIterator[MakeRuntime]:
    """Runtimes standing in for service processes, each with its own listener."""
    started: list[Runtime] = []

    async def make(bots_yaml: str | None = None, env: dict[str, str] | None = None, listen: bool = True,
                   **overrides: Any) -> Runtime:
        if bots_yaml is not None:
            path = tmp_path / f"bots-{len(started)}.yaml"
            path.write_text(bots_yaml)
            overrides["bots_yaml"] = path
        cfg = msgspec.structs.replace(config, llm_env=env or {}, **overrides)
        rt = await Runtime.start(cfg, migrate=False, listen=listen)
        started.append(rt)
        return rt

    yield make
    for rt in started:
        await rt.close()
