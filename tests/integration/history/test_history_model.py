"""Model-based test: random patches, deletes, rollbacks and reverts over several scopes,
checked against an independent in-test model of the state after every revision."""

from __future__ import annotations

import json
import random
import time
from typing import Any

import asyncpg

from app.domain import scopes
from app.domain.errors import Conflict
from app.domain.events import ChangeResult
from app.domain.history import Point
from app.services import settings_with_history
from app.store.database import Database

SCOPES = [scopes.GLOBAL, scopes.bot("mira"), scopes.bot("nova"), scopes.bot("spark")]
VALUES: dict[str, Any] = {  # keys allowed in both scopes, and values valid for each
    "temperature": [0.0, 0.3, 0.5, 0.8, 1.2, 2.0],
    "top_p": [0.1, 0.5, 0.9, 1.0],
    "memory_n_results": [0, 1, 5, 10, 50],
    "search_depth": ["basic", "advanced"],
    "summarization_skip_low_signal": [True, False],
    "maintenance_model": ["", "m1", "m2"],
    "extraction_model": [None, "x1", "x2"],  # nullable: a stored JSON null is a value
}
KEYS = list(VALUES)
OPS = 320
Model = dict[str, dict[str, Any]]  # scope (written form) → key → value


class Log:
    """The model: every revision's state, every event, every change, written from what
    each operation means, not from what the store answers (only its revision numbers)."""

    def __init__(self) -> None:
        self.states: list[Model] = [{}]
        self.events: list[tuple[int, str, str, str, Any]] = []
        self.changes: list[dict[str, Any]] = []  # id, first, last, prior: {(scope, key): (present, value)}
        self.last_touch: dict[tuple[str, str], int] = {}

    @property
    def head(self) -> int:
        return len(self.states) - 1

    def now(self) -> Model:
        return self.states[-1]

    def expect(self, wanted: dict[tuple[str, str], tuple[bool, Any]]) -> dict[tuple[str, str], tuple[bool, Any]]:
        """The subset of ``wanted`` (present, value) that differs from now: what must be written."""
        out = {}
        for (scope, key), (present, value) in wanted.items():
            values = self.now().get(scope, {})
            if (key in values) != present or (present and repr(values[key]) != repr(value)):
                out[(scope, key)] = (present, value)
        return out

    def record(self, expected: dict[tuple[str, str], tuple[bool, Any]], result: ChangeResult | None) -> None:
        if not expected:
            assert result is None or not result.changed, "a no-op change appended events"
            return
        assert result is not None and result.changed
        written = {(i.scope, i.key): i.revision for i in result.items if i.changed}
        assert set(written) == set(expected), (written, expected)
        assert sorted(written.values()) == list(range(self.head + 1, self.head + 1 + len(expected)))
        prior = {}
        for (scope, key), revision in sorted(written.items(), key=lambda kv: kv[1]):
            present, value = expected[(scope, key)]
            state = {s: dict(v) for s, v in self.now().items()}
            old = state.get(scope, {})
            prior[(scope, key)] = (key in old, old.get(key))
            if present:
                state.setdefault(scope, {})[key] = value
            else:
                state[scope].pop(key)
            self.states.append({s: v for s, v in state.items() if v})
            self.events.append((revision, scope, key, "set" if present else "delete", value if present else None))
            self.last_touch[(scope, key)] = revision
        self.changes.append({"id": result.change_id, "first": result.first_revision,
                             "last": result.last_revision, "prior": prior})


