"""Recording forwarded chat requests without slowing them down.

The gateway hands each finished request to :meth:`ReplyRecorder.record` — an append
to a bounded in-memory queue, nothing else: no database call, no JSON parsing on the
request's path. One background task per process drains the queue while it has work
and writes everything waiting as one INSERT, at most one batch per 50 ms (a reader
of the log, or shutdown, makes it write at once); requests that finish meanwhile
make the next batch. Decoding the upstream's
answer (finish reason, token usage) happens there too.

Bounded: when the database is slower than the traffic for long enough to fill the
queue, further records are dropped and counted (``botsettings_replies_dropped``)
rather than holding memory or requests. A failed batch is logged and dropped: the
reply log is an observation of traffic, never a reason to fail it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog

from app import metrics
from app.domain.replies import Reply, ReplyLogMode, Usage
from app.pipeline.prepare import Prepared
from app.store import replies as store
from app.store.database import Database

log = structlog.get_logger("botsettings.replies")
QUEUE_LIMIT = 10_000
BATCH_LIMIT = 1_000
LINGER_SECONDS = 0.05  # how long the first record of a batch waits for others
STREAM_TAIL = 8_192  # bytes of a stream kept to read its last events (finish reason, usage)
CLIENT_GONE = 499  # the caller went away mid-stream (nginx's code)


class _Choice(msgspec.Struct):
    finish_reason: str | None = None


class _Completion(msgspec.Struct):
    """What the recorder reads of an answer or of a stream's chunk; the rest is skipped."""

    choices: list[_Choice] = []
    usage: Usage | None = None


class Forwarded(msgspec.Struct, kw_only=True):
    """One forwarded request as the gateway hands it over: cheap to make, turned into a
    :class:`Reply` by the background writer."""

    request_id: str
    prepared: Prepared
    at: float  # epoch seconds, when the request arrived
    started: float  # perf_counter at arrival
    conversation_id: str | None = None
    pinned: bool = False
    upstream_model: str | None = None
    body: bytes | None = None  # the request body, kept only in `full` mode (for its messages)
    replay_of: str | None = None
    status: int = 200
    upstream_status: int | None = None
    error: str | None = None
    latency_ms: float = 0.0
    answer: bytes = b""  # the upstream's JSON answer, or the tail of its stream
    streamed: bool = False


