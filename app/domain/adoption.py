"""Planning an import (migrate, bootstrap, import of an export) against what is stored.

One pure plan serves both the dry-run report and the real run, so the report is
exactly what the run writes. The run is then ONE change (SettingsService.apply).
Per scope the plan says which keys are added, which differ from the stored value
(skipped, or overwritten with ``overwrite``), which are unchanged, which stored keys
are removed (``replace``: the scope becomes exactly the incoming values), which are
shadowed (a bot's file value the bot does not use today because the global scope
stores the key: importing it would change the bot), and what was ignored and why.
A second run over the same input plans nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from app.domain.acceptance import Ignored
from app.domain.events import Op, Operation, delete_op, same_value, set_op
from app.domain.intake import Incoming
from app.domain.registry import REGISTRY, keys_for
from app.domain.scopes import GLOBAL, Scope, ScopeType


class Difference(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    stored: Any
    incoming: Any


class ScopePlan(msgspec.Struct, kw_only=True):
    scope: str
    add: dict[str, Any] = {}
    differ: list[Difference] = []
    remove: dict[str, Any] = {}  # key → stored value (replace only)
    # key → incoming value not imported: the bot uses the global scope's stored value
    # today (global beats bots.yaml), and importing would change what it uses.
    shadowed: dict[str, Any] = {}
    unchanged: list[str] = []
    ignored: list[Ignored] = []


class AdoptionPlan(msgspec.Struct, kw_only=True):
    scopes: list[ScopePlan]
    overwrite: bool
    replace: bool
    warnings: list[str] = []

    def operations(self) -> list[Operation]:
        ops: list[Operation] = []
        for sp in self.scopes:
            scope = scope_of(sp.scope)
            if scope is None:
                continue  # a report-only section (the template's ignored entries)
            ops.extend(set_op(scope, k, v) for k, v in sp.add.items())
            if self.overwrite:
                ops.extend(set_op(scope, d.key, d.incoming) for d in sp.differ)
            ops.extend(delete_op(scope, k) for k in sp.remove)
        return ops

    def counts(self) -> dict[str, int]:
        return {"add": sum(len(s.add) for s in self.scopes), "differ": sum(len(s.differ) for s in self.scopes),
                "remove": sum(len(s.remove) for s in self.scopes),
                "shadowed": sum(len(s.shadowed) for s in self.scopes),
                "unchanged": sum(len(s.unchanged) for s in self.scopes),
                "ignored": sum(len(s.ignored) for s in self.scopes)}


def delete_stored(scope: Scope, key: str) -> Operation:
    """Delete what is stored under ``key``: a current key, or a retired name (a value
    stored before a registry rename), which is deleted as written."""
    return delete_op(scope, key) if key in REGISTRY else Operation(scope, key, Op.DELETE, retired=True)


def scope_of(label: str) -> Scope | None:
    """The scope a plan section stands for; None for a report-only section."""
    if label == "global":
        return GLOBAL
    return Scope(ScopeType.BOT, label[len("bots/"):]) if label.startswith("bots/") else None


Progress = Callable[[int, int], None]  # (scopes planned, scopes in all)


def plan_adoption(incoming: Incoming, stored: Mapping[Scope, Mapping[str, Any]], *, overwrite: bool,
                  replace: bool = False, progress: Progress | None = None) -> AdoptionPlan:
    """Compare ``incoming`` with ``stored``. ``progress`` hears of each scope planned
    (the CLI's progress bar for large imports); it does no I/O here."""
    plans: dict[str, ScopePlan] = {}
    warnings = list(incoming.warnings)
    glob = stored.get(GLOBAL, {})
    for done, scope in enumerate(sorted(incoming.values, key=_order), 1):
        have = stored.get(scope, {})
        sp = plans.setdefault(str(scope), ScopePlan(scope=str(scope)))
        for key, value in incoming.values[scope].items():
            if key not in have and not replace and not scope.is_global and key in glob:
                sp.shadowed[key] = value
            elif key not in have:
                sp.add[key] = value
            elif same_value(have[key], value):
                sp.unchanged.append(key)
            else:
                sp.differ.append(Difference(key=key, stored=have[key], incoming=value))
        if replace:
            sp.remove = {k: v for k, v in have.items() if k not in incoming.values[scope]}
        if progress:
            progress(done, len(incoming.values))
    for item in incoming.ignored:
        plans.setdefault(item.scope, ScopePlan(scope=item.scope)).ignored.append(item)
    ordered = sorted(plans.values(), key=lambda p: (p.scope != "global", p.scope.startswith("bots/"), p.scope))
    return AdoptionPlan(scopes=ordered, overwrite=overwrite, replace=replace, warnings=warnings)


def _order(scope: Scope) -> tuple[bool, str]:
    return (not scope.is_global, scope.id)


def from_layers(env: Mapping[str, Any], bot_layers: Mapping[str, Mapping[str, Any]],
                global_yaml: Mapping[str, Any] | None = None) -> Incoming:
    """What `bootstrap` seeds: the global scope as the process resolves it without the
    database — bots.yaml's global part (its default bot) over the environment over the
    registry defaults, every key the global scope may hold —, and each bot's YAML layer
    (its settings over the template, and its profile fields)."""
    layers = [global_yaml or {}, env]
    values: dict[Scope, dict[str, Any]] = {
        GLOBAL: {d.key: next((layer[d.key] for layer in layers if d.key in layer), d.default_for(None))
                 for d in keys_for(ScopeType.GLOBAL)}}
    bot_keys = {d.key for d in keys_for(ScopeType.BOT)}
    for slug, layer in bot_layers.items():
        values[Scope(ScopeType.BOT, slug)] = {k: v for k, v in layer.items() if k in bot_keys and k in REGISTRY}
    return Incoming(values=values)