async def test_random_history_matches_an_independent_model(db: Database, raw: asyncpg.Connection) -> None:
    rng = random.Random(20261125)
    service, history = settings_with_history(db, snapshot_every=40)  # snapshots mid-sequence, on both read paths
    model = Log()
    kinds = {"patch": 0, "delete": 0, "rollback": 0, "revert": 0, "conflict": 0, "noop": 0}
    started = time.monotonic()
    for _ in range(OPS):
        kind = rng.choices(["patch", "delete", "rollback", "revert"], [55, 10, 18, 17])[0]
        scope = rng.choice(SCOPES)
        name = str(scope)
        if kind in ("patch", "delete") or model.head == 0:
            kind = "delete" if kind == "delete" and model.now().get(name) else "patch"
            if kind == "patch":
                keys = rng.sample(KEYS, rng.randint(1, 4))
                patch = {k: rng.choice(VALUES[k]) for k in keys}
                # Merge-patch null deletes, so a nullable key's None is sent with set_value below.
                patch = {k: v for k, v in patch.items() if v is not None}
                if rng.random() < 0.2 and model.now().get(name):
                    patch[rng.choice(list(model.now()[name]))] = None  # a delete inside a patch
                if not patch:
                    patch = {"extraction_model": "x1"}
                wanted = {(name, k): (v is not None, v) for k, v in patch.items()}
                expected = model.expect(wanted)
                result = await service.patch(scope, patch, actor="model")
            else:
                key = rng.choice(list(model.now()[name]))
                expected = model.expect({(name, key): (False, None)})
                result = await service.delete_value(scope, key, actor="model")
            kinds[kind] += 1
        elif kind == "rollback":
            target = rng.randint(0, model.head)
            only = rng.choice([None, scope])
            keys = rng.choice([None, rng.sample(KEYS, 2)])
            past, now = model.states[target], model.now()
            names = [only and str(only)] if only else sorted(set(past) | set(now))
            wanted = {(s, k): (k in past.get(s, {}), past.get(s, {}).get(k)) for s in names
                      for k in set(past.get(s, {})) | set(now.get(s, {})) if keys is None or k in keys}
            expected = model.expect(wanted)
            restored = await history.rollback(Point(revision=target), scope=only, keys=keys, actor="model",
                                              reason="model")
            assert len(restored.diff) == len(expected) and not restored.skipped
            result = restored.change
            kinds["rollback"] += 1
        else:
            change = rng.choice(model.changes)
            force = rng.random() < 0.3
            later = [k for k in change["prior"] if model.last_touch[k] > change["last"]]
            if later and not force:
                try:
                    await history.revert(str(change["id"]), actor="model")
                except Conflict as exc:
                    assert sorted((e.scope, e.key) for e in exc.errors) == sorted(later)
                    kinds["conflict"] += 1
                    continue
                raise AssertionError("a revert over later changes was not refused")
            expected = model.expect(change["prior"])
            result = (await history.revert(str(change["id"]), force=force, actor="model")).change
            kinds["revert"] += 1
        if not expected:
            kinds["noop"] += 1
        model.record(expected, result)

    assert model.head == await raw.fetchval("SELECT revision FROM settings_head")
    assert min(kinds[k] for k in ("patch", "delete", "rollback", "revert", "conflict", "noop")) > 5, kinds
    assert await raw.fetchval("SELECT count(*) FROM settings_snapshots") >= 3

    # Point-in-time reads equal the model, by revision (every scope, and each scope) ...
    for revision in [*sorted(rng.sample(range(model.head + 1), 40)), 0, model.head]:
        assert (await history.state_at(Point(revision=revision))).scopes == model.states[revision], revision
        for scope in SCOPES:
            past = await history.state_at(Point(revision=revision), scope)
            assert past.scopes[str(scope)] == model.states[revision].get(str(scope), {}), (revision, scope)
    # ... and by time: a change's commit time reads as its last revision, and so does
    # any instant before the next change commits.
    times = {r["last_revision"]: r["recorded_at"] for r in await raw.fetch(
        "SELECT last_revision, recorded_at FROM settings_changes")}
    ordered = sorted(times)
    for i in rng.sample(range(len(ordered) - 1), 25):
        last, after = ordered[i], times[ordered[i + 1]]
        assert (await history.state_at(Point(time=times[last]))).scopes == model.states[last]
        between = times[last] + (after - times[last]) / 2
        assert (await history.state_at(Point(time=between), SCOPES[1])).revision == last

    # The log still holds every original event, untouched.
    rows = await raw.fetch("SELECT revision, scope_type, scope_id, key, op, value::text FROM settings_events "
                           "ORDER BY revision")
    stored = [(r["revision"], "global" if r["scope_type"] == "global" else f"bots/{r['scope_id']}", r["key"],
               r["op"], json.loads(r["value"]) if r["value"] is not None else None) for r in rows]
    assert stored == model.events

    # Rolling back to each sampled point yields the model's state of that point.
    for target in rng.sample(range(model.head + 1), 8):
        await history.rollback(Point(revision=target), actor="model")
        assert (await history.state_at(Point(revision=await service.head()))).scopes == model.states[target]
    assert (await service.verify()).ok
    assert time.monotonic() - started < 60
