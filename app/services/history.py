"""HistoryService: the log read back — audit pages, changes, past states, diffs — and
the two ways of going back: rollback to a point and revert of one change. Both go
back by appending a new change through SettingsService.apply: the log is never edited."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from app.domain import scopes
from app.domain.audit import (
    ChangeDetail,
    ChangeEntry,
    ChangeInfo,
    ChangeLogPage,
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
from app.domain.errors import BadRequest, Conflict, FieldError, NotFound, ValidationFailed
from app.domain.events import ChangeRequest, Event, Expectations, Source
from app.domain.history import Point, RestorePlan, State, revert_plan, rollback_plan, state_to_json
from app.domain.history import diff as diff_states
from app.domain.registry import REGISTRY, canonical_key
from app.domain.resolution import LayerValues, Snapshot, build_snapshot, validate_overrides
from app.domain.scopes import Scope
from app.services.settings import SettingsService
from app.services.snapshots import Snapshots
from app.store import change_log, history, reader, safe_change, writer
from app.store.database import Connection, Database
from app.store.writer import InTransaction

MAX_PAGE = 1000


class HistoryService:
    """Owns: history and change pages, one change's detail, the stored state and a bot's
    effective settings at a past point, diffs between points, rollback, revert, and
    the whole-state snapshots that keep past reads fast."""

    def __init__(self, db: Database, settings: SettingsService, snapshots: Snapshots) -> None:
        self._db = db
        self._settings = settings
        self._snapshots = snapshots

    async def history(self, f: EventFilter, limit: int = 50, cursor: str | None = None) -> HistoryPage:
        """Events matching ``f``, newest first; ``next_cursor`` continues below the page."""
        limit, below = _page(limit), parse_cursor(cursor)
        if f.key is not None:
            f = msgspec.structs.replace(f, key=canonical_key(f.key)[0])
        async with self._db.snapshot() as conn:
            events = await history.events_page(conn, f, limit, below)
            at = await reader.head(conn)
        return HistoryPage(events=[audit_event(e) for e in events], head=at,
                           next_cursor=str(events[-1].revision) if len(events) == limit else None)

    async def changes(self, f: EventFilter, limit: int = 50, cursor: str | None = None) -> ChangesPage:
        limit, below = _page(limit), parse_cursor(cursor)
        async with self._db.snapshot() as conn:
            changes = await history.changes_page(conn, f, limit, below)
            at = await reader.head(conn)
        return ChangesPage(changes=changes, head=at,
                           next_cursor=str(changes[-1].first_revision) if len(changes) == limit else None)

    async def change_log(self, f: EventFilter, limit: int = 25, cursor: str | None = None,
                         per_change: int = 20) -> ChangeLogPage:
        """Changes matching ``f``, newest first, each with its scopes, its first
        ``per_change`` events, and its change request and guard (the history page)."""
        limit, below = _page(limit), parse_cursor(cursor)
        if f.key is not None:
            f = msgspec.structs.replace(f, key=canonical_key(f.key)[0])
        async with self._db.snapshot() as conn:
            changes = await history.changes_page(conn, f, limit, below)
            found = await change_log.details(conn, changes, per_change)
            at = await reader.head(conn)
        entries = [ChangeEntry(change=c, scopes=found.scopes.get(c.id, []),
                               events=[audit_event(e) for e in found.events.get(c.id, [])],
                               more=max(0, c.event_count - per_change), approval=found.approvals.get(c.id),
                               guard=found.guards.get(c.id)) for c in changes]
        return ChangeLogPage(entries=entries, head=at,
                             next_cursor=str(changes[-1].first_revision) if len(changes) == limit else None)

    async def change(self, change_id: str) -> ChangeDetail:
        async with self._db.snapshot() as conn:
            info, events = await _change_with_events(conn, parse_change_id(change_id))
            approval, guard = await safe_change.of_change(conn, info.id)
        return ChangeDetail(change=info, events=[audit_event(e) for e in events], approval=approval, guard=guard)

    async def state_at(self, point: Point, scope: Scope | None = None) -> PastState:
        """Stored values at a past point: one scope's, or every scope's."""
        async with self._db.snapshot() as conn:
            at = await reader.head(conn)
            revision = await _revision_of(conn, point, at)
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
        async with self._db.snapshot() as conn:
            revision = await _revision_of(conn, point, await reader.head(conn))
            bot_values = await history.scope_state_at(conn, target, revision)
            global_values = await history.scope_state_at(conn, scopes.GLOBAL, revision)
        config = self._settings.bots_config
        if slug not in config.bots and not bot_values:
            raise NotFound(f"unknown bot '{slug}' at revision {revision}: neither in bots.yaml nor in the database",
                           bot=slug)
        snap = build_snapshot(slug, revision, LayerValues(bot=bot_values, global_=global_values,
                                                          yaml=config.layer_for(slug), env=self._settings.env_layer))
        if overrides:
            return snap.with_overrides(validate_overrides(overrides, target)[0])
        return snap

    async def diff(self, start: Point, end: Point, scope: Scope | None = None) -> DiffResult:
        async with self._db.snapshot() as conn:
            at = await reader.head(conn)
            r1, r2 = await _revision_of(conn, start, at), await _revision_of(conn, end, at)
            s1, s2 = await _state(conn, r1, at, scope), await _state(conn, r2, at, scope)
        return DiffResult(from_revision=r1, to_revision=r2, scope=str(scope) if scope else None,
                          items=diff_states(s1, s2, scope))

    async def rollback(self, to: Point, *, scope: Scope | None = None, keys: list[str] | None = None,
                       dry_run: bool = False, actor: str, reason: str = "") -> RestoreResult:
        """Append one change (source rollback) restoring the values at ``to``: sets and
        deletes alike, in ``scope`` (default: every scope), for ``keys`` (default: all)."""
        wanted = _known_keys(keys) if keys is not None else None
        for _ in range(3):  # a write landing between the plan and the change: plan again
            async with self._db.snapshot() as conn:
                at = await reader.head(conn)
                revision = await _revision_of(conn, to, at)
                current = await _state(conn, at, at, scope) if scope else await reader.current_state(conn)
                plan = rollback_plan(current, await _state(conn, revision, at, scope), scope, wanted)
                expect = await _expect(conn, plan)
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
                     reason: str = "", source: Source = Source.REVERT,
                     in_transaction: InTransaction | None = None) -> RestoreResult:
        """Append one change (source revert) restoring the values a change replaced.
        Refused with a conflict naming the keys a later change touched, unless ``force``."""
        cid = parse_change_id(change_id)
        async with self._db.snapshot() as conn:
            info, events = await _change_with_events(conn, cid)
            keys = list(dict.fromkeys((e.scope, e.key) for e in events))
            touched = await history.touched_after(conn, keys, info.last_revision)
            current: State = {s: await history.scope_state_at(conn, s, await reader.head(conn))
                              for s in dict.fromkeys(s for s, _ in keys)}
            plan = revert_plan(events, current, touched, force=force)
            expect = await _expect(conn, plan)
        text = f"revert of change {cid} (revisions {info.first_revision}…{info.last_revision})" + (
            f": {reason}" if reason else "")
        return await self._restore(plan, f"change {cid}", None, dry_run, ChangeRequest(
            ops=plan.ops, actor=actor, reason=text, source=source, reverts=cid, expect=expect), in_transaction)

    async def _restore(self, plan: RestorePlan, target: str, revision: int | None, dry_run: bool,
                       request: ChangeRequest, in_transaction: InTransaction | None = None) -> RestoreResult:
        change = None if dry_run or not plan.ops else await self._settings.apply(request,
                                                                                in_transaction=in_transaction)
        refusal = self._settings.model_problems(plan.ops) if dry_run and plan.ops else None
        return RestoreResult(target=target, target_revision=revision, dry_run=dry_run, diff=plan.diff,
                             skipped=plan.skipped, change=change, model_problems=refusal.errors if refusal else [])

    @property
    def snapshot_every(self) -> int:
        return self._snapshots.every

    async def snapshot_if_due(self) -> int | None:
        """Write a whole-state snapshot if one is due (see app/services/snapshots.py)."""
        return await self._snapshots.write_if_due()


async def _change_with_events(conn: Connection, cid: UUID) -> tuple[ChangeInfo, list[Event]]:
    info = await history.change(conn, cid)
    if info is None:
        raise NotFound(f"no change with id {cid}", change_id=str(cid))
    return info, await history.change_events(conn, info)


async def _revision_of(conn: Connection, point: Point, head: int) -> int:
    if point.revision is not None:
        if point.revision > head:
            raise BadRequest(f"revision {point.revision} is beyond the head revision {head}",
                             [FieldError(key="revision", code="beyond_head", message=f"the head is {head}")],
                             head=head)
        return point.revision
    assert point.time is not None
    revision = await history.revision_at(conn, point.time)
    if revision is None:
        first = await history.first_event_time(conn)
        detail = f"the first event was recorded at {first.isoformat()}" if first else "the log is empty"
        raise BadRequest(f"{point} is before the first event: {detail}",
                         [FieldError(key="as_of", code="before_first_event", message=detail)])
    return revision


async def _state(conn: Connection, revision: int, at: int, scope: Scope | None) -> State:
    if scope is None:
        return await history.whole_state_at(conn, revision, at)
    return {scope: await history.scope_state_at(conn, scope, revision)}


async def _expect(conn: Connection, plan: RestorePlan) -> Expectations:
    # The plan was read in one snapshot; if a touched scope moves before the change
    # commits, the writer refuses it (invariant 6) rather than restore a stale plan.
    touched = list(dict.fromkeys(op.scope for op in plan.ops))
    return Expectations(scope_revisions=await writer.scope_revisions_of(conn, touched) if touched else {})


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
