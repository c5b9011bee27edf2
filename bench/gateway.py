"""Chat gateway figures (issue 7).

- added latency of /v1/chat/completions over calling the same local upstream
  directly, p50 and p99, at 1 and 32 concurrent clients (upstream, gateway and
  client are separate processes; direct and gateway rounds alternate so drift hits
  both alike; overhead = gateway percentile − direct percentile)
- the same beside a bare reverse proxy written with the same HTTP library (aiohttp)
  under the same uvicorn, forwarding the prepared body without settings
  (bench/bare_proxy.py): throughput and overhead p99 as ratios to it
- /v1/bots/{slug}/prepare throughput over HTTP at 32 clients, next to the pure
  pipeline (ChatService.prepare in process) as the ceiling

Run: uv run python -m bench.gateway
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

from app.domain.bots_yaml import load_bots
from app.domain.read_model import Resolver
from app.logging import configure_logging
from app.services import ChatService, SettingsService
from app.store.database import Database
from bench.common import fresh_database, report, summary

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 3  # alternating direct/gateway rounds per concurrency level
PER_ROUND = {1: 200, 32: 640}  # requests per round
PREPARE_SECONDS = 3.0


def request_body() -> dict[str, Any]:
    """A realistic chat: a dozen dated turns of conversation ending in a question."""
    now = time.time()
    messages: list[dict[str, Any]] = []
    for i in range(12):
        messages.append({"role": "user", "content": f"question {i}: " + "tell me more about it. " * 8,
                         "timestamp": now - 600 + i * 40})
        messages.append({"role": "assistant", "content": f"answer {i}: " + "here is what I know. " * 20,
                         "timestamp": now - 590 + i * 40})
    messages.append({"role": "user", "content": "and finally?", "timestamp": now})
    return {"model": "mira", "messages": messages}


JSON = {"content-type": "application/json"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start(args: list[str], env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(sys.executable, *args, cwd=ROOT, env={**os.environ, **env},
                                                stdout=asyncio.subprocess.DEVNULL)


async def wait_ready(client: aiohttp.ClientSession, url: str) -> None:
    for _ in range(600):
        try:
            async with client.get(url):
                return
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


async def post(client: aiohttp.ClientSession, url: str, content: bytes) -> bytes:
    async with client.post(url, data=content, headers=JSON) as r:
        body = await r.read()
        assert r.status == 200, body
        return body


async def timed(client: aiohttp.ClientSession, url: str, body: dict[str, Any], concurrency: int, n: int) -> list[float]:
    samples: list[float] = []
    per_client = n // concurrency
    content = msgspec.json.encode(body)  # encoded once: the client's own cost stays out of the figures

    async def worker() -> None:
        for _ in range(per_client):
            t0 = time.perf_counter_ns()
            await post(client, url, content)
            samples.append((time.perf_counter_ns() - t0) / 1e6)
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return samples


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux): contention-proof cost per request."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def overhead(client: aiohttp.ClientSession, upstream: str, gateway: str, proxy: str,
                   pids: tuple[int, int]) -> list[dict[str, Any]]:
    chat = request_body()
    prepared = await post(client, f"{gateway}/v1/bots/mira/prepare", msgspec.json.encode(chat))
    direct_body = msgspec.json.decode(prepared)["request"]
    rows = []
    for concurrency, n in PER_ROUND.items():
        await timed(client, f"{upstream}/v1/chat/completions", direct_body, concurrency, n // 4)  # warm up
        await timed(client, f"{gateway}/v1/chat/completions", chat, concurrency, n // 4)
        await timed(client, f"{proxy}/v1/chat/completions", direct_body, concurrency, n // 4)
        direct: list[float] = []
        via: list[float] = []
        bare: list[float] = []
        cpu = {"upstream": 0.0, "gateway": 0.0}
        wall = {"direct": 0.0, "gateway": 0.0, "proxy": 0.0}
        for _ in range(ROUNDS):
            started = time.perf_counter()
            direct += await timed(client, f"{upstream}/v1/chat/completions", direct_body, concurrency, n)
            wall["direct"] += time.perf_counter() - started
            started = time.perf_counter()
            bare += await timed(client, f"{proxy}/v1/chat/completions", direct_body, concurrency, n)
            wall["proxy"] += time.perf_counter() - started
            before, started = [cpu_seconds(p) for p in pids], time.perf_counter()
            via += await timed(client, f"{gateway}/v1/chat/completions", chat, concurrency, n)
            wall["gateway"] += time.perf_counter() - started
            for name, pid, t0 in zip(("upstream", "gateway"), pids, before, strict=True):
                cpu[name] += cpu_seconds(pid) - t0
        d, g, b = summary(direct), summary(via), summary(bare)
        for p, target in (("p50", "≤ 2 ms" if concurrency == 1 else None), ("p99", None)):
            row = {"figure": f"gateway overhead {p}, {concurrency} client(s)", "value": g[p] - d[p], "unit": "ms",
                   "baseline": d[p], "baseline_name": f"upstream direct {p}", "ratio": g[p] / d[p],
                   "gateway_ms": g[p], "samples": g["n"]}
            if target:
                row.update(target=target, ok=g[p] - d[p] <= 2)
            rows.append(row)
            # Beside the bare proxy: what the same library and server cost without any settings.
            own, floor = g[p] - d[p], max(b[p] - d[p], 0.01)
            rows.append({"figure": f"gateway overhead {p} vs the bare proxy's, {concurrency} client(s)",
                         "value": own, "unit": "ms", "baseline": floor,
                         "baseline_name": f"bare aiohttp proxy overhead {p}", "ratio": own / floor,
                         **({"target": "≤ 2× baseline", "ok": own <= 2 * floor} if p == "p99" and concurrency > 1
                            else {})})
        if concurrency > 1:
            rate = {k: len(via) / v for k, v in wall.items()}
            rows.append({"figure": f"chat throughput via the gateway, {concurrency} clients, 1 worker",
                         "value": rate["gateway"], "unit": "req/s", "baseline": rate["direct"],
                         "baseline_name": "upstream direct", "ratio": rate["gateway"] / rate["direct"]})
            rows.append({"figure": f"chat throughput via the gateway vs the bare proxy, {concurrency} clients",
                         "value": rate["gateway"], "unit": "req/s", "baseline": rate["proxy"],
                         "baseline_name": "bare aiohttp proxy, same uvicorn, 1 worker",
                         "ratio": rate["gateway"] / rate["proxy"], "target": "≥ 0.7× baseline",
                         "ok": rate["gateway"] >= 0.7 * rate["proxy"]})
        if concurrency == 1:
            per = {k: v * 1000 / len(via) for k, v in cpu.items()}
            rows.append({"figure": "gateway CPU per forwarded request", "value": per["gateway"], "unit": "ms",
                         "baseline": per["upstream"], "baseline_name": "minimal upstream's CPU per request",
                         "ratio": per["gateway"] / per["upstream"]})
    return rows


async def prepare_throughput(client: aiohttp.ClientSession, gateway: str, pid: int,
                             concurrency: int = 32) -> tuple[float, float]:
    """Requests per second at ``concurrency`` clients, and the gateway's CPU per request."""
    content = msgspec.json.encode(request_body())
    done = 0
    deadline = time.perf_counter() + PREPARE_SECONDS

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await post(client, f"{gateway}/v1/bots/mira/prepare", content)
            done += 1
    started, cpu = time.perf_counter(), cpu_seconds(pid)
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started), (cpu_seconds(pid) - cpu) * 1000 / done


