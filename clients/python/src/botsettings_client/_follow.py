"""The asyncio face: one bootstrap, then /v1/watch, applying each change as it comes.

After a disconnect it resumes with Last-Event-ID (the service replays what was
missed from its log); a message that does not follow the copy's revision (a gap),
a bot created after the bootstrap, or a revision the service no longer has, makes
it bootstrap again. While it is not following live the copy is marked stale, with
the time it was last known current — values are still served, never defaults.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from botsettings_client import _file
from botsettings_client._sse import messages
from botsettings_client._state import Change, Gap, NewBot, State, Value, View, differences
from botsettings_client.keys import BotSettings, SettingKey

log = logging.getLogger("botsettings_client")
HEARTBEAT_GRACE_SECONDS = 45.0  # the service sends a heartbeat every 15 s: three missed ones end the stream
SAVE_EVERY_SECONDS = 1.0


class ServiceUnavailable(Exception):
    """The service could not be reached at start and there is no snapshot file to serve."""


class ServiceRefused(Exception):
    """The service answered the bootstrap with an error (bad token, unknown bot, …)."""


class UnknownBot(KeyError):
    pass


class UnknownSetting(KeyError):
    pass


Callback = Callable[[Change], None]


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One certificate store for every client of the process (loading it costs ~50 ms)."""
    return ssl.create_default_context()


class BotView:
    """One bot's settings in the local copy. Each call reads the copy as it is now."""

    def __init__(self, client: AsyncSettingsClient, slug: str) -> None:
        self._client, self.slug = client, slug

    def _values(self) -> Mapping[str, Value]:
        try:
            return self._client._view().bots[self.slug]
        except KeyError:
            raise UnknownBot(f"unknown bot '{self.slug}': not in this client's copy") from None

    def value(self, key: SettingKey) -> Value:
        """The effective value with its source and revision."""
        values = self._values()
        try:
            return values[key]
        except KeyError:
            raise UnknownSetting(f"'{key}' is not a setting a bot has") from None

    def get(self, key: SettingKey) -> Any:
        return self.value(key).value

    def effective(self) -> Mapping[str, Value]:
        """Every key at one revision, each with its source and revision."""
        return self._values()

    def values(self) -> BotSettings:
        """Plain values, typed by key (see keys.py)."""
        return {k: v.value for k, v in self._values().items()}  # type: ignore[return-value]


