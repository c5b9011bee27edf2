"""Adoption through the service layer: migrate, bootstrap, export/import, rename-key.

Each operation reads the stored state once, plans in pure code (app/domain/adoption.py),
and writes the plan as ONE change through SettingsService.apply, expecting every
touched scope to be at the revision the plan was made from (a concurrent change
makes it a conflict, not a silent mix). A dry run stops after the plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from app.domain.adoption import AdoptionPlan, Progress, delete_stored, from_layers, plan_adoption
from app.domain.errors import Conflict, FieldError, ValidationFailed
from app.domain.events import ChangeRequest, ChangeResult, Expectations, Operation, Source, set_op
from app.domain.export_doc import parse_export, render_export
from app.domain.history import Point
from app.domain.intake import Incoming, from_bots_yaml, from_env
from app.domain.records import StoredState
from app.domain.registry import REGISTRY, lookup_writable
from app.domain.scopes import Scope, bot, parse_scope
from app.domain.values import validate_value
from app.services.history import HistoryService
from app.services.settings import SettingsService
from app.store.database import Database
from app.store.state_reads import read_state


class Outcome(msgspec.Struct, kw_only=True):
    """A plan and, unless it was a dry run or there was nothing to do, the change."""

    plan: AdoptionPlan
    result: ChangeResult | None = None
    dry_run: bool = False


class Move(msgspec.Struct, frozen=True, kw_only=True):
    scope: str
    value: Any
    replaces: Any = None  # the new key's value it overwrote, if any
    had_new: bool = False


class RenameOutcome(msgspec.Struct, kw_only=True):
    old: str
    new: str
    moves: list[Move]
    result: ChangeResult | None = None
    dry_run: bool = False


class AdoptionService:
    """Owns: migrate (environment and bots.yaml), bootstrap, export and import of
    documents, and rename-key — each planned from one read of the stored state and
    written as one change."""

    def __init__(self, db: Database, settings: SettingsService, history: HistoryService) -> None:
        self._db = db
        self._settings = settings
        self._history = history

    async def stored_state(self, *, as_written: bool = False) -> StoredState:
        """Every stored value and every scope's revision, read in one snapshot (under the
        current key names, or ``as_written``: the names the log holds them under)."""
        async with self._db.snapshot() as conn:
            return await read_state(conn, as_written=as_written)

    async def apply_ops(self, ops: list[Operation], state: StoredState, *, actor: str,
                        reason: str, source: Source) -> ChangeResult | None:
        if not ops:
            return None
        touched = {op.scope for op in ops}
        expect = Expectations(scope_revisions={s: state.scope_revisions.get(s, 0) for s in touched})
        request = ChangeRequest(ops=ops, actor=actor, reason=reason, source=source, expect=expect)
        return await self._settings.apply(request)

    async def _run(self, incoming: Incoming, state: StoredState, *, overwrite: bool, replace: bool,
                   dry_run: bool, actor: str, reason: str, source: Source, progress: Progress | None) -> Outcome:
        plan = plan_adoption(incoming, state.values, overwrite=overwrite, replace=replace, progress=progress)
        if dry_run:
            return Outcome(plan=plan, dry_run=True)
        result = await self.apply_ops(plan.operations(), state, actor=actor, reason=reason, source=source)
        return Outcome(plan=plan, result=result)

    async def migrate(self, *, env: Mapping[str, str] | None, yaml_documents: list[tuple[str, str]],
                      overwrite: bool, dry_run: bool, actor: str, reason: str,
                      progress: Progress | None = None) -> Outcome:
        """Env values → the global scope; each YAML bot's settings (over the template) and
        profile fields → its bot scope. Bots stored only in the database get the template."""
        state = await self.stored_state()
        incoming = from_env(env) if env is not None else Incoming()
        if yaml_documents:
            incoming = incoming.merge(from_bots_yaml(yaml_documents, extra_bots=state.bots()))
        return await self._run(incoming, state, overwrite=overwrite, replace=False, dry_run=dry_run, actor=actor,
                          reason=reason or "migrate from the environment and bots.yaml", source=Source.MIGRATION,
                          progress=progress)

    async def bootstrap(self, *, overwrite: bool, dry_run: bool, actor: str, reason: str,
                        progress: Progress | None = None) -> Outcome:
        """Seed the global scope from the environment over the defaults, and every bot
        (bots.yaml's and the database's) from its YAML layer: the database alone then
        says what the files said."""
        state = await self.stored_state()
        config = self._settings.bots_config
        slugs = sorted({*config.bots, *state.bots()})
        incoming = from_layers(self._settings.env_layer, {slug: config.layer_for(slug) for slug in slugs})
        return await self._run(incoming, state, overwrite=overwrite, replace=False, dry_run=dry_run, actor=actor,
                          reason=reason or "bootstrap from the environment, defaults and bots.yaml",
                          source=Source.BOOTSTRAP, progress=progress)

    async def export_text(self, *, bot_slug: str | None = None, only_global: bool = False,
                          at: Point | None = None) -> str:
        """The stored values as an export document, now or ``at`` a past point."""
        if bot_slug is not None:
            bot(bot_slug)  # refuse a malformed slug
        if at is None:
            values: Mapping[Scope, Mapping[str, Any]] = (await self.stored_state()).values
        else:
            past = await self._history.state_at(at)
            values = {parse_scope(name): stored for name, stored in past.scopes.items()}
        if bot_slug is not None:
            return render_export(values, include_global=False, bots=[bot_slug])
        return render_export(values, include_global=True, bots=[] if only_global else None)

    async def import_text(self, text: str, source_name: str, *, dry_run: bool, actor: str,
                          reason: str, progress: Progress | None = None) -> Outcome:
        """Make every scope named in an export document exactly what it says."""
        incoming = parse_export(text, source_name)
        state = await self.stored_state()
        return await self._run(incoming, state, overwrite=True, replace=True, dry_run=dry_run, actor=actor,
                          reason=reason or f"import {source_name}", source=Source.CLI, progress=progress)

    async def rename_key(self, old: str, new: str, *, overwrite: bool, dry_run: bool, actor: str,
                         reason: str, source: Source = Source.CLI) -> RenameOutcome:
        """Move the values stored under ``old`` to ``new`` in every scope, in one change.

        For registry renames: values stored before a key was renamed are read under the
        new name already (app/domain/upcast.py); this moves them for good. ``old`` is read
        and deleted as written (no legacy mapping).
        """
        if old == new:
            raise ValidationFailed([FieldError(key=new, message="the old and the new name are the same")])
        if new not in REGISTRY:
            raise ValidationFailed([FieldError(key=new, code="unknown_key", message=f"unknown setting '{new}'")])
        state = await self.stored_state(as_written=True)
        moves: list[Move] = []
        ops: list[Operation] = []
        clashes: list[FieldError] = []
        for scope in sorted(state.values, key=lambda s: (not s.is_global, s.id)):
            values = state.values[scope]
            if old not in values:
                continue
            value = validate_value(lookup_writable(new, scope), values[old])
            if new in values and values[new] != value and not overwrite:
                clashes.append(FieldError(key=new, scope=str(scope), code="both_stored",
                                          message=f"{scope} stores both '{old}' ({values[old]!r}) and '{new}' "
                                                  f"({values[new]!r}); use --overwrite to keep the old key's value"))
            moves.append(Move(scope=str(scope), value=value, replaces=values.get(new), had_new=new in values))
            ops += [set_op(scope, new, value), delete_stored(scope, old)]
        if clashes:
            raise Conflict(f"'{new}' is already stored where '{old}' is", clashes)
        if dry_run:
            return RenameOutcome(old=old, new=new, moves=moves, dry_run=True)
        result = await self.apply_ops(ops, state, actor=actor, reason=reason or f"rename {old} → {new}",
                                 source=source)
        return RenameOutcome(old=old, new=new, moves=moves, result=result)