class ReplyRecorder:
    def __init__(self, db: Database, mode: ReplyLogMode = ReplyLogMode.META, *,
                 queue_limit: int = QUEUE_LIMIT) -> None:
        self.db = db
        self.mode = mode
        self.queue_limit = queue_limit
        self._queue: deque[Forwarded] = deque()
        self._task: asyncio.Task[None] | None = None
        self._hurry = asyncio.Event()  # a reader (or shutdown) waits: write without lingering
        self.dropped = 0
        self.written = 0

    @property
    def enabled(self) -> bool:
        return self.mode is not ReplyLogMode.OFF

    @property
    def keeps_messages(self) -> bool:
        return self.mode is ReplyLogMode.FULL

    def record(self, item: Forwarded) -> None:
        """Queue one finished request (O(1), no I/O)."""
        if not self.enabled:
            return
        if len(self._queue) >= self.queue_limit:
            self.dropped += 1
            metrics.REPLIES_DROPPED.inc()
            return
        self._queue.append(item)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drain())

    def completed(self, item: Forwarded, status: int, answer: bytes) -> None:
        item.status, item.answer = status, answer
        item.latency_ms = (time.perf_counter() - item.started) * 1000
        self.record(item)

    def failed(self, item: Forwarded, status: int, error: str, upstream_status: int | None) -> None:
        item.status, item.error, item.upstream_status = status, error, upstream_status
        item.latency_ms = (time.perf_counter() - item.started) * 1000
        self.record(item)

    async def tap(self, item: Forwarded, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """Pass a stream through unchanged, keeping its tail; record it when it ends."""
        tail = b""
        item.streamed = True
        try:
            async for chunk in chunks:
                tail = (tail + chunk)[-STREAM_TAIL:]
                yield chunk
        except BaseException:
            item.status, item.error = CLIENT_GONE, "the client went away before the stream ended"
            raise
        finally:
            if item.error is None and b'data: {"error"' in tail:
                item.status, item.error = 502, "the upstream stream broke off"
            item.answer = tail
            item.latency_ms = (time.perf_counter() - item.started) * 1000
            self.record(item)
            # Closed with this one (the caller gone): release the upstream's answer now, not at collection.
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()

    async def flush(self) -> None:
        """Wait until everything queued so far is written (tests, shutdown, read-your-writes)."""
        while self._task is not None:
            self._hurry.set()
            await asyncio.shield(self._task)

    async def _drain(self) -> None:
        try:
            while self._queue:
                if len(self._queue) < BATCH_LIMIT and not self._hurry.is_set():
                    # Let a batch gather: one transaction per LINGER_SECONDS at most, not one per request.
                    with contextlib.suppress(TimeoutError):  # asyncio.timeout: see app/store/listener.py
                        async with asyncio.timeout(LINGER_SECONDS):
                            await self._hurry.wait()
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), BATCH_LIMIT))]
                rows = [self._reply(item) for item in batch]
                try:
                    async with self.db.write() as conn:
                        await store.insert_replies(conn, rows)
                    self.written += len(rows)
                except Exception as exc:  # a lost batch (database down, …) never stops the next
                    self.dropped += len(rows)
                    metrics.REPLIES_DROPPED.inc(len(rows))
                    log.warning("replies.batch_lost", rows=len(rows), error=f"{type(exc).__name__}: {exc}")
        finally:
            self._task = None
            self._hurry.clear()

    def _reply(self, item: Forwarded) -> Reply:
        p = item.prepared
        prov = p.provenance
        finish, usage = _outcome(item.answer, item.streamed) if item.error is None else (None, None)
        messages = None
        if item.body is not None and self.keeps_messages:
            try:
                messages = msgspec.json.decode(item.body).get("messages")
            except (msgspec.DecodeError, AttributeError):
                messages = None
        return Reply(
            request_id=item.request_id, bot=p.bot, at=datetime.fromtimestamp(item.at, UTC), revision=p.revision,
            conversation_id=item.conversation_id, pinned=item.pinned,
            settings={k: [u.value, u.source] for k, u in prov.settings.items()},
            overrides=_overrides(p), params={k: v for k, v in p.request.items() if k != "messages"},
            model=prov.model, model_source=prov.model_source, upstream_model=item.upstream_model, stream=p.stream,
            status=item.status, upstream_status=item.upstream_status, error=item.error,
            latency_ms=round(item.latency_ms, 3), finish_reason=finish, usage=usage,
            context=msgspec.to_builtins(prov.context), messages=messages, replay_of=item.replay_of)


def _overrides(prepared: Prepared) -> dict[str, Any]:
    """key → {field, value} of each override; the value of a key the pipeline does not
    read is not in the provenance (and made no difference upstream): null."""
    prov = prepared.provenance
    return {k: {"field": f, "value": prov.settings[k].value if k in prov.settings else None}
            for k, f in prov.overrides.items()}


def _outcome(answer: bytes, streamed: bool) -> tuple[str | None, Usage | None]:
    """The finish reason and token usage of a JSON answer, or of the last stream events
    that carry them (usage comes in the final chunk when the caller asked for it)."""
    docs = [answer] if not streamed else [line[5:].strip() for line in answer.split(b"\n")
                                          if line.startswith(b"data:") and line[5:].strip().startswith(b"{")]
    finish: str | None = None
    usage: Usage | None = None
    for doc in docs:
        try:
            parsed = msgspec.json.decode(doc, type=_Completion)
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue
        for choice in parsed.choices:
            finish = choice.finish_reason or finish
        usage = parsed.usage or usage
    return finish, usage
