"""History, pure: points in time, replaying the log, diffs, rollback and revert plans.

The store reads events and snapshots; everything that decides what a past state
was, or what a rollback or revert must write, lives here and needs no database.
A state is ``{scope: {key: value}}`` holding only keys whose last event is a set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from app.domain.errors import BadRequest, Conflict, FieldError, ValidationFailed
from app.domain.events import Event, Op, Operation, delete_op, same_value, set_op
from app.domain.input_checks import in_utc, parse_int
from app.domain.registry import lookup_writable
from app.domain.scopes import Scope, parse_scope
from app.domain.values import validate_value

State = dict[Scope, dict[str, Any]]

_RELATIVE = re.compile(r"([0-9]{1,12})\s*([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class Point(msgspec.Struct, frozen=True, kw_only=True):
    """A point in the log: a revision, or a time (the last revision committed at or before it)."""

    revision: int | None = None
    time: datetime | None = None

    def __str__(self) -> str:
        return f"revision {self.revision}" if self.revision is not None else f"{_iso(self.time)}"


def _iso(t: datetime | None) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z") if t else "?"


def parse_time(text: str, name: str = "as_of", *, naive_is_utc: bool = True) -> datetime:
    """An ISO 8601 timestamp (`2026-11-20T10:00:00Z`, `2026-11-20T10:00Z`, `2026-11-20`),
    in UTC. Without a zone it is UTC, unless ``naive_is_utc`` is false: then it is
    returned without one, for the caller to refuse (a scheduled change needs a zone)."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadRequest(f"{name}: {text!r} is not an ISO 8601 timestamp (e.g. 2026-11-20T10:00:00Z)",
                         [FieldError(key=name, code="invalid_timestamp", message=f"not a timestamp: {text!r}")]
                         ) from None
    if parsed.tzinfo is None and not naive_is_utc:
        return parsed
    return in_utc(parsed, name)


def parse_revision(text: str, name: str = "revision") -> int:
    if not (text.strip().isascii() and text.strip().isdigit()):
        raise BadRequest(f"{name}: {text!r} is not a revision number (a non-negative integer)",
                         [FieldError(key=name, code="invalid_revision", message=f"not a revision: {text!r}")])
    return parse_int(text, name)


def parse_point(text: str, now: datetime, name: str = "to") -> Point:
    """`812` (a revision), an ISO timestamp, or a span back from ``now``: `90m`, `24h`, `1d`, `2w`."""
    text = text.strip()
    if text.isascii() and text.isdigit():
        return Point(revision=parse_int(text, name))
    if match := _RELATIVE.fullmatch(text):
        try:
            return Point(time=now - timedelta(**{_UNITS[match[2]]: int(match[1])}))
        except OverflowError:
            raise BadRequest(f"{name}: {text!r} reaches back before year 1",
                             [FieldError(key=name, code="time_out_of_range", message="span too long")]) from None
    return Point(time=parse_time(text, name))


def point_of(revision: str | int | None, as_of: str | None, *, required: bool = False) -> Point | None:
    """The point named by a `revision` / `as_of` pair of parameters (at most one of them)."""
    if revision is not None and as_of is not None:
        raise BadRequest("give either revision or as_of, not both",
                         [FieldError(key="as_of", code="ambiguous_point", message="both revision and as_of given")])
    if revision is not None:
        return Point(revision=revision if isinstance(revision, int) else parse_revision(revision))
    if as_of is not None:
        return Point(time=parse_time(as_of))
    if required:
        raise BadRequest("name a point: a revision or a timestamp")
    return None


# -- replay -------------------------------------------------------------------
def put(state: State, scope: Scope, key: str, present: bool, value: Any) -> None:
    """Store ``value`` under (scope, key), or drop the key when it is not ``present``."""
    if present:
        state.setdefault(scope, {})[key] = value
    elif (values := state.get(scope)) is not None:
        values.pop(key, None)


def replay(state: State, events: Iterable[Event]) -> State:
    """Apply events, oldest first, to ``state`` (mutated and returned)."""
    for e in events:
        put(state, e.scope, e.key, e.op is Op.SET, e.value)
    return state


def unreplay(state: State, events_newest_first: Iterable[Event]) -> State:
    """Undo events, newest first: each event records the value it replaced."""
    for e in events_newest_first:
        put(state, e.scope, e.key, e.had_previous, e.previous)
    return state


def copy_state(state: Mapping[Scope, Mapping[str, Any]]) -> State:
    return {scope: dict(values) for scope, values in state.items() if values}


def state_to_json(state: State) -> dict[str, dict[str, Any]]:
    """The snapshot document: `{"global": {...}, "bots/mira": {...}}`."""
    return {str(scope): values for scope, values in sorted(state.items()) if values}


