"""Planning the import of a running platform's own tables (`migrate --from-platform-db`).

The platform keeps its settings in two tables: ``runtime_settings`` (one row per
scope and key, the value as JSON text) and ``bot_profiles`` (one row per bot, the
profile as columns). This module turns rows read from them into a per-row report
and the operations of ONE change. Pure code: the store reads the rows, the service
writes the change.

Each row (each mapped column of a profile row) gets one fate: ``add`` (not stored
yet), ``differs`` (stored with another value: skipped, or overwritten with
``overwrite``), ``unchanged``, or ``refused`` with the reason (JSON that does not
parse, an unknown key, a bad value, a bad scope, a name another row already
supplies, a profile column botsettings has no setting for). A refused row never
stops the others.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

import msgspec

from app.domain.errors import InvalidScope, ValidationFailed
from app.domain.events import Operation, same_value, set_op
from app.domain.registry import LEGACY_NAMES, UNSET, canonical_key, lookup_writable
from app.domain.scopes import GLOBAL, Scope, bot, from_parts
from app.domain.values import dropped_warning, is_dropped, unset_warning, validate_value, written_value

# bot_profiles column → the botsettings key it holds (the others have no setting here).
PROFILE_COLUMNS: dict[str, str] = {
    "name": "name", "description": "description", "system_prompt": "system_prompt",
    "requires_memory": "requires_memory", "voice_optimized": "voice_optimized", "uses_tools": "uses_tools",
    "uses_search": "uses_search", "uses_home_assistant": "uses_home_assistant",
    "default_model": "default_model", "nextcloud_config": "nextcloud",
}
# Columns that are the row's identity or bookkeeping, not a setting.
PROFILE_BOOKKEEPING = frozenset({"id", "slug", "created_at", "updated_at"})
# The platform's own defaults of the columns botsettings does not hold: a column at its
# default is not worth a line in the report; any other value is reported as kept aside.
PROFILE_EXTRA_DEFAULTS: dict[str, Any] = {
    "tts_mode": False, "include_summaries": True, "include_in_global_search": True,
}

Progress = Callable[[int, int], None]  # (rows planned, rows in all)


class Fate(StrEnum):
    ADD = "add"
    DIFFERS = "differs"
    UNCHANGED = "unchanged"
    REFUSED = "refused"


class SettingRow(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the platform's ``runtime_settings``, as read (value still text)."""

    id: int
    scope_type: str
    scope_id: str
    key: str
    value_json: str


