"""ConversationsService: conversations pinned to a settings revision, so that a
change made mid-conversation does not shift the bot under a user.

The first request of a conversation (``X-Conversation-Id``) pins the revision it
used; later requests resolve the bot as of that revision. ``X-Settings-Pin: N``
pins explicitly, ``X-Settings-Pin: latest`` releases (the conversation follows the
current settings from then on). A pin unused for ``conversation_pin_idle_seconds``
expires. A pin to a bot's settings that were replaced longer ago than
``conversation_pin_max_age_seconds`` is refused (410), never resolved at another
revision.

Pins live in PostgreSQL so that every worker and replica agrees; each process keeps
what it read for PIN_CACHE_SECONDS, and the as-of snapshots by (bot, revision) in a
bounded LRU, so after a conversation's first request a pinned request costs a dict
lookup more than an unpinned one. The last use is written back at most once per
TOUCH_SECONDS per conversation, in the background.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import structlog

from app.domain import scopes
from app.domain.errors import BadRequest, FieldError, Gone
from app.domain.history import Point
from app.domain.resolution import Snapshot, validate_overrides
from app.services.history import HistoryService
from app.services.replies import check_id
from app.services.settings import SettingsService
from app.store import pins
from app.store.database import Database

log = structlog.get_logger("botsettings.conversations")
PIN_CACHE_SECONDS = 10.0  # how long a process trusts the pin it read (another process may change it)
TOUCH_SECONDS = 60.0
AS_OF_CACHE = 256  # as-of snapshots kept per process
PIN_HEADER = "X-Settings-Pin"
LATEST = "latest"


class Pin(msgspec.Struct, frozen=True, kw_only=True):
    bot: str
    conversation_id: str
    revision: int | None  # None: released, follows the latest settings
    explicit: bool
    pinned_at: datetime
    last_used_at: datetime
    expires_at: datetime


class Resolved(msgspec.Struct, frozen=True, kw_only=True):
    snapshot: Snapshot
    pinned: bool  # the revision came from a pin, not from the live settings


class _AsOf(msgspec.Struct, kw_only=True):
    snapshot: Snapshot  # without overrides
    replaced_at: datetime | None  # when a later change first touched the bot or global scope


class _Cached(msgspec.Struct, kw_only=True):
    row: pins.PinRow
    read_at: float  # monotonic
    touched_at: float


class ConversationsService:
    """Owns: conversation pins (create, use, release, expire) and the as-of snapshots they resolve to."""

    def __init__(self, db: Database, settings: SettingsService, history: HistoryService) -> None:
        self.db = db
        self.settings = settings
        self.history = history
        self._pins: dict[tuple[str, str], _Cached] = {}
        self._as_of: OrderedDict[tuple[str, int], _AsOf] = OrderedDict()
        self._touch: set[tuple[str, str]] = set()
        self._toucher: asyncio.Task[None] | None = None

    # -- the chat path ---------------------------------------------------------------
    async def resolve(self, slug: str, overrides: dict[str, Any], conversation_id: str | None,
                      pin: str | None, *, write: bool = True) -> Resolved:
        """The snapshot a request of this conversation (and pin header) resolves at.
        ``write=False`` (a dry run: /prepare) reads pins but never creates or changes one."""
        if conversation_id is not None:
            check_id(conversation_id, "X-Conversation-Id")
        wanted = _parse_pin(pin)
        if wanted == LATEST:
            if conversation_id is not None and write:
                await self._store(slug, conversation_id, None)
            return Resolved(snapshot=self.settings.snapshot(slug, overrides), pinned=False)
        if isinstance(wanted, int):
            snap = await self._at(slug, wanted, overrides)  # checks it before it is stored
            if conversation_id is not None and write:
                await self._store(slug, conversation_id, wanted)
            return Resolved(snapshot=snap, pinned=True)
        assert conversation_id is not None
        row = await self._pin(slug, conversation_id, create=write)
        if row is None or row.revision is None:
            return Resolved(snapshot=self.settings.snapshot(slug, overrides), pinned=False)
        return Resolved(snapshot=await self._at(slug, row.revision, overrides), pinned=True)

    async def _pin(self, slug: str, conversation_id: str, *, create: bool = True) -> pins.PinRow | None:
        key = (slug, conversation_id)
        now = time.monotonic()
        idle = await self._idle()
        cached = self._pins.get(key)
        if cached is not None and now - cached.read_at < PIN_CACHE_SECONDS and \
                datetime.now(UTC) - cached.row.last_used_at < idle:
            if now - cached.touched_at >= TOUCH_SECONDS:
                cached.touched_at = now
                self._touch_soon(key)
            return cached.row
        wall = datetime.now(UTC)
        if not create:
            async with self.db.read() as conn:
                return await pins.live_pin(conn, slug, conversation_id, wall - idle)
        async with self.db.write() as conn:
            row = await pins.live_pin(conn, slug, conversation_id, wall - idle)
            if row is None:  # the first request (or the pin expired): pin what this request uses now
                row = await pins.pin_first(conn, slug, conversation_id, self.settings.snapshot(slug).revision,
                                           wall, wall - idle)
            elif (wall - row.last_used_at).total_seconds() >= TOUCH_SECONDS:
                await pins.touch(conn, [key], wall)
                row = msgspec.structs.replace(row, last_used_at=wall)
        self._pins[key] = _Cached(row=row, read_at=now, touched_at=now)
        return row

    async def _store(self, slug: str, conversation_id: str, revision: int | None) -> None:
        async with self.db.write() as conn:
            row = await pins.set_pin(conn, slug, conversation_id, revision, datetime.now(UTC))
        now = time.monotonic()
        self._pins[(slug, conversation_id)] = _Cached(row=row, read_at=now, touched_at=now)

    async def _at(self, slug: str, revision: int, overrides: dict[str, Any]) -> Snapshot:
        """The bot as of ``revision`` (cached), refused if replaced too long ago."""
        entry = self._as_of.get((slug, revision))
        if entry is None:
            head = self.settings.revision
            if revision > head:
                raise BadRequest(f"{PIN_HEADER}: revision {revision} is beyond the head revision {head}",
                                 [FieldError(key=PIN_HEADER, code="beyond_head", message=f"the head is {head}")])
            snap = await self.history.snapshot_at(slug, Point(revision=revision))
            entry = _AsOf(snapshot=snap, replaced_at=None)
            self._as_of[(slug, revision)] = entry
            if len(self._as_of) > AS_OF_CACHE:
                self._as_of.popitem(last=False)
        else:
            self._as_of.move_to_end((slug, revision))
        if entry.replaced_at is None and self.settings.revision > revision:
            async with self.db.read() as conn:
                entry.replaced_at = await pins.replaced_at(conn, slug, revision)
        if entry.replaced_at is not None:
            max_age = timedelta(seconds=self.settings.global_snapshot()["conversation_pin_max_age_seconds"])
            if datetime.now(UTC) - entry.replaced_at > max_age:
                raise Gone(f"settings revision {revision} of bot '{slug}' was replaced at "
                           f"{entry.replaced_at.isoformat()}, longer ago than conversation_pin_max_age_seconds "
                           f"({max_age.total_seconds():g} s): send {PIN_HEADER}: latest (or a newer "
                           "revision) to continue", [FieldError(key=PIN_HEADER, code="pin_too_old", message=(
                               f"revision {revision} is older than the retained history for pins"))],
                           revision=revision, replaced_at=entry.replaced_at.isoformat())
        if overrides:
            return entry.snapshot.with_overrides(validate_overrides(overrides, scopes.bot(slug))[0])
        return entry.snapshot

    async def _idle(self) -> timedelta:
        return timedelta(seconds=self.settings.global_snapshot()["conversation_pin_idle_seconds"])

    def _touch_soon(self, key: tuple[str, str]) -> None:
        self._touch.add(key)
        if self._toucher is None:
            self._toucher = asyncio.get_running_loop().create_task(self._write_touches())

    async def _write_touches(self) -> None:
        try:
            while self._touch:
                keys, self._touch = sorted(self._touch), set()
                try:
                    async with self.db.write() as conn:
                        await pins.touch(conn, keys, datetime.now(UTC))
                except Exception as exc:  # a lost touch only shortens a pin's life
                    log.warning("conversations.touch_failed", pins=len(keys), error=type(exc).__name__)
        finally:
            self._toucher = None

    async def settle(self) -> None:
        while self._toucher is not None:
            await asyncio.shield(self._toucher)

    # -- reading and housekeeping ------------------------------------------------------
    async def pins(self, conversation_id: str, bots: frozenset[str] | None = None) -> list[Pin]:
        """The live pins of a conversation (one per bot it talked to)."""
        check_id(conversation_id, "conversation_id")
        await self.settle()
        idle = await self._idle()
        async with self.db.read() as conn:
            rows = await pins.pins_of(conn, conversation_id)
        now = datetime.now(UTC)
        return [Pin(**msgspec.structs.asdict(r), expires_at=r.last_used_at + idle) for r in rows
                if r.last_used_at + idle > now and (bots is None or r.bot in bots)]

    async def expire(self) -> int:
        """Delete pins idle for longer than conversation_pin_idle_seconds."""
        idle = await self._idle()
        async with self.db.write() as conn:
            return await pins.delete_idle(conn, datetime.now(UTC) - idle)


def _parse_pin(text: str | None) -> int | str | None:
    if text is None:
        return None
    text = text.strip()
    if text.lower() == LATEST:
        return LATEST
    if text.isascii() and text.isdigit() and len(text) <= 18:
        return int(text)
    raise BadRequest(f"{PIN_HEADER} must be a revision number or 'latest', got {text[:40]!r}",
                     [FieldError(key=PIN_HEADER, code="invalid_pin", message="a revision number or 'latest'")])
