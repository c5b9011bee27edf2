"""Conversation pins: what a pinned chat request costs over an unpinned one (issue 18).

One `botsettings serve` process (1 worker, reply log on at its default `meta`) in
front of the minimal upstream, both separate processes. A conversation is pinned at
revision 0, then the bot changes, so every pinned request resolves the bot *as of*
an older revision (from the process's as-of cache after the first) while unpinned
requests read the live snapshot. Unpinned and pinned rounds alternate so drift hits
both alike; figures: latency p50/p99 of each and the difference, and the gateway's
CPU per request of each (immune to the other processes on the machine). Beside it,
the same gateway with BOTSETTINGS_REPLY_LOG=off: what recording each reply costs.

Run: uv run python -m bench pins
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import msgspec

from app.logging import configure_logging
from bench.common import fresh_database, report, summary
from bench.gateway import ROOT, cpu_seconds, free_port, request_body, start, wait_ready

ROUNDS = 3
PER_ROUND = 300
CONVERSATION = "bench-conversation"


async def timed(client: aiohttp.ClientSession, url: str, content: bytes, headers: dict[str, str],
                n: int) -> list[float]:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        async with client.post(url, data=content, headers=headers) as r:
            body = await r.read()
            assert r.status == 200, body
        samples.append((time.perf_counter_ns() - t0) / 1e6)
    return samples


async def reply_log_cost(client: aiohttp.ClientSession, on: tuple[str, int], off: tuple[str, int]
                         ) -> dict[str, Any]:
    """CPU per unpinned request of a gateway recording replies (meta) against one with the log off."""
    content = msgspec.json.encode(request_body())
    plain = {"content-type": "application/json"}
    cpu = {"on": 0.0, "off": 0.0}
    for gateway, _ in (on, off):
        await timed(client, f"{gateway}/v1/chat/completions", content, plain, PER_ROUND // 3)  # warm up
    for _ in range(ROUNDS):
        for name, (gateway, pid) in (("on", on), ("off", off)):
            before = cpu_seconds(pid)
            await timed(client, f"{gateway}/v1/chat/completions", content, plain, PER_ROUND)
            cpu[name] += cpu_seconds(pid) - before
    per = {k: v * 1000 / (ROUNDS * PER_ROUND) for k, v in cpu.items()}
    return {"figure": "gateway CPU per chat request with the reply log (meta)", "value": per["on"], "unit": "ms",
            "baseline": per["off"], "baseline_name": "BOTSETTINGS_REPLY_LOG=off, same run",
            "ratio": per["on"] / per["off"]}


async def measure(client: aiohttp.ClientSession, gateway: str, pid: int) -> list[dict[str, Any]]:
    url = f"{gateway}/v1/chat/completions"
    content = msgspec.json.encode(request_body())
    plain = {"content-type": "application/json"}
    pinned = {**plain, "X-Conversation-Id": CONVERSATION}
    await timed(client, url, content, pinned, 1)  # the conversation's first request pins revision 0
    async with client.patch(f"{gateway}/v1/settings/bots/mira", json={"temperature": 0.5}) as r:
        assert r.status == 200, await r.text()
    async with client.post(url, data=content, headers=pinned) as r:
        assert r.headers["X-Settings-Revision"] == "0" and r.status == 200  # resolved as of the pin
    await timed(client, url, content, plain, PER_ROUND // 3)  # warm up both paths
    await timed(client, url, content, pinned, PER_ROUND // 3)
    samples: dict[str, list[float]] = {"unpinned": [], "pinned": []}
    cpu = {"unpinned": 0.0, "pinned": 0.0}
    for _ in range(ROUNDS):
        for name, headers in (("unpinned", plain), ("pinned", pinned)):
            before = cpu_seconds(pid)
            samples[name] += await timed(client, url, content, headers, PER_ROUND)
            cpu[name] += cpu_seconds(pid) - before
    u, p = summary(samples["unpinned"]), summary(samples["pinned"])
    per = {k: v * 1000 / len(samples[k]) for k, v in cpu.items()}
    rows = []
    for q in ("p50", "p99"):
        rows.append({"figure": f"pinned chat request overhead vs unpinned, {q}, 1 client", "value": p[q] - u[q],
                     "unit": "ms", "baseline": u[q], "baseline_name": f"unpinned request {q}",
                     "ratio": p[q] / u[q], "pinned_ms": p[q], "samples": p["n"]})
    rows.append({"figure": "gateway CPU per pinned chat request", "value": per["pinned"], "unit": "ms",
                 "baseline": per["unpinned"], "baseline_name": "per unpinned request, same run",
                 "ratio": per["pinned"] / per["unpinned"]})
    return rows


async def main() -> None:
    configure_logging("json", "warning")
    up_port, gw_port, off_port = free_port(), free_port(), free_port()
    upstream, gateway = f"http://127.0.0.1:{up_port}", f"http://127.0.0.1:{gw_port}"
    unlogged = f"http://127.0.0.1:{off_port}"
    async with fresh_database() as url:
        env = {"DATABASE_URL": url, "BOTSETTINGS_UPSTREAM_URL": f"{upstream}/v1",
               "BOTSETTINGS_BOTS_YAML": str(ROOT / "bots.yaml"), "BOTSETTINGS_LOG_LEVEL": "warning",
               "BOTSETTINGS_LOG_FORMAT": "json", "BOTSETTINGS_SCHEDULER": "off"}
        serve = ["-c", "from app.cli.main import main; main()", "serve", "--no-migrate", "--port"]
        procs = [await start(["-m", "uvicorn", "bench.upstream:app", "--port", str(up_port), "--log-level",
                              "warning", "--no-access-log"], {}),
                 await start([*serve, str(gw_port)], env),
                 await start([*serve, str(off_port)], {**env, "BOTSETTINGS_REPLY_LOG": "off"})]
        try:
            async with aiohttp.ClientSession() as client:
                await wait_ready(client, f"{upstream}/")
                await wait_ready(client, f"{gateway}/healthz")
                await wait_ready(client, f"{unlogged}/healthz")
                rows = await measure(client, gateway, procs[1].pid)
                rows.append(await reply_log_cost(client, (gateway, procs[1].pid), (unlogged, procs[2].pid)))
        finally:
            for proc in procs:
                proc.terminate()
                await proc.wait()
    report("pins", rows, {"note": "1 client, 1 worker; the pinned conversation resolves at an older revision "
                                  "than the head (an as-of snapshot), the unpinned requests at the head"})


if __name__ == "__main__":
    asyncio.run(main())
