"""GuardsService: changes applied with a guard, and the leader's evaluation of them.

A guarded change (``?guard=15m`` on PATCH/PUT, ``"guard": "15m"`` in a change
request) registers its guard inside its own transaction. For the window after it,
the scheduler's leader compares the affected bots' figures in the reply log with the
same bots' figures in the same span before the change (app/domain/guards.py). When
one worsens past its threshold the change is reverted (source ``guard``, the figures
in the reason) and the guard marked ``reverted`` in the revert's own transaction;
when the window ends without that, ``passed``; a later change to the same keys ends
it (``ended``) without a revert. The state is in the database, so a restart or a new
leader continues where the last one stopped."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog

from app.domain import scopes
from app.domain.errors import BotSettingsError, Conflict
from app.domain.events import ChangeRequest, ChangeResult, Expectations, Operation, Source, delete_op, set_op
from app.domain.guards import Thresholds, judge, revert_reason
from app.domain.registry import canonical_key
from app.domain.scopes import Scope, parse_scope
from app.services.history import HistoryService
from app.services.settings import SettingsService
from app.store import guards as store
from app.store import history as history_store
from app.store import replies as reply_store
from app.store.database import Connection, Database

log = structlog.get_logger("botsettings.guards")
GUARD_ACTOR = "guard"


class GuardsService:
    """Owns: guarded writes, the guards' records, and their evaluation (leader only)."""

    def __init__(self, db: Database, settings: SettingsService, history: HistoryService,
                 thresholds: Thresholds | None = None) -> None:
        self._db = db
        self.settings = settings
        self.history = history
        self.thresholds = thresholds or Thresholds()

    # -- starting a guard: inside the guarded change's transaction ------------------------
    async def start(self, conn: Connection, result: ChangeResult, window_seconds: float, actor: str) -> None:
        if result.change_id is None or result.first_revision is None or result.last_revision is None:
            return  # nothing changed: nothing to watch
        changed = [i for i in result.items if i.changed]
        touched = [parse_scope(i.scope) for i in changed]
        # The global scope reaches every bot.
        bots = self.settings.known_bots() if any(s.is_global for s in touched) else sorted({s.id for s in touched})
        await store.insert(conn, change_id=result.change_id, bots=sorted(bots),
                           keys=[[i.scope, i.key] for i in changed], first_revision=result.first_revision,
                           last_revision=result.last_revision, window_seconds=window_seconds, actor=actor)
        log.info("guard.started", change_id=str(result.change_id), bots=bots, window_seconds=window_seconds)

    async def patch(self, scope: Scope, patch: dict[str, Any], *, guard_seconds: float, actor: str,
                    reason: str = "", source: Source = Source.API, expect_revision: int | None = None,
                    bypass: str | None = None) -> ChangeResult:
        """A merge-patch applied with a guard (the guard commits with the change)."""
        ops: list[Operation] = [delete_op(scope, k) if v is None else set_op(scope, k, v) for k, v in patch.items()]
        expect = Expectations(scope_revisions={scope: expect_revision} if expect_revision is not None else {})
        return await self._guarded(ChangeRequest(ops=ops, actor=actor, reason=reason, source=source, expect=expect),
                                   guard_seconds, bypass)

    async def set_value(self, scope: Scope, key: str, value: Any, *, guard_seconds: float, actor: str,
                        reason: str = "", expect_version: int | None = None, bypass: str | None = None
                        ) -> ChangeResult:
        name, _ = canonical_key(key)
        expect = Expectations(key_versions={(scope, name): expect_version} if expect_version is not None else {})
        return await self._guarded(ChangeRequest(ops=[set_op(scope, key, value)], actor=actor, reason=reason,
                                                 expect=expect), guard_seconds, bypass)

    async def _guarded(self, request: ChangeRequest, seconds: float, bypass: str | None) -> ChangeResult:
        async def begin(conn: Connection, result: ChangeResult) -> None:
            await self.start(conn, result, seconds, request.actor)
        return await self.settings.apply(request, in_transaction=begin, bypass=bypass)

    # -- the leader's evaluation ------------------------------------------------------------
    async def evaluate(self) -> int:
        """Judge every watching guard once; returns how many were settled."""
        async with self._db.read() as conn:
            found = await store.watching(conn)
        settled = 0
        for guard in found:
            try:
                settled += await self._evaluate(guard)
            except Conflict:
                settled += 1  # someone settled it first, or a change landed: judged again next time if still open
        return settled

    async def _evaluate(self, guard: store.GuardRow) -> int:
        keys = [(scopes.parse_scope(s), k) for s, k in guard.keys]
        window = timedelta(seconds=guard.window_seconds)
        async with self._db.snapshot() as conn:
            now = await store.now(conn)
            later = await history_store.touched_after(conn, keys, guard.last_revision)
            end = min(now, guard.started_at + window)
            before = await reply_store.bot_figures(conn, guard.bots, guard.started_at - window, guard.started_at)
            after = await reply_store.bot_figures(conn, guard.bots, guard.started_at, end)
        if later:
            names = ", ".join(sorted({f"{s}:{k}" for s, k in later}))
            async with self._db.write() as conn:
                await store.settle(conn, guard.change_id, "ended", note=f"a later change to {names} ended the guard")
            log.info("guard.ended", change_id=str(guard.change_id), keys=names)
            return 1
        verdict = judge(guard.bots, before, after, self.thresholds)
        if verdict.worse:
            return await self._revert(guard, verdict.worse, verdict.figures)
        if now >= guard.started_at + window:
            note = (f"no figure worsened over {guard.window_seconds:g} s ("
                    + (f"judged: {', '.join(verdict.judged)}" if verdict.judged
                       else f"too few replies to judge: fewer than {self.thresholds.min_samples} per bot") + ")")
            async with self._db.write() as conn:
                await store.settle(conn, guard.change_id, "passed", note=note, figures=verdict.figures)
            log.info("guard.passed", change_id=str(guard.change_id), judged=verdict.judged)
            return 1
        async with self._db.write() as conn:
            await store.record(conn, guard.change_id, verdict.figures)
        return 0

    async def _revert(self, guard: store.GuardRow, worse: list[Any], figures: dict[str, Any]) -> int:
        reason = revert_reason(worse, guard.window_seconds)

        async def mark(conn: Connection, result: ChangeResult) -> None:
            await store.settle(conn, guard.change_id, "reverted", note=reason, figures=figures,
                               revert_change_id=result.change_id)

        try:
            restored = await self.history.revert(str(guard.change_id), actor=GUARD_ACTOR, reason=reason,
                                                 source=Source.GUARD, in_transaction=mark)
        except Conflict:
            raise  # a write landed in between: judged again (and then ended) on the next pass
        except BotSettingsError as exc:  # the revert itself is refused (e.g. nothing left to restore)
            async with self._db.write() as conn:
                await store.settle(conn, guard.change_id, "ended", note=f"could not revert: {exc.message}",
                                   figures=figures)
            return 1
        if restored.change is None or not restored.change.changed:
            async with self._db.write() as conn:
                await store.settle(conn, guard.change_id, "ended", note=f"{reason}; nothing left to revert",
                                   figures=figures)
        log.warning("guard.reverted", change_id=str(guard.change_id), reason=reason,
                    revert=str(restored.change.change_id) if restored.change else None)
        return 1
