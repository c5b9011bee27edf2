"""SettingsService: every write of a setting, and every read of the current state.

Writes: every change goes through :meth:`SettingsService.apply` — validated in pure
domain code, then queued for the store's group commit, which commits the changes
that arrive together in one batch transaction (the invariants of
docs/architecture.md); each change is answered, and logged, on its own. Reads: stored values from the projection, and
the effective settings from the process's read model (app/domain/read_model.py),
which the listener keeps current; the read model is reached only through the
methods here (revision, known bots, snapshots, explain, subscribe).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
import structlog

from app import metrics
from app.domain import feed, scopes
from app.domain.bots_yaml import BotsConfig
from app.domain.errors import FieldError, NotFound, ValidationFailed
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
    with_legacy_deletes,
)
from app.domain.model_limits import BotCheck, Layers, ModelLimitsExceeded, check_all, check_changes
from app.domain.proposals import ApprovalPolicy, admitted
from app.domain.read_model import Resolver, Subscriber
from app.domain.records import BotSummary, KeyView, ScopeView, StoredValue, VerifyReport
from app.domain.registry import canonical_key, lookup_writable
from app.domain.resolution import LayerReading, Snapshot
from app.domain.scopes import Scope
from app.services.snapshots import Snapshots
from app.store import feed_reads, reader, writer
from app.store.database import Database
from app.store.group_commit import GroupCommitter
from app.store.listener import Listener, apply_batch, catch_up

log = structlog.get_logger("botsettings.service")

# A whole-platform import touches thousands of keys; its log line names the first few
# and counts the rest (the log table has them all).
LOGGED_KEYS = 20


def _logged_keys(items: list[ItemResult]) -> dict[str, Any]:
    keys = [f"{i.scope}:{i.key}" for i in items[:LOGGED_KEYS]]
    return {"keys": keys, "key_count": len(items)} if len(items) > LOGGED_KEYS else {"keys": keys}


class SettingsService:
    """Owns: applying changes (patch, set, delete, any ChangeRequest), reading stored
    values and versions, the effective settings of bots and of the global scope,
    the known bots, and the integrity check and rebuild of the projection."""

    def __init__(self, db: Database, read_model: Resolver | None = None, *, snapshots: Snapshots | None = None,
                 listener: Listener | None = None, approval: ApprovalPolicy = ApprovalPolicy.NONE) -> None:
        self._db = db
        self.approval = approval  # BOTSETTINGS_REQUIRE_APPROVAL: scopes direct writes may not change
        self._model = read_model or Resolver(BotsConfig(), {})
        self._snapshots = snapshots or Snapshots(db)
        self._listener = listener  # set when the process listens; None in a one-shot CLI
        self._committer = GroupCommitter(db, self._applied_here, self._model_limits, self._heard)

    # -- writes ---------------------------------------------------------------
    async def apply(self, request: ChangeRequest, *,
                    in_transaction: writer.InTransaction | None = None, bypass: str | None = None) -> ChangeResult:
        """Apply a change: validate every op, then commit it in the next batch (the
        invariants of docs/architecture.md); answered once it has committed and this
        process's read model holds it. ``in_transaction`` runs last inside the change's
        transaction, which then holds that change alone (the scheduler claims a
        scheduled change there, so the claim and the change commit together).

        A direct write to a scope the approval policy protects is refused (409) unless
        ``bypass`` gives an admin's reason (the caller checked the role); the reason
        is recorded in the change's."""
        if not request.ops:
            raise ValidationFailed([FieldError(key="ops", message="a change needs at least one operation")])
        request = self.check_approval(request, bypass)
        ops, warnings = normalize_request(request)
        if not ops:  # every op was a seed-era key the platform dropped: nothing to append
            return ChangeResult(change_id=None, first_revision=None, last_revision=None, head=await self.head(),
                                items=[], warnings=warnings)
        started = time.perf_counter()
        committed = with_legacy_deletes(ops)
        result = await self._committer.submit(request, committed, in_transaction)
        if len(committed) != len(ops):  # answer for the operations asked; the log has the deletes too
            implicit = {(str(o.scope), o.key) for o in committed} - {(str(o.scope), o.key) for o in ops}
            result = msgspec.structs.replace(result, items=[i for i in result.items
                                                            if (i.scope, i.key) not in implicit])
        metrics.CHANGE_SECONDS.observe(time.perf_counter() - started)
        metrics.CHANGES.labels(request.source.value, "applied" if result.changed else "noop").inc()
        if warnings:
            result = msgspec.structs.replace(result, warnings=warnings)
        if result.changed:
            log.info("change.applied", change_id=str(result.change_id),
                     revisions=(result.first_revision, result.last_revision), actor=request.actor,
                     source=request.source.value, **_logged_keys([i for i in result.items if i.changed]))
            self._snapshots.after_change_soon(result.head)
        else:
            log.info("change.noop", actor=request.actor, **_logged_keys(result.items))
        return result

    # -- model limits (app/domain/model_limits.py, docs/models.md) ---------------------
    def _layers(self) -> Layers:
        model = self._model
        return Layers(stored=model.stored, known_bots=model.known_bots, yaml_for=model.bots_config.layer_for,
                      in_yaml=model.bots_config.bots.__contains__, env=model.env)

    def _model_limits(self, changes: list[list[Operation]]) -> list[ModelLimitsExceeded | None]:
        """The group commit's check of a batch: each change against the read model and
        the changes before it (cheap when a change writes no limit-relevant key)."""
        return check_changes(changes, self._layers())

    def model_problems(self, ops: list[Operation]) -> ModelLimitsExceeded | None:
        """What the model limits would say of a change now (a dry run reports it)."""
        return check_changes([ops], self._layers())[0]

    def check_models(self) -> list[BotCheck]:
        """Every known bot's effective configuration against its model."""
        return check_all(self._layers())

    def check_approval(self, request: ChangeRequest, bypass: str | None) -> ChangeRequest:
        """The request as it may be written under the approval policy (its reason
        naming a bypass), or ApprovalRequired."""
        return admitted(self.approval, request, bypass)

    def _heard(self) -> int:
        """The highest revision this process knows was committed (by anyone)."""
        return max(self._model.revision, self._listener.notified if self._listener is not None else 0)

    async def _applied_here(self, committed: writer.Committed) -> None:
        """A batch this process committed: into the read model now, from memory
        (read-your-writes before the answer; the NOTIFY serves the other processes)."""
        if self._listener is not None:
            await self._listener.apply_committed(committed.first, committed.events)
        else:
            await apply_batch(self._db, self._model, committed.first, committed.events)

    async def settle(self) -> None:
        """Wait for the housekeeping a change started after its answer (a snapshot)."""
        await self._snapshots.settle()

    async def close(self) -> None:
        """Settle, and close the group commit's connection (the process is stopping)."""
        await self.settle()
        await self._committer.close()

    @property
    def committer(self) -> GroupCommitter:
        """The group commit of this process's changes (its counters: tests, metrics)."""
        return self._committer

    async def patch(self, scope: Scope, patch: dict[str, Any], *, actor: str, reason: str = "",
                    source: Source = Source.API, expect_revision: int | None = None,
                    bypass: str | None = None) -> ChangeResult:
        """JSON merge-patch (RFC 7396) of one scope: ``null`` deletes a key (it inherits
        again), anything else sets it. A nullable key is set to null with ``set_value``."""
        ops: list[Operation] = [delete_op(scope, k) if v is None else set_op(scope, k, v)
                                for k, v in patch.items()]
        expect = Expectations(scope_revisions={scope: expect_revision} if expect_revision is not None else {})
        return await self.apply(ChangeRequest(ops=ops, actor=actor, reason=reason, source=source, expect=expect),
                                bypass=bypass)

    async def set_value(self, scope: Scope, key: str, value: Any, *, actor: str, reason: str = "",
                        source: Source = Source.API, expect_version: int | None = None,
                        bypass: str | None = None) -> ChangeResult:
        return await self._one(set_op(scope, key, value), actor, reason, source, expect_version, bypass)

    async def delete_value(self, scope: Scope, key: str, *, actor: str, reason: str = "",
                           source: Source = Source.API, expect_version: int | None = None,
                           bypass: str | None = None) -> ChangeResult:
        return await self._one(delete_op(scope, key), actor, reason, source, expect_version, bypass)

    async def _one(self, op: Operation, actor: str, reason: str, source: Source,
                   expect_version: int | None, bypass: str | None) -> ChangeResult:
        key, _ = canonical_key(op.key)
        expect = Expectations(key_versions={(op.scope, key): expect_version} if expect_version is not None else {})
        return await self.apply(ChangeRequest(ops=[op], actor=actor, reason=reason, source=source, expect=expect),
                                bypass=bypass)

    # -- stored values ------------------------------------------------------------
    async def scope_view(self, scope: Scope) -> ScopeView:
        async with self._db.snapshot() as conn:
            return ScopeView(scope=str(scope), revision=await reader.scope_revision(conn, scope),
                             head=await reader.head(conn), values=await reader.scope_values(conn, scope))

    async def stored_rows(self, *, scope_type: str | None = None, scope_id: str | None = None,
                          key: str | None = None, key_prefix: str | None = None,
                          exclude_keys: frozenset[str] = frozenset(), limit: int = 200, offset: int = 0
                          ) -> tuple[int, list[tuple[str, str, StoredValue]]]:
        """Stored values across scopes, filtered and paged (the platform's listing)."""
        async with self._db.snapshot() as conn:
            return await reader.current_rows(conn, scope_type=scope_type, scope_id=scope_id, key=key,
                                             key_prefix=key_prefix, exclude_keys=exclude_keys, limit=limit,
                                             offset=offset)

    async def key_view(self, scope: Scope, key: str) -> KeyView:
        key, _ = canonical_key(key)
        lookup_writable(key, scope)
        async with self._db.snapshot() as conn:
            stored = await reader.stored_value(conn, scope, key)
            version = await reader.key_version(conn, scope, key)
            at = await reader.head(conn)
        return KeyView(scope=str(scope), key=key, present=stored is not None,
                       value=stored.value if stored else None, key_version=version, head=at)

    async def head(self) -> int:
        async with self._db.read() as conn:
            return await reader.head(conn)

    async def bots_first_seen(self) -> tuple[float | None, dict[str, float]]:
        """When the log began, and each bot's first event (epoch seconds)."""
        async with self._db.read() as conn:
            return await reader.bots_first_seen(conn)

    async def changes_between(self, after: int, upto: int, limit: int = 1000) -> list[AppliedChange]:
        async with self._db.read() as conn:
            return await reader.changes_between(conn, after, upto, limit)

    # -- followers (botsettings-client): the bootstrap and the change feed -----------
    async def changes_with_events(self, after: int, upto: int) -> list[AppliedChange]:
        """The changes in (after, upto], each carrying its events with their values."""
        async with self._db.read() as conn:
            return feed.group_changes(await reader.events_between(conn, after, upto))

    async def bootstrap(self, bots: list[str] | None, allowed: frozenset[str] | None = None) -> feed.Bootstrap:
        """Effective settings of ``bots`` (None: every bot ``allowed``, None: all) at one
        revision, read in one snapshot, each value with its source and the revision that wrote it."""
        for slug in bots or []:
            scopes.check_slug(slug)
        async with self._db.snapshot() as conn:
            at, stored = await feed_reads.stored_layers(conn, bots)
        config = self._model.bots_config
        known = feed.known_bots(stored, config.bots)
        if bots is None:
            chosen = sorted(b for b in known if allowed is None or b in allowed)
        elif missing := [b for b in bots if b not in known]:
            raise NotFound(f"unknown bot '{missing[0]}': it is neither in bots.yaml nor in the database "
                           f"at revision {at}", bot=missing[0])
        else:
            chosen = list(dict.fromkeys(bots))
        return feed.bootstrap(at, stored, chosen, config.layer_for, self._model.env)

    # -- the read model: effective settings in this process --------------------------
    async def refresh(self) -> None:
        """Bring the in-memory state up to the database's head."""
        if self._listener is not None:
            await self._listener.refresh()
        else:
            await catch_up(self._db, self._model)

    @property
    def revision(self) -> int:
        """The revision the read model has applied (what the effective settings reflect)."""
        return self._model.revision

    @property
    def stale(self) -> bool:
        """True while the process cannot hear changes (its LISTEN connection is down)."""
        return self._model.stale

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber`` with every change the read model applies, in order;
        returns the function that unsubscribes."""
        return self._model.subscribe(subscriber)

    def snapshot(self, slug: str, overrides: dict[str, Any] | None = None) -> Snapshot:
        """Every key of a bot at one revision, each with its source. No I/O."""
        scopes.check_slug(slug)
        return self._model.snapshot(slug, overrides)

    def global_snapshot(self) -> Snapshot:
        return self._model.global_snapshot()

    def explain(self, slug: str | None, key: str, overrides: dict[str, Any] | None = None) -> list[LayerReading]:
        if slug is not None:
            scopes.check_slug(slug)
        return self._model.explain(slug, canonical_key(key)[0], overrides)

    def known_bots(self) -> list[str]:
        """Bots in bots.yaml and bots with values stored in the database."""
        return self._model.known_bots()

    def is_known(self, slug: str) -> bool:
        return self._model.is_known(slug)

    def stored(self, scope: Scope) -> Mapping[str, Any]:
        """The values stored in a scope, as the read model holds them."""
        return self._model.stored(scope)

    @property
    def bots_config(self) -> BotsConfig:
        """bots.yaml as this process read it at start."""
        return self._model.bots_config

    @property
    def env_layer(self) -> Mapping[str, Any]:
        """The environment's settings (LLM_BAWT_*), as this process read them at start."""
        return self._model.env

    def in_yaml(self, slug: str) -> bool:
        return slug in self._model.bots_config.bots

    @property
    def default_bot(self) -> str | None:
        """The global `default_bot`: stored, else bots.yaml's `defaults.standard`, else
        LLM_BAWT_DEFAULT_BOT; None when none of them says."""
        value = self._model.global_snapshot()["default_bot"]
        return value if isinstance(value, str) else None

    @property
    def cached_snapshots(self) -> int:
        return self._model.cache_size

    def bots(self) -> list[BotSummary]:
        model = self._model
        summaries = []
        for slug in model.known_bots():
            snap = model.snapshot(slug)
            summaries.append(BotSummary(
                slug=slug, name=snap["name"], description=snap["description"],
                default_model=snap["default_model"], in_yaml=slug in model.bots_config.bots,
                overrides=len(model.stored(scopes.bot(slug))), default=slug == self.default_bot))
        return summaries

    # -- integrity ------------------------------------------------------------
    async def verify(self) -> VerifyReport:
        async with self._db.snapshot() as conn:
            report = await reader.verify(conn)
        log.info("projection.verified", ok=report.ok, head=report.head, drift=len(report.drift),
                 log_problems=report.log_problems)
        return report

    async def rebuild(self) -> int:
        async with self._db.write() as conn:
            keys = await writer.rebuild(conn)
        log.info("projection.rebuilt", keys=keys)
        return keys