class ProfileRow(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the platform's ``bot_profiles``: its columns by name."""

    id: int
    slug: str
    columns: dict[str, Any]


class RowFate(msgspec.Struct, frozen=True, kw_only=True):
    table: str  # runtime_settings | bot_profiles
    row_id: int
    name: str  # the key as the row names it, or the profile column
    fate: Fate
    scope: str | None = None
    key: str | None = None  # the botsettings key it maps to
    value: Any = None
    stored: Any = None  # the stored value (differs, unchanged)
    reason: str = ""


class PlatformPlan(msgspec.Struct, kw_only=True):
    rows: list[RowFate]
    overwrite: bool

    def operations(self) -> list[Operation]:
        ops = []
        for row in self.rows:
            if row.fate is Fate.ADD or (row.fate is Fate.DIFFERS and self.overwrite):
                assert row.scope is not None and row.key is not None
                ops.append(set_op(_scope(row.scope), row.key, row.value))
        return ops

    def counts(self) -> dict[str, int]:
        return {fate.value: sum(1 for r in self.rows if r.fate is fate) for fate in Fate}


def _scope(label: str) -> Scope:
    return GLOBAL if label == "global" else bot(label[len("bots/"):])


class _Candidate(msgspec.Struct, frozen=True):
    table: str
    row_id: int
    name: str
    scope: Scope
    key: str
    value: Any


def plan_platform_import(settings: list[SettingRow], profiles: list[ProfileRow],
                         stored: Mapping[Scope, Mapping[str, Any]], *, overwrite: bool,
                         progress: Progress | None = None) -> PlatformPlan:
    """Every row's fate against ``stored``. Profile columns come first, then rows that
    use the current key name, then legacy names: the first supplier of a (scope, key)
    wins, a later one is refused naming the row that supplied it."""
    fates: list[RowFate] = []
    candidates: list[tuple[int, _Candidate]] = []
    total, done = len(settings) + len(profiles), 0
    for p in profiles:
        found, refused = _profile_candidates(p)
        candidates += [(0, c) for c in found]
        fates += refused
        done += 1
        if progress:
            progress(done, total)
    for s in settings:
        outcome = _setting_candidate(s)
        if isinstance(outcome, RowFate):
            fates.append(outcome)
        else:
            candidates.append((2 if s.key in LEGACY_NAMES else 1, outcome))
        done += 1
        if progress:
            progress(done, total)
    supplied: dict[tuple[Scope, str], _Candidate] = {}
    for _, c in sorted(candidates, key=lambda pc: (pc[0], pc[1].table != "bot_profiles", pc[1].row_id)):
        first = supplied.get((c.scope, c.key))
        if first is not None:
            fates.append(RowFate(table=c.table, row_id=c.row_id, name=c.name, fate=Fate.REFUSED, scope=str(c.scope),
                                 key=c.key, value=c.value,
                                 reason=f"'{c.key}' in {c.scope} is already supplied by {first.table} "
                                        f"row {first.row_id} ({first.name})"))
            continue
        supplied[(c.scope, c.key)] = c
        have = stored.get(c.scope, {})
        if c.key not in have:
            fate = Fate.ADD
        elif same_value(have[c.key], c.value):
            fate = Fate.UNCHANGED
        else:
            fate = Fate.DIFFERS
        fates.append(RowFate(table=c.table, row_id=c.row_id, name=c.name, fate=fate, scope=str(c.scope), key=c.key,
                             value=c.value, stored=have.get(c.key)))
    fates.sort(key=lambda f: (f.table != "bot_profiles", f.row_id, f.name))
    return PlatformPlan(rows=fates, overwrite=overwrite)


def _setting_candidate(row: SettingRow) -> _Candidate | RowFate:
    def refused(reason: str, scope: str | None = None) -> RowFate:
        return RowFate(table="runtime_settings", row_id=row.id, name=row.key, fate=Fate.REFUSED, scope=scope,
                       reason=reason)

    try:
        scope = from_parts(row.scope_type, row.scope_id)
    except InvalidScope as exc:
        return refused(str(exc))
    try:
        value = json.loads(row.value_json)
    except ValueError as exc:
        return refused(f"value_json is not valid JSON ({exc})", str(scope))
    if is_dropped(row.key):
        return refused(dropped_warning(row.key, scope), str(scope))
    key, _ = canonical_key(row.key)
    try:
        value = written_value(row.key, value, refuse_unset=False)
        if value is UNSET:  # the old "auto": nothing to import, the scope inherits
            return refused(unset_warning(row.key, json.loads(row.value_json), scope), str(scope))
        value = validate_value(lookup_writable(key, scope), value)
    except ValidationFailed as exc:
        return refused("; ".join(e.message for e in exc.errors), str(scope))
    return _Candidate("runtime_settings", row.id, row.key, scope, key, value)


def _profile_candidates(row: ProfileRow) -> tuple[list[_Candidate], list[RowFate]]:
    def refused(name: str, reason: str, scope: str | None = None) -> RowFate:
        return RowFate(table="bot_profiles", row_id=row.id, name=name, fate=Fate.REFUSED, scope=scope, reason=reason)

    try:
        scope = bot(row.slug)
    except InvalidScope as exc:
        return [], [refused("slug", str(exc))]
    found: list[_Candidate] = []
    fates: list[RowFate] = []
    for column, value in row.columns.items():
        if column in PROFILE_BOOKKEEPING:
            continue
        key = PROFILE_COLUMNS.get(column)
        if key is None:
            if value is not None and PROFILE_EXTRA_DEFAULTS.get(column) != value:
                fates.append(refused(column, "botsettings has no setting for this column; the platform keeps it "
                                             "(attach leaves it in the platform's row)", str(scope)))
            continue
        try:
            found.append(_Candidate("bot_profiles", row.id, column, scope, key,
                                    validate_value(lookup_writable(key, scope), value)))
        except ValidationFailed as exc:
            fates.append(refused(column, "; ".join(e.message for e in exc.errors), str(scope)))
    return found, fates