def pure_prepare_rate() -> float:
    bots = load_bots([("bots.yaml", (ROOT / "bots.yaml").read_text())])
    # The pipeline alone: a database that is never connected to (preparing reads only memory).
    service = SettingsService(Database("postgresql+asyncpg://unused@127.0.0.1:1/none"), Resolver(bots, {}))
    chat = ChatService(service)
    body = request_body()
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < 1.0:
        chat.prepare(body)
        n += 1
    return n / (time.perf_counter() - started)


async def main() -> None:
    configure_logging("json", "warning")
    up_port, gw_port, px_port = free_port(), free_port(), free_port()
    upstream, gateway = f"http://127.0.0.1:{up_port}", f"http://127.0.0.1:{gw_port}"
    proxy = f"http://127.0.0.1:{px_port}"
    async with fresh_database() as url:
        procs = [await start(["-m", "uvicorn", "bench.upstream:app", "--port", str(up_port), "--log-level",
                              "warning", "--no-access-log"], {}),
                 await start(["-c", "from app.cli.main import main; main()", "serve", "--port", str(gw_port),
                              "--no-migrate"],
                             {"DATABASE_URL": url, "BOTSETTINGS_UPSTREAM_URL": f"{upstream}/v1",
                              "BOTSETTINGS_BOTS_YAML": str(ROOT / "bots.yaml"), "BOTSETTINGS_LOG_LEVEL": "warning",
                              "BOTSETTINGS_LOG_FORMAT": "json"}),
                 await start(["-m", "uvicorn", "bench.bare_proxy:app", "--port", str(px_port), "--log-level",
                              "warning", "--no-access-log"], {"BENCH_UPSTREAM": f"{upstream}/v1"})]
        try:
            # aiohttp: a quarter of httpx's CPU per request, so the client is not what is measured
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as client:
                await wait_ready(client, f"{upstream}/")
                await wait_ready(client, f"{gateway}/healthz")
                await wait_ready(client, f"{proxy}/")
                rows = await overhead(client, upstream, gateway, proxy, (procs[0].pid, procs[1].pid))
                rate, cpu_ms = await prepare_throughput(client, gateway, procs[1].pid)
        finally:
            for proc in procs:
                proc.terminate()
                await proc.wait()
    pure = pure_prepare_rate()
    rows.append({"figure": "/prepare throughput, 32 clients, 1 worker", "value": rate, "unit": "req/s",
                 "baseline": pure, "baseline_name": "pure pipeline in process, 1 core", "ratio": rate / pure})
    rows.append({"figure": "/prepare gateway CPU per request", "value": cpu_ms, "unit": "ms",
                 "capacity_per_core_req_s": 1000 / cpu_ms})
    report("gateway", rows, {"note": "client, gateway (1 worker) and upstream are separate processes sharing "
                                     "the machine's cores; CPU figures are immune to that contention"})


if __name__ == "__main__":
    asyncio.run(main())
