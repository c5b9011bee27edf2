"""RepliesService: the lineage of every reply the chat gateway forwarded — recorded
off the request path (app/services/reply_recorder.py), read back by request id or
page, summed up per bot, replayed at another point of the settings' history, and
kept within its retention.

A reply keeps the settings revision it used and the values the pipeline read, each
with its source; a replay resolves the same bot, with the same request overrides,
at another point (a revision, a time, or now) and says what the upstream request
would be and which values and sources differ. With the messages stored
(BOTSETTINGS_REPLY_LOG=full) the replay is the exact request and may be forwarded;
without them it is every part of the request but the messages.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from app.domain.errors import BadRequest, Conflict, FieldError, NotFound
from app.domain.history import Point
from app.domain.replies import (
    MAX_PAGE,
    SAFE_ID,
    BotFigures,
    Reply,
    ReplyFilter,
    ReplyPage,
    SettingChange,
    params_diff,
    settings_diff,
    status_matches,
)
from app.domain.resolution import Snapshot
from app.pipeline.prepare import USED_KEYS, Prepared, choose_model
from app.pipeline.request import ChatRequest
from app.services.chat import ChatService
from app.services.history import HistoryService
from app.services.reply_recorder import ReplyRecorder
from app.services.settings import SettingsService
from app.store import replies as store
from app.store.database import Database

# Body fields the pipeline sets from the settings; the rest of a stored body is what
# the request passed through.
_PIPELINE_FIELDS = frozenset({"model", "messages", "temperature", "top_p", "max_tokens", "stream"})


class Replay(msgspec.Struct, kw_only=True):
    request_id: str
    bot: str
    point: str  # "now", "revision N" or a time
    sent_revision: int
    revision: int  # the settings revision the replay resolved at
    messages_stored: bool
    request: dict[str, Any]  # the upstream request at that point (without messages unless stored)
    settings: dict[str, list[Any]]  # key → [value, source] at that point
    changed: list[SettingChange]  # values or sources that differ from what the reply used
    request_changed: dict[str, list[Any]]  # body field → [sent, replay] (messages aside)
    forwarded: bool = False
    reply_status: int | None = None
    reply: Any = None  # the upstream's answer, when forwarded


class RepliesService:
    """Owns: the reply log — recording (through the recorder), reading, per-bot
    figures, replay, and retention."""

    def __init__(self, db: Database, settings: SettingsService, history: HistoryService, chat: ChatService,
                 recorder: ReplyRecorder) -> None:
        self.db = db
        self.settings = settings
        self.history = history
        self.chat = chat
        self.recorder = recorder

    async def get(self, request_id: str) -> Reply:
        check_id(request_id, "request_id")
        await self.recorder.flush()  # this process's own replies are readable as soon as answered
        async with self.db.read() as conn:
            found = await store.reply(conn, request_id)
        if found is None:
            hint = "" if self.recorder.enabled else " (the reply log is off: BOTSETTINGS_REPLY_LOG=off)"
            raise NotFound(f"no reply with request id '{request_id}'{hint}", request_id=request_id)
        return found

    async def page(self, f: ReplyFilter, limit: int = 50, cursor: str | None = None) -> ReplyPage:
        if not 1 <= limit <= MAX_PAGE:
            raise BadRequest(f"limit must be between 1 and {MAX_PAGE}, got {limit}",
                             [FieldError(key="limit", code="invalid_limit", message=f"1…{MAX_PAGE}")])
        if f.status is not None:
            try:
                status_matches(f.status)
            except ValueError as exc:
                raise BadRequest(str(exc), [FieldError(key="status", code="invalid_status",
                                                       message=str(exc))]) from None
        below = None
        if cursor:
            if not (cursor.isascii() and cursor.isdigit()):
                raise BadRequest(f"cursor: {cursor!r} is not a cursor from a previous page",
                                 [FieldError(key="cursor", code="invalid_cursor", message=f"not a cursor: {cursor!r}")])
            below = int(cursor)
        await self.recorder.flush()
        async with self.db.read() as conn:
            rows, next_id = await store.replies_page(conn, f, limit, below)
        return ReplyPage(replies=rows, next_cursor=None if next_id is None else str(next_id))

    async def bot_figures(self, bots: list[str], since: datetime, until: datetime) -> dict[str, BotFigures]:
        """Per bot in [since, until): replies, errors, p95 latency, truncations."""
        async with self.db.read() as conn:
            return await store.bot_figures(conn, bots, since, until)

    async def prune(self, retention_days: float, max_rows: int) -> int:
        """Retention: drop replies older than ``retention_days``, then all but the newest ``max_rows``."""
        async with self.db.write() as conn:
            return await store.prune(conn, datetime.now(UTC) - timedelta(days=retention_days), max_rows)

    async def replay(self, request_id: str, point: Point | None, *, forward: bool = False
                     ) -> tuple[Replay, Prepared | None]:
        """What the same call would send at ``point`` (None: now), and what differs.
        The prepared request comes back too when the messages were stored (to forward)."""
        sent = await self.get(request_id)
        if forward and sent.messages is None:
            raise Conflict(f"reply '{request_id}' cannot be forwarded again: its messages were not stored "
                           "(BOTSETTINGS_REPLY_LOG=full keeps them); replay without \"forward\" to see the request",
                           [FieldError(key="forward", code="messages_not_stored",
                                       message="the messages of this reply were not stored")])
        overrides = {k: o["value"] for k, o in sent.overrides.items()
                     if isinstance(o, dict) and o.get("value") is not None}
        snapshot = (self.settings.snapshot(sent.bot, overrides) if point is None
                    else await self.history.snapshot_at(sent.bot, point, overrides))
        passthrough = {k: v for k, v in sent.params.items() if k not in _PIPELINE_FIELDS}
        prepared = None
        if sent.messages is not None:
            request, _ = self.chat.parse({"model": sent.bot, "messages": sent.messages, "stream": sent.stream,
                                          "upstream_model": sent.upstream_model, **passthrough}, bot=sent.bot)
            prepared = self.chat.prepare_parsed(request, snapshot, now=sent.at.timestamp())
            body = prepared.request
        else:
            body = self._body_without_messages(sent, snapshot, passthrough)
        used = {k: [snapshot[k], snapshot.source(k).value] for k in USED_KEYS}
        replay = Replay(request_id=sent.request_id, bot=sent.bot, point="now" if point is None else str(point),
                        sent_revision=sent.revision, revision=snapshot.revision,
                        messages_stored=sent.messages is not None, request=body, settings=used,
                        changed=settings_diff(sent.settings, used), request_changed=params_diff(sent.params, body))
        return replay, prepared

    def _body_without_messages(self, sent: Reply, snapshot: Snapshot, passthrough: dict[str, Any]) -> dict[str, Any]:
        probe = ChatRequest(bot=sent.bot, messages=(), overrides={}, override_fields={},
                            upstream_model=sent.upstream_model, stream=sent.stream, passthrough={})
        model, _ = choose_model(probe, snapshot, self.chat.allowed_models)
        body: dict[str, Any] = {"model": model, "temperature": snapshot["temperature"], "top_p": snapshot["top_p"],
                                "max_tokens": snapshot["max_output_tokens"], **passthrough}
        if sent.stream:
            body["stream"] = True
        return body


def check_id(value: str, name: str) -> str:
    """A request or conversation id: bounded and of safe characters, else a 400 naming it."""
    if not SAFE_ID.fullmatch(value):
        raise BadRequest(f"{name} must be 1–128 characters of letters, digits and . _ : - (got {len(value)} "
                         "characters)", [FieldError(key=name, code="invalid_id",
                                                    message="1–128 of A–Z a–z 0–9 . _ : -")])
    return value
