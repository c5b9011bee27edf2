"""Shared bench plumbing: a fresh database on the embedded server (or DATABASE_URL's),
figures printed as a table and written as JSON under bench/results/."""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa

from app.config import normalize_database_url
from app.store import migrations
from app.store.engine import asyncpg_dsn, make_engine

RESULTS = Path(__file__).resolve().parent / "results"


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """A migrated, empty database; dropped afterwards."""
    with tempfile.TemporaryDirectory(prefix="botsettings-bench-") as tmp:
        if url := os.environ.get("DATABASE_URL"):
            server = normalize_database_url(url)
        else:
            from app.store.embedded import start_embedded

            server = start_embedded(Path(tmp), database="postgres")
        name = f"bs_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(asyncpg_dsn(server))
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = sa.make_url(server).set(database=name).render_as_string(hide_password=False)
        engine = make_engine(url)
        await migrations.upgrade(engine)
        await engine.dispose()
        try:
            yield url
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": percentile(values, 50), "p99": percentile(values, 99), "mean": statistics.fmean(values),
            "n": len(values)}


def report(name: str, rows: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> Path:
    """Print rows (figure, value, unit, target, baseline, ratio, ok) and write JSON."""
    print(f"\n## {name}\n")
    print("| figure | value | target | baseline | ratio | ok |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        base = f"{r['baseline']:.4g} {r['unit']} ({r['baseline_name']})" if r.get("baseline") is not None else "—"
        ratio = f"{r['ratio']:.2f}×" if r.get("ratio") is not None else "—"
        ok = {True: "yes", False: "NO", None: "—"}[r.get("ok")]
        print(f"| {r['figure']} | {r['value']:.4g} {r['unit']} | {r.get('target', '—')} | {base} | {ratio} | {ok} |")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"bench": name, "at": datetime.now(UTC).isoformat(), "machine": {
        "cpus": os.cpu_count(), "python": platform.python_version(), "server": (os.environ.get("DATABASE_URL")
        and "DATABASE_URL") or "embedded"}, "rows": rows, **(extra or {})}, indent=2))
    return path
