"""The synchronous face: the asyncio client running in a background thread of its own.
Reads never block on the network: they read the local copy."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from botsettings_client._follow import AsyncSettingsClient, BotView, Callback
from botsettings_client._state import Value


class SettingsClient:
    def __init__(self, url: str, *, token: str | None = None, bots: list[str] | None = None,
                 snapshot_path: str | Path | None = None, start_timeout: float = 30.0,
                 max_backoff: float = 2.0) -> None:
        """Bootstraps before returning (or serves the snapshot file, marked stale, when
        the service is down); raises ServiceUnavailable if neither works."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="botsettings-client", daemon=True)
        self._thread.start()

        async def make() -> AsyncSettingsClient:
            client = AsyncSettingsClient(url, token=token, bots=bots, snapshot_path=snapshot_path,
                                         max_backoff=max_backoff)
            await client.start()
            return client

        try:
            self._client: AsyncSettingsClient = self._run(make(), start_timeout)
        except BaseException:
            self._stop_loop()
            raise

    def _run(self, coro: Any, timeout: float | None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def bot(self, slug: str) -> BotView:
        return self._client.bot(slug)

    @property
    def revision(self) -> int:
        return self._client.revision

    @property
    def bot_names(self) -> list[str]:
        return self._client.bot_names

    @property
    def stale(self) -> bool:
        return self._client.stale

    @property
    def stale_since(self) -> float | None:
        return self._client.stale_since

    @property
    def bootstraps(self) -> int:
        """How many bootstraps this client made (1 + those a gap or a new bot caused)."""
        return self._client.bootstraps

    @property
    def reconnects(self) -> int:
        return self._client.reconnects

    def effective(self, slug: str) -> Mapping[str, Value]:
        return self._client.bot(slug).effective()

    def on_change(self, callback: Callback) -> Callable[[], None]:
        """``callback`` runs in the client's background thread."""
        return self._client.on_change(callback)

    def wait_for_revision(self, revision: int, timeout: float = 10.0) -> None:
        self._run(self._client.wait_for_revision(revision, timeout), timeout + 1)

    def close(self) -> None:
        if self._loop.is_running():
            self._run(self._client.aclose(), 10)
        self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> SettingsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
