"""Resolution against a real database, and every runtime kept current by LISTEN/NOTIFY
(a real `serve` process: tests/system/test_notify_across_processes.py)."""

from __future__ import annotations

import asyncio
import socket

import asyncpg
import pytest

from app.domain import scopes
from app.domain.errors import NotFound, ValidationFailed
from app.domain.resolution import Layer
from app.services import SettingsService
from app.store import reader
from app.store.database import Database
from app.store.listener import APPLICATION_NAME, Listener
from tests.support.polling import eventually
from tests.support.runtimes import MakeRuntime

MIRA, NOVA, GLOBAL = scopes.bot("mira"), scopes.bot("nova"), scopes.GLOBAL
YAML = "bots:\n  mira:\n    settings:\n      temperature: 0.3\n  nova:\n    name: Nova\n"


async def test_deleting_each_layer_lets_the_next_one_show_through(make_runtime: MakeRuntime) -> None:
    rt = await make_runtime(bots_yaml=YAML, env={"LLM_BAWT_TEMPERATURE": "0.4"})
    svc = rt.service
    await svc.set_value(GLOBAL, "temperature", 0.2, actor="t")
    await svc.set_value(MIRA, "temperature", 0.1, actor="t")
    seen = []
    for delete in (MIRA, GLOBAL, None):
        snap = svc.snapshot("mira")
        seen.append((snap["temperature"], snap.source("temperature").value))
        if delete:
            await svc.delete_value(delete, "temperature", actor="t")
    # No YAML value for nova: env, then default once env is gone.
    seen.append((svc.snapshot("nova")["temperature"], svc.snapshot("nova").source("temperature").value))
    bare = await make_runtime(bots_yaml=YAML)
    seen.append((bare.service.snapshot("nova")["temperature"], bare.service.snapshot("nova").source("temperature")))
    assert seen == [(0.1, "bot"), (0.2, "global"), (0.3, "yaml"), (0.4, "env"), (0.8, Layer.DEFAULT)]
    over = svc.snapshot("mira", {"temperature": 0.9})
    assert (over["temperature"], over.source("temperature"), over.revision) == (0.9, Layer.REQUEST, 4)


async def test_mira_and_nova_diverge_in_one_process(make_runtime: MakeRuntime) -> None:
    rt = await make_runtime()  # the project's bots.yaml
    svc = rt.service
    mira, nova = svc.snapshot("mira"), svc.snapshot("nova")
    for key in ("history_tokens", "history_duration_seconds", "history_bridge_messages",
                "summary_count", "memory_n_results"):
        assert mira[key] > nova[key], key
        assert mira.source(key) is Layer.YAML
    await svc.patch(NOVA, {"history_tokens": 2000, "history_bridge_messages": 1}, actor="t")
    await svc.patch(GLOBAL, {"history_tokens": 20000, "memory_n_results": 7}, actor="t")
    mira, nova = svc.snapshot("mira"), svc.snapshot("nova")
    assert (mira["history_tokens"], mira.source("history_tokens")) == (20000, Layer.GLOBAL)
    assert (nova["history_tokens"], nova.source("history_tokens")) == (2000, Layer.BOT)
    assert nova["history_bridge_messages"] == 1 and mira["history_bridge_messages"] == 24
    assert mira["memory_n_results"] == nova["memory_n_results"] == 7


async def test_unknown_bots_are_errors_and_bad_overrides_are_refused(make_runtime: MakeRuntime) -> None:
    rt = await make_runtime(bots_yaml=YAML)
    with pytest.raises(NotFound, match="unknown bot 'zed'"):
        rt.service.snapshot("zed")
    await rt.service.set_value(scopes.bot("zed"), "temperature", 0.5, actor="t")
    assert rt.service.snapshot("zed")["name"] == "Zed"  # a database scope makes it known
    assert "zed" in rt.resolver.known_bots()
    with pytest.raises(ValidationFailed) as exc:
        rt.service.snapshot("mira", {"temperature": 3, "nonsense": 1})
    assert [e.key for e in exc.value.errors] == ["temperature", "nonsense"]