def state_from_json(doc: Mapping[str, Mapping[str, Any]]) -> State:
    return {parse_scope(name): dict(values) for name, values in doc.items() if values}


def state_at(snapshot: State, events: Iterable[Event]) -> State:
    """The state a snapshot reaches after ``events`` (those after its revision, oldest first)."""
    return replay(copy_state(snapshot), events)


# -- diff -----------------------------------------------------------------------
class DiffItem(msgspec.Struct, frozen=True, kw_only=True):
    """How one key differs between two points: ``from`` → ``to``; absent means not stored."""

    scope: str
    key: str
    change: str  # added | removed | changed
    from_present: bool
    from_: Any = msgspec.field(default=None, name="from")
    to_present: bool
    to: Any = None


def diff(before: State, after: State, scope: Scope | None = None,
         keys: Iterable[str] | None = None) -> list[DiffItem]:
    """Keys whose stored value differs from ``before`` to ``after``, by scope then key."""
    wanted = set(keys) if keys is not None else None
    scopes = [scope] if scope is not None else sorted(set(before) | set(after), key=str)
    items: list[DiffItem] = []
    for s in scopes:
        old, new = before.get(s, {}), after.get(s, {})
        for key in sorted(set(old) | set(new)):
            if wanted is not None and key not in wanted:
                continue
            had, has = key in old, key in new
            if had and has and same_value(old[key], new[key]):
                continue
            items.append(DiffItem(scope=str(s), key=key, change="changed" if had and has else
                                  "added" if has else "removed", from_present=had, from_=old.get(key),
                                  to_present=has, to=new.get(key)))
    items.sort(key=lambda i: (i.scope, i.key))
    return items


# -- rollback and revert ----------------------------------------------------------
class RestorePlan(msgspec.Struct, frozen=True, kw_only=True):
    """What a rollback or revert writes: ``ops`` restore ``diff``; ``skipped`` are keys the
    registry no longer accepts (unknown now, or a value outside today's bounds)."""

    diff: list[DiffItem]
    ops: list[Operation]
    skipped: list[FieldError]


def restore_plan(items: list[DiffItem]) -> RestorePlan:
    """The operations that turn each item's ``from`` into its ``to``.

    A value the registry would refuse today (its key was removed, or its bounds
    narrowed) cannot be written; it is skipped and reported, never forced in,
    because every write obeys today's registry.
    """
    ops: list[Operation] = []
    skipped: list[FieldError] = []
    for item in items:
        scope = parse_scope(item.scope)
        try:
            defn = lookup_writable(item.key, scope)
            if item.to_present:
                ops.append(set_op(scope, item.key, validate_value(defn, item.to)))
            else:
                ops.append(delete_op(scope, item.key))
        except ValidationFailed as exc:
            reason = "; ".join(e.message for e in exc.errors)
            skipped.append(FieldError(key=item.key, scope=item.scope, code=exc.errors[0].code,
                                      message=f"cannot be restored: {reason}"))
    return RestorePlan(diff=items, ops=ops, skipped=skipped)


def rollback_plan(current: State, target: State, scope: Scope | None = None,
                  keys: Iterable[str] | None = None) -> RestorePlan:
    """Restore ``target``'s values (sets and deletes alike) where they differ from ``current``."""
    return restore_plan(diff(current, target, scope, keys))


def revert_plan(change_events: list[Event], current: State, touched_later: Mapping[tuple[Scope, str], int],
                *, force: bool = False) -> RestorePlan:
    """Restore the values a change replaced.

    A key that a later change touched has moved on; reverting it would silently undo
    that later change too, so it is a conflict (naming every such key) unless forced.
    """
    later = [e for e in change_events if (e.scope, e.key) in touched_later]
    if later and not force:
        raise Conflict("later changes touched keys of this change; revert with force to override them",
                       [FieldError(key=e.key, scope=str(e.scope), code="changed_later",
                                   message=f"'{e.key}' in {e.scope} changed again at revision "
                                           f"{touched_later[(e.scope, e.key)]}") for e in later])
    before: State = {}
    now: State = {}
    for e in change_events:
        if e.had_previous:
            before.setdefault(e.scope, {})[e.key] = e.previous
        values = current.get(e.scope, {})
        if e.key in values:
            now.setdefault(e.scope, {})[e.key] = values[e.key]
    keys_by_scope: dict[Scope, list[str]] = {}
    for e in change_events:
        keys_by_scope.setdefault(e.scope, []).append(e.key)
    items = [item for s, ks in keys_by_scope.items() for item in diff(now, before, s, ks)]
    items.sort(key=lambda i: (i.scope, i.key))
    return restore_plan(items)
