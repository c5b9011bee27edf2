"""The one service layer: the API, the CLI, the scheduler and the pipeline call this.

It validates (pure domain code), calls the store, and logs each change once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from app import metrics
from app.domain import feed, scopes
from app.domain.audit import (
    ChangeDetail,
    ChangesPage,
    DiffResult,
    EventFilter,
    HistoryPage,
    PastState,
    RestoreResult,
    audit_event,
    parse_change_id,
    parse_cursor,
)
from app.domain.bots_yaml import BotsConfig
from app.domain.errors import BadRequest, Conflict, FieldError, NotFound, ValidationFailed
from app.domain.events import (
    AppliedChange,
    ChangeRequest,
    ChangeResult,
    Expectations,
    ItemResult,
    Operation,
    Source,
    delete_op,
    normalize_request,
    set_op,
)
from app.domain.history import Point, RestorePlan, State, revert_plan, rollback_plan, state_to_json
from app.domain.history import diff as diff_states
from app.domain.registry import REGISTRY, canonical_key, lookup_writable
from app.domain.resolution import LayerReading, LayerValues, Snapshot, build_snapshot, validate_overrides
from app.domain.scopes import Scope
from app.resolver import Resolver
from app.store import feed_reads, history, reader, writer
from app.store.errors import unavailable_on_connection_loss
from app.store.listener import Listener, catch_up

log = structlog.get_logger("botsettings.service")
DEFAULT_SNAPSHOT_EVERY = 10_000
MAX_PAGE = 1000


# A whole-platform import touches thousands of keys; its log line names the first few
# and counts the rest (the log table has them all).
LOGGED_KEYS = 20


def _logged_keys(items: list[ItemResult]) -> dict[str, Any]:
    keys = [f"{i.scope}:{i.key}" for i in items[:LOGGED_KEYS]]
    return {"keys": keys, "key_count": len(items)} if len(items) > LOGGED_KEYS else {"keys": keys}


class ScopeView(msgspec.Struct, frozen=True, kw_only=True):
    scope: str
    revision: int  # the scope's last event
    head: int
    values: list[reader.StoredValue]


class KeyView(msgspec.Struct, frozen=True, kw_only=True):
    scope: str
    key: str
    present: bool
    value: Any
    key_version: int
    head: int


class BotSummary(msgspec.Struct, frozen=True, kw_only=True):
    slug: str
    name: str
    description: str
    default_model: str | None
    in_yaml: bool
    overrides: int  # keys stored in the bot's own scope
    default: bool


class SettingsService:
    def __init__(self, engine: AsyncEngine, resolver: Resolver | None = None, *,
                 snapshot_every: int = DEFAULT_SNAPSHOT_EVERY) -> None:
        self.engine = engine
        self.resolver = resolver or Resolver(BotsConfig(), {})
        self.listener: Listener | None = None  # set by the runtime when the process listens
        self.snapshot_every = snapshot_every
        self._last_snapshot: int | None = None  # revision of the newest snapshot this process knows of

    # -- writes ---------------------------------------------------------------
    async def apply(self, request: ChangeRequest, *,
                    in_transaction: writer.InTransaction | None = None) -> ChangeResult:
        """Apply a change: validate every op, then one transaction (DESIGN.md invariants).
        ``in_transaction`` runs last inside that transaction (the scheduler claims a
        scheduled change there, so the claim and the change commit together)."""
        if not request.ops:
            raise ValidationFailed([FieldError(key="ops", message="a change needs at least one operation")])
        ops, warnings = normalize_request(request)
        started = time.perf_counter()
        async with unavailable_on_connection_loss():
            result = await writer.apply_change(self.engine, request, ops, in_transaction)
        metrics.CHANGE_SECONDS.observe(time.perf_counter() - started)
        metrics.CHANGES.labels(request.source.value, "applied" if result.changed else "noop").inc()
        if warnings:
            result = msgspec.structs.replace(result, warnings=warnings)
        if result.changed:
            await self.refresh()  # read-your-writes in this process, before the NOTIFY lands
            log.info("change.applied", change_id=str(result.change_id),
                     revisions=(result.first_revision, result.last_revision), actor=request.actor,
                     source=request.source.value, **_logged_keys([i for i in result.items if i.changed]))
            await self._snapshot_after(result.head)
        else:
            log.info("change.noop", actor=request.actor, **_logged_keys(result.items))
        return result

    async def patch(self, scope: Scope, patch: dict[str, Any], *, actor: str, reason: str = "",
                    source: Source = Source.API, expect_revision: int | None = None) -> ChangeResult:
        """JSON merge-patch (RFC 7396) of one scope: ``null`` deletes a key (it inherits
        again), anything else sets it. A nullable key is set to null with ``set_value``."""
        ops: list[Operation] = [delete_op(scope, k) if v is None else set_op(scope, k, v)
                                for k, v in patch.items()]
        expect = Expectations(scope_revisions={scope: expect_revision} if expect_revision is not None else {})
        return await self.apply(ChangeRequest(ops=ops, actor=actor, reason=reason, source=source, expect=expect))

    async def set_value(self, scope: Scope, key: str, value: Any, *, actor: str, reason: str = "",
                        source: Source = Source.API, expect_version: int | None = None) -> ChangeResult:
        return await self._one(set_op(scope, key, value), actor, reason, source, expect_version)

    async def delete_value(self, scope: Scope, key: str, *, actor: str, reason: str = "",
                           source: Source = Source.API, expect_version: int | None = None) -> ChangeResult:
        return await self._one(delete_op(scope, key), actor, reason, source, expect_version)

    async def _one(self, op: Operation, actor: str, reason: str, source: Source,
                   expect_version: int | None) -> ChangeResult:
        key, _ = canonical_key(op.key)
        expect = Expectations(key_versions={(op.scope, key): expect_version} if expect_version is not None else {})
        return await self.apply(ChangeRequest(ops=[op], actor=actor, reason=reason, source=source, expect=expect))

    # -- reads ----------------------------------------------------------------
    async def scope_view(self, scope: Scope) -> ScopeView:
        async with unavailable_on_connection_loss(), self.engine.connect() as conn:
            return ScopeView(scope=str(scope), revision=await reader.scope_revision(conn, scope),
                             head=await reader.head(conn), values=await reader.scope_values(conn, scope))

    async def key_view(self, scope: Scope, key: str) -> KeyView:
        key, _ = canonical_key(key)
        lookup_writable(key, scope)
        async with unavailable_on_connection_loss(), self.engine.connect() as conn:
            stored = await reader.stored_value(conn, scope, key)
            version = await reader.key_version(conn, scope, key)
            at = await reader.head(conn)
        return KeyView(scope=str(scope), key=key, present=stored is not None,
                       value=stored.value if stored else None, key_version=version, head=at)

    async def head(self) -> int:
        async with unavailable_on_connection_loss(), self.engine.connect() as conn:
            return await reader.head(conn)

    # -- resolution -------------------------------------------------------------
    async def refresh(self) -> None:
        """Bring the in-memory state up to the database's head."""
        if self.listener is not None:
            await self.listener.refresh()
        else:
            async with unavailable_on_connection_loss():
                await catch_up(self.engine, self.resolver)

    def snapshot(self, slug: str, overrides: dict[str, Any] | None = None) -> Snapshot:
        """Every key of a bot at one revision, each with its source. No I/O."""
        scopes.check_slug(slug)
        return self.resolver.snapshot(slug, overrides)

    def explain(self, slug: str | None, key: str, overrides: dict[str, Any] | None = None) -> list[LayerReading]:
        if slug is not None:
            scopes.check_slug(slug)
        return self.resolver.explain(slug, canonical_key(key)[0], overrides)

    def bots(self) -> list[BotSummary]:
        resolver = self.resolver
        summaries = []
        for slug in resolver.known_bots():
            snap = resolver.snapshot(slug)
            summaries.append(BotSummary(
                slug=slug, name=snap["name"], description=snap["description"],
                default_model=snap["default_model"], in_yaml=slug in resolver.bots_config.bots,
                overrides=len(resolver.stored(scopes.bot(slug))), default=slug == resolver.bots_config.default_bot))
        return summaries

    async def changes_between(self, after: int, upto: int, limit: int = 1000) -> list[AppliedChange]:
        async with unavailable_on_connection_loss(), self.engine.connect() as conn:
            return await reader.changes_between(conn, after, upto, limit)

    # -- following the settings: the bootstrap document and /v1/watch -------------
    @property
    def revision(self) -> int:
        """The revision this process's in-memory state has reached."""
        return self.resolver.revision

    def subscribe(self, subscriber: Callable[[AppliedChange], None]) -> Callable[[], None]:
        """Call ``subscriber`` with each change this process applies, in order; returns the unsubscribe."""
        return self.resolver.subscribe(subscriber)

    async def changes_with_events(self, after: int, upto: int) -> list[AppliedChange]:
        """The changes in (after, upto], each carrying its events with their values."""
        async with unavailable_on_connection_loss(), self.engine.connect() as conn:
            return feed.group_changes(await reader.events_between(conn, after, upto))

    async def bootstrap(self, bots: list[str] | None, allowed: frozenset[str] | None = None) -> feed.Bootstrap:
        """Effective settings of ``bots`` (None: every bot ``allowed``, None: all) at one
        revision, read in one snapshot, each value with its source and the revision that wrote it."""
        for slug in bots or []:
            scopes.check_slug(slug)
        async with unavailable_on_connection_loss(), self.engine.connect() as conn:
            at, stored = await feed_reads.stored_layers(conn, bots)
        config = self.resolver.bots_config
        known = feed.known_bots(stored, config.bots)
        if bots is None:
            chosen = sorted(b for b in known if allowed is None or b in allowed)
        else:
            if missing := [b for b in bots if b not in known]:
                raise NotFound(f"unknown bot '{missing[0]}': it is neither in bots.yaml nor in the database "
                               f"at revision {at}", bot=missing[0])
            chosen = list(dict.fromkeys(bots))
        return feed.bootstrap(at, stored, chosen, config.layer_for, self.resolver.env)

    # -- integrity ------------------------------------------------------------
    async def verify(self) -> reader.VerifyReport:
        async with unavailable_on_connection_loss(), self.engine.connect() as conn:
            report = await reader.verify(conn)
        log.info("projection.verified", ok=report.ok, head=report.head, drift=len(report.drift),
                 log_problems=report.log_problems)
        return report

    async def rebuild(self) -> int:
        async with unavailable_on_connection_loss(), self.engine.begin() as conn:
            keys = await reader.rebuild(conn)
        log.info("projection.rebuilt", keys=keys)
        return keys


    # -- history: audit, point-in-time reads, diff, rollback, revert ------------------
    async def history(self, f: EventFilter, limit: int = 50, cursor: str | None = None) -> HistoryPage:
        """Events matching ``f``, newest first; ``next_cursor`` continues below the page."""
        limit, below = _page(limit), parse_cursor(cursor)
        if f.key is not None:
            f = msgspec.structs.replace(f, key=canonical_key(f.key)[0])
        async with unavailable_on_connection_loss(), self.engine.connect() as conn:
            events = await history.events_page(conn, f, limit, below)
            at = await reader.head(conn)
        return HistoryPage(events=[audit_event(e) for e in events], head=at,
                           next_cursor=str(events[-1].revision) if len(events) == limit else None)

    async def changes(self, f: EventFilter, limit: int = 50, cursor: str | None = None) -> ChangesPage:
        limit, below = _page(limit), parse_cursor(cursor)
        async with unavailable_on_connection_loss(), self.engine.connect() as conn:
            changes = await history.changes_page(conn, f, limit, below)
            at = await reader.head(conn)
        return ChangesPage(changes=changes, head=at,
                           next_cursor=str(changes[-1].first_revision) if len(changes) == limit else None)

    async def change(self, change_id: str) -> ChangeDetail:
        cid = parse_change_id(change_id)
        async with unavailable_on_connection_loss(), self.engine.connect() as conn:
            info = await history.change(conn, cid)
            if info is None:
                raise NotFound(f"no change with id {cid}", change_id=str(cid))
            events = await history.change_events(conn, info)
        return ChangeDetail(change=info, events=[audit_event(e) for e in events])

    async def _revision_of(self, conn: Any, point: Point, head: int) -> int:
        if point.revision is not None:
            if point.revision > head:
                raise BadRequest(f"revision {point.revision} is beyond the head revision {head}",
                                 [FieldError(key="revision", code="beyond_head",
                                             message=f"the head is {head}")], head=head)
            return point.revision
        assert point.time is not None
        revision = await history.revision_at(conn, point.time)
        if revision is None:
            first = await history.first_event_time(conn)
            detail = f"the first event was recorded at {first.isoformat()}" if first else "the log is empty"
            raise BadRequest(f"{point} is before the first event: {detail}",
                             [FieldError(key="as_of", code="before_first_event", message=detail)])
        return revision

    async def state_at(self, point: Point, scope: Scope | None = None) -> PastState:
        """Stored values at a past point: one scope's, or every scope's."""
        async with unavailable_on_connection_loss(), self.engine.connect() as conn:
            await history.repeatable_read(conn)
            at = await reader.head(conn)
            revision = await self._revision_of(conn, point, at)
            if scope is not None:
                values = await history.scope_state_at(conn, scope, revision)
                doc = {str(scope): values}
            else:
                doc = state_to_json(await history.whole_state_at(conn, revision, at))
            when = await history.revision_time(conn, revision) if revision else None
        return PastState(revision=revision, recorded_at=when, head=at, scope=str(scope) if scope else None,
                         scopes=doc)

    async def snapshot_at(self, slug: str, point: Point, overrides: dict[str, Any] | None = None) -> Snapshot:
        """A bot's effective settings at a past point. Only the database layers are
        versioned: bots.yaml and the environment are today's (they are not in the log)."""
        target = scopes.bot(slug)
        async with unavailable_on_connection_loss(), self.engine.connect() as conn:
            await history.repeatable_read(conn)
            revision = await self._revision_of(conn, point, await reader.head(conn))
            bot_values = await history.scope_state_at(conn, target, revision)
            global_values = await history.scope_state_at(conn, scopes.GLOBAL, revision)
        config = self.resolver.bots_config
        if slug not in config.bots and not bot_values:
            raise NotFound(f"unknown bot '{slug}' at revision {revision}: neither in bots.yaml nor in the database",
                           bot=slug)
        snap = build_snapshot(slug, revision, LayerValues(bot=bot_values, global_=global_values,
                                                          yaml=config.layer_for(slug), env=self.resolver.env))
        if overrides:
            return snap.with_overrides(validate_overrides(overrides, target)[0])
        return snap

    async def diff(self, start: Point, end: Point, scope: Scope | None = None) -> DiffResult:
        async with unavailable_on_connection_loss(), self.engine.connect() as conn:
            await history.repeatable_read(conn)
            at = await reader.head(conn)
            r1, r2 = await self._revision_of(conn, start, at), await self._revision_of(conn, end, at)
            s1, s2 = await self._state(conn, r1, at, scope), await self._state(conn, r2, at, scope)
        return DiffResult(from_revision=r1, to_revision=r2, scope=str(scope) if scope else None,
                          items=diff_states(s1, s2, scope))

    async def _state(self, conn: Any, revision: int, at: int, scope: Scope | None) -> State:
        if scope is None:
            return await history.whole_state_at(conn, revision, at)
        return {scope: await history.scope_state_at(conn, scope, revision)}

    async def rollback(self, to: Point, *, scope: Scope | None = None, keys: list[str] | None = None,
                       dry_run: bool = False, actor: str, reason: str = "") -> RestoreResult:
        """Append one change (source rollback) restoring the values at ``to``: sets and
        deletes alike, in ``scope`` (default: every scope), for ``keys`` (default: all)."""
        wanted = _known_keys(keys) if keys is not None else None
        for _ in range(3):  # a write landing between the plan and the change: plan again
            async with unavailable_on_connection_loss(), self.engine.connect() as conn:
                await history.repeatable_read(conn)
                at = await reader.head(conn)
                revision = await self._revision_of(conn, to, at)
                current = await self._state(conn, at, at, scope) if scope else await reader.current_state(conn)
                plan = rollback_plan(current, await self._state(conn, revision, at, scope), scope, wanted)
                expect = await self._expect(conn, plan)
            target = f"revision {revision}" + (f" ({to})" if to.time is not None else "")
            what = f"rollback of {scope or 'all scopes'}" + (f" ({', '.join(wanted)})" if wanted else "")
            text = f"{what} to {target}" + (f": {reason}" if reason else "")
            try:
                return await self._restore(plan, target, revision, dry_run, ChangeRequest(
                    ops=plan.ops, actor=actor, reason=text, source=Source.ROLLBACK, rollback_to=revision,
                    expect=expect))
            except Conflict:
                continue
        raise Conflict("the settings kept changing while the rollback was planned; retry")

    async def revert(self, change_id: str, *, force: bool = False, dry_run: bool = False, actor: str,
                     reason: str = "") -> RestoreResult:
        """Append one change (source revert) restoring the values a change replaced.
        Refused with a conflict naming the keys a later change touched, unless ``force``."""
        cid = parse_change_id(change_id)
        async with unavailable_on_connection_loss(), self.engine.connect() as conn:
            await history.repeatable_read(conn)
            info = await history.change(conn, cid)
            if info is None:
                raise NotFound(f"no change with id {cid}", change_id=str(cid))
            events = await history.change_events(conn, info)
            keys = list(dict.fromkeys((e.scope, e.key) for e in events))
            touched = await history.touched_after(conn, keys, info.last_revision)
            current: State = {s: await history.scope_state_at(conn, s, await reader.head(conn))
                              for s in dict.fromkeys(s for s, _ in keys)}
            plan = revert_plan(events, current, touched, force=force)
            expect = await self._expect(conn, plan)
        text = f"revert of change {cid} (revisions {info.first_revision}…{info.last_revision})" + (
            f": {reason}" if reason else "")
        return await self._restore(plan, f"change {cid}", None, dry_run, ChangeRequest(
            ops=plan.ops, actor=actor, reason=text, source=Source.REVERT, reverts=cid, expect=expect))

    async def _expect(self, conn: Any, plan: RestorePlan) -> Expectations:
        # The plan was read in one snapshot; if a touched scope moves before the change
        # commits, the writer refuses it (invariant 6) rather than restore a stale plan.
        touched = list(dict.fromkeys(op.scope for op in plan.ops))
        return Expectations(scope_revisions=await writer.scope_revisions_of(conn, touched) if touched else {})

    async def _restore(self, plan: RestorePlan, target: str, revision: int | None, dry_run: bool,
                       request: ChangeRequest) -> RestoreResult:
        change = None if dry_run or not plan.ops else await self.apply(request)
        return RestoreResult(target=target, target_revision=revision, dry_run=dry_run, diff=plan.diff,
                             skipped=plan.skipped, change=change)

    # -- snapshots ---------------------------------------------------------------------
    async def snapshot_if_due(self) -> int | None:
        """Write a whole-state snapshot at the head when it is ``snapshot_every`` revisions
        or more past the last one; returns its revision, or None if none was due."""
        async with unavailable_on_connection_loss(), self.engine.begin() as conn:
            await history.repeatable_read(conn)
            if not await history.try_snapshot_lock(conn):
                return None  # another process is writing one
            at = await reader.head(conn)
            last = await history.last_snapshot_revision(conn)
            if self.snapshot_every <= 0 or at - last < self.snapshot_every:
                self._last_snapshot = last
                return None
            started = time.perf_counter()
            # Built from the previous snapshot and the log, not the projection: a
            # snapshot must be as trustworthy as the log it stands for.
            await history.write_snapshot(conn, at, await history.whole_state_at(conn, at, at, use_projection=False))
        self._last_snapshot = at
        log.info("snapshot.written", revision=at, previous=last, seconds=round(time.perf_counter() - started, 3))
        return at

    async def _snapshot_after(self, at: int) -> None:
        # Called after each applied change; costs a query only once per process and then
        # once per snapshot_every revisions. A failure here never fails the change.
        if self.snapshot_every <= 0:
            return
        try:
            if self._last_snapshot is None:
                async with self.engine.connect() as conn:
                    self._last_snapshot = await history.last_snapshot_revision(conn)
            if at - self._last_snapshot >= self.snapshot_every:
                await self.snapshot_if_due()
        except Exception:
            log.exception("snapshot.failed", head=at)


def _page(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit must be between 1 and {MAX_PAGE}, got {limit}",
                         [FieldError(key="limit", code="invalid_limit", message=f"1…{MAX_PAGE}")])
    return limit


def _known_keys(keys: list[str]) -> list[str]:
    chosen = [canonical_key(k)[0] for k in keys]
    unknown = [k for k in chosen if k not in REGISTRY]
    if unknown:
        raise ValidationFailed([FieldError(key=k, code="unknown_key", message=f"unknown setting '{k}'")
                                for k in unknown])
    return chosen
