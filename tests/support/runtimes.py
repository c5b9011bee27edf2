"""Runtimes standing in for service processes: each has its own connections and
LISTEN connection (and, when asked, its own scheduler), all on the test's database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec

from app.config import Config
from app.runtime import Runtime

MakeRuntime = Callable[..., Awaitable[Runtime]]


class RuntimeFactory:
    """Starts runtimes from the test's configuration and closes every one at the end."""

    def __init__(self, config: Config, directory: Path) -> None:
        self.config = config
        self.directory = directory
        self.started: list[Runtime] = []

    async def start(self, *, bots_yaml: str | None = None, env: dict[str, str] | None = None,
                    listen: bool = True, handlers: dict[str, Any] | None = None, schedule: bool = False,
                    **overrides: Any) -> Runtime:
        """A runtime with ``overrides`` of the configuration; ``bots_yaml`` is the text of
        its bots.yaml, ``env`` its LLM_BAWT_* environment layer, ``handlers`` job handlers
        registered before its scheduler starts (with ``schedule``)."""
        if bots_yaml is not None:
            path = self.directory / f"bots-{len(self.started)}.yaml"
            path.write_text(bots_yaml)
            overrides["bots_yaml"] = path
        if env is not None:
            overrides["llm_env"] = env
        rt = await Runtime.start(msgspec.structs.replace(self.config, **overrides), migrate=False, listen=listen)
        for job, handler in (handlers or {}).items():
            rt.handlers.register(job, handler)
        self.started.append(rt)
        if schedule:
            await rt.start_scheduler()
        return rt

    async def close(self) -> None:
        for rt in self.started:
            await rt.close()
