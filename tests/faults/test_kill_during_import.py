"""kill -9 in the middle of a 10,000-key change: afterwards the log verifies and the
change is either wholly there or wholly absent."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

import asyncpg
import pytest

from app.domain import scopes
from app.service import SettingsService

# The victim: one process applying one 10,000-operation change (250 bots × 40 keys),
# the same write path every import takes. It says when it starts the transaction.
VICTIM = """
import asyncio, sys
from app.domain import scopes
from app.domain.events import ChangeRequest, Source, set_op
from app.domain.registry import keys_for
from app.domain.scopes import ScopeType
from app.service import SettingsService
from app.store.engine import make_engine

async def main():
    def value(d):
        if d.kind.value == "json":
            return {"enabled": False}
        return "x" if d.default is None or d.key == "name" else d.default
    keys = keys_for(ScopeType.BOT)[:40]
    assert len(keys) == 40
    ops = [set_op(scopes.bot(f"bot{b:03d}"), d.key, value(d)) for b in range(250) for d in keys]
    service = SettingsService(make_engine(sys.argv[1]))
    print("started", flush=True)
    await service.apply(ChangeRequest(ops=ops, actor="import", source=Source.MIGRATION))
    print("done", flush=True)

asyncio.run(main())
"""


@pytest.mark.slow
@pytest.mark.parametrize("delay_in_transaction", [0.0, 0.1, 0.3])
async def test_kill_9_mid_change_leaves_all_or_nothing(db_url: str, service: SettingsService,
                                                       raw: asyncpg.Connection, delay_in_transaction: float) -> None:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", VICTIM, db_url, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert (await proc.stdout.readline()).strip() == b"started"
    # Wait until the victim's transaction is open (it holds the head lock), then kill it.
    for _ in range(400):
        if await raw.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                              "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"):
            break
        await asyncio.sleep(0.005)
    else:
        pytest.fail("the victim never opened its transaction")
    await asyncio.sleep(delay_in_transaction)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    # The server notices the dead client and rolls its transaction back.
    for _ in range(100):
        busy = await raw.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                  "AND state LIKE 'idle in transaction%' OR wait_event_type = 'Lock'")
        if not busy:
            break
        await asyncio.sleep(0.05)
    events = await raw.fetchval("SELECT count(*) FROM settings_events")
    assert events in (0, 10_000), events
    if delay_in_transaction == 0.0:
        assert events == 0, "killed inside its transaction, the change must be absent"
    assert await raw.fetchval("SELECT revision FROM settings_head") == events
    assert await raw.fetchval("SELECT count(*) FROM settings_changes") == (1 if events else 0)
    assert (await service.verify()).ok
    # And the store takes writes again at once.
    result = await service.set_value(scopes.bot("mira"), "temperature", 0.4, actor="after")
    assert result.first_revision == events + 1