async def test_a_killed_listen_connection_reconnects_and_misses_nothing(
        make_runtime: MakeRuntime, service: SettingsService, db: Database, raw: asyncpg.Connection) -> None:
    follower = await make_runtime(listener_poll_seconds=0.05)
    writes = 0

    async def writer() -> None:
        nonlocal writes
        for i in range(150):
            await service.patch(scopes.bot(f"bot{i % 5}"), {"temperature": round(i / 100, 2), "top_p": 0.5}, actor="w")
            writes += 1

    async def killer() -> None:
        while writes < 150:
            await raw.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE application_name = $1 AND datname = current_database()", APPLICATION_NAME)
            await asyncio.sleep(0.03)

    await asyncio.gather(writer(), killer())
    head = await raw.fetchval("SELECT revision FROM settings_head")
    await eventually(lambda: follower.resolver.revision == head, timeout=10)
    async with db.snapshot() as conn:
        _, state = await reader.all_current(conn)
    for scope, values in state.items():
        assert dict(follower.resolver.stored(scope)) == values
    assert follower.listener is not None and follower.listener.reconnects > 0
    await follower.listener.wait_connected()
    assert not follower.resolver.stale


async def test_concurrent_snapshots_never_mix_revisions(make_runtime: MakeRuntime, service: SettingsService) -> None:
    reader_rt = await make_runtime(bots_yaml=YAML)
    await service.patch(MIRA, {"memory_n_results": 0, "history_bridge_messages": 0,
                               "summary_count": 0}, actor="w")
    await reader_rt.service.refresh()
    done = False
    seen: list[tuple[int, int, int]] = []

    async def writer() -> None:
        nonlocal done
        for i in range(1, 120):
            await service.patch(MIRA, {"memory_n_results": i, "history_bridge_messages": i,
                                       "summary_count": i}, actor="w")
        done = True

    async def snapshots() -> None:
        while not done:
            snap = reader_rt.service.snapshot("mira")
            seen.append((snap["memory_n_results"], snap["history_bridge_messages"],
                         snap["summary_count"]))
            await asyncio.sleep(0)

    await asyncio.gather(writer(), snapshots())
    assert len({s for s in seen}) > 10, "the reader should have seen many states"
    assert all(a == b == c for a, b, c in seen), [s for s in seen if len(set(s)) > 1][:5]


async def test_without_a_listen_connection_state_is_polled_and_marked_stale(
        make_runtime: MakeRuntime, service: SettingsService) -> None:
    rt = await make_runtime(bots_yaml=YAML, listen=False)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_dsn = f"postgresql://postgres@127.0.0.1:{closed.getsockname()[1]}/nowhere"
    listener = Listener(rt.db, rt.resolver, dsn=dead_dsn, poll_interval=0.05, max_backoff=0.2)
    await listener.start()
    try:
        await eventually(lambda: rt.resolver.stale, timeout=10)
        await service.set_value(MIRA, "temperature", 0.65, actor="t")
        await eventually(lambda: rt.service.snapshot("mira")["temperature"] == 0.65, timeout=3)
        assert rt.service.snapshot("mira").stale is True
        assert not listener.connected and listener.last_error
    finally:
        await listener.stop()
        closed.close()


async def test_subscribers_hear_each_applied_change(make_runtime: MakeRuntime, service: SettingsService) -> None:
    rt = await make_runtime(bots_yaml=YAML)
    heard = []
    unsubscribe = rt.resolver.subscribe(heard.append)
    result = await service.patch(MIRA, {"temperature": 0.5, "top_p": 0.5}, actor="t")
    await service.set_value(GLOBAL, "search_depth", "advanced", actor="t")
    await eventually(lambda: len(heard) == 2, timeout=10)
    assert (heard[0].change_id, heard[0].first_revision, heard[0].last_revision) == (result.change_id, 1, 2)
    assert heard[0].keys == ["temperature", "top_p"] and heard[1].scopes == ["global"]
    unsubscribe()