class AsyncSettingsClient:
    def __init__(self, url: str, *, token: str | None = None, bots: list[str] | None = None,
                 snapshot_path: str | Path | None = None, max_backoff: float = 2.0) -> None:
        """``bots``: the bots to follow; None follows every bot the token may read."""
        self.url = url.rstrip("/")
        self.bots = sorted(set(bots)) if bots is not None else None
        self.snapshot_path = Path(snapshot_path) if snapshot_path is not None else None
        self.max_backoff = max_backoff
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(base_url=self.url, headers=headers, verify=_tls_context(),
                                       timeout=httpx.Timeout(10.0, read=HEARTBEAT_GRACE_SECONDS))
        self._state: State | None = None
        self._callbacks: list[Callback] = []
        self._stale_since: float | None = time.time()
        self._fresh_at: int | None = None  # the head the open stream started at
        self._advanced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._saved_at = 0.0
        self._save_pending: asyncio.TimerHandle | None = None
        self.reconnects = 0
        self.bootstraps = 0

    # -- reading ---------------------------------------------------------------------
    def _view(self) -> View:
        if self._state is None:
            raise RuntimeError("the client has not started: await client.start() (or use `async with`)")
        return self._state.view

    def bot(self, slug: str) -> BotView:
        return BotView(self, slug)

    @property
    def revision(self) -> int:
        return self._view().revision

    @property
    def bot_names(self) -> list[str]:
        return sorted(self._view().bots)

    @property
    def stale(self) -> bool:
        """True while the copy is not known to be current (service down, stream broken,
        catching up after a restart)."""
        return self._stale_since is not None

    @property
    def stale_since(self) -> float | None:
        """When (time.time()) the copy was last known current; None while it is."""
        return self._stale_since

    def on_change(self, callback: Callback) -> Callable[[], None]:
        """Call ``callback(change)`` for each effective value a change alters (in the
        client's event loop; for the sync client, its background thread)."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback)

    async def wait_for_revision(self, revision: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while self._state is None or self._state.revision < revision:
                await self._advanced.wait()

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        """Bootstrap (or, with the service down, load the snapshot file, marked stale),
        then follow the service in the background."""
        try:
            await self._bootstrap()
        except (httpx.TransportError, ServiceUnavailable) as exc:
            saved = _file.load(self.snapshot_path, self.url, self.bots) if self.snapshot_path else None
            if saved is None:
                raise ServiceUnavailable(f"cannot reach {self.url} ({exc}) and no snapshot file to serve") from exc
            document, saved_at = saved
            self._state = State(document)
            self._stale_since = saved_at
            log.warning("botsettings service unreachable; serving the snapshot of revision %s saved at %s",
                        self._state.revision, saved_at)
        self._task = asyncio.create_task(self._follow(), name="botsettings-follow")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._save_pending is not None:
            self._save_pending.cancel()
            self._save()
        await self._http.aclose()

    async def __aenter__(self) -> AsyncSettingsClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- following -------------------------------------------------------------------
    async def _bootstrap(self) -> None:
        params = {"bots": ",".join(self.bots)} if self.bots is not None else {}
        response = await self._http.get("/v1/snapshot", params=params)
        if response.status_code >= 500:
            raise ServiceUnavailable(f"bootstrap: {response.status_code} {response.text[:200]}")
        if response.status_code != 200:
            raise ServiceRefused(f"bootstrap refused: {response.status_code} {response.text[:500]}")
        old = self._state.view if self._state is not None else None
        self._state = State(response.json())
        self._stale_since = None  # current as of this answer; the stream keeps it so
        self.bootstraps += 1
        self._save()
        self._publish(differences(old, self._state.view) if old is not None else [])

    async def _follow(self) -> None:
        backoff, rebootstrap = 0.05, self._state is None
        while True:
            try:
                if rebootstrap:
                    await self._bootstrap()
                    rebootstrap = False
                rebootstrap = await self._stream()
                if rebootstrap:
                    continue
            except asyncio.CancelledError:
                raise
            except (httpx.HTTPError, ServiceUnavailable, OSError) as exc:
                log.info("botsettings stream broken: %s", exc)
            except ServiceRefused as exc:
                log.error("%s", exc)
            self._mark_stale()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)
            self.reconnects += 1

    async def _stream(self) -> bool:
        """Follow until the stream ends; True if the copy must be bootstrapped again."""
        assert self._state is not None
        all_bots = self.bots is None
        headers = {"Last-Event-ID": str(self._state.revision)}
        # every_revision: a change this token may not see still comes, empty, so the copy's
        # revision keeps step (and a real gap stays detectable).
        async with self._http.stream("GET", "/v1/watch", params={"every_revision": "true"},
                                     headers=headers) as response:
            if response.status_code == 400:  # the copy is ahead of the service's log: it was replaced
                return True
            if response.status_code != 200:
                raise ServiceUnavailable(f"watch: {response.status_code}")
            head = response.headers.get("x-settings-revision")
            self._fresh_at = int(head) if head and head.isdigit() else self._state.revision
            self._check_fresh()
            async for message in messages(response):
                if message is None or message.event != "change":
                    continue
                try:
                    changes = self._state.apply(json.loads(message.data), all_bots)
                except (Gap, NewBot) as exc:
                    log.info("botsettings: bootstrapping again (%s)", exc)
                    return True
                self._publish(changes)
        return False

    def _mark_stale(self) -> None:
        self._fresh_at = None
        if self._stale_since is None:
            self._stale_since = time.time()

    def _check_fresh(self) -> None:
        if self._fresh_at is not None and self._state is not None and self._state.revision >= self._fresh_at:
            self._stale_since = None

    def _publish(self, changes: list[Change]) -> None:
        self._check_fresh()
        advanced, self._advanced = self._advanced, asyncio.Event()
        advanced.set()
        for change in changes:
            for callback in list(self._callbacks):
                try:
                    callback(change)
                except Exception:
                    log.exception("botsettings change callback failed")
        self._schedule_save()

    def _schedule_save(self) -> None:
        if self.snapshot_path is None or self._save_pending is not None:
            return
        delay = max(0.0, self._saved_at + SAVE_EVERY_SECONDS - time.monotonic())
        self._save_pending = asyncio.get_running_loop().call_later(delay, self._save)

    def _save(self) -> None:
        self._save_pending = None
        if self.snapshot_path is None or self._state is None:
            return
        try:
            _file.save(self.snapshot_path, self.url, self.bots, self._state.to_document(), time.time())
            self._saved_at = time.monotonic()
        except OSError:
            log.exception("botsettings: could not write the snapshot file %s", self.snapshot_path)
