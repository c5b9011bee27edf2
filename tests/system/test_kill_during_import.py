"""kill -9 `botsettings import` in the middle of a 10,000-key import: afterwards
`verify` passes and the import is either wholly there or wholly absent."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import asyncpg
import pytest

from app.domain import scopes
from app.domain.export_doc import render_export
from app.domain.registry import Kind, SettingDef, keys_for
from app.domain.scopes import ScopeType
from app.services import SettingsService
from bench.process import BIN

# A backend inside the import's write transaction: it has taken the head lock or
# is appending (the planning reads before it only SELECT).
IN_WRITE = """SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
              AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
              AND query ~* '(FOR UPDATE|INSERT INTO settings_)'"""


def _import_file(tmp_path: Path) -> Path:
    def value(d: SettingDef) -> object:  # a valid value of each key (its default, else one of its type)
        if d.default is not None:
            return d.default
        if d.kind is Kind.INT:
            return int(d.minimum or 0) + 1
        return {"enabled": False} if d.kind is Kind.JSON else "x"

    keys = keys_for(ScopeType.BOT)[:40]
    assert len(keys) == 40
    state = {scopes.bot(f"bot{b:03d}"): {d.key: value(d) for d in keys} for b in range(250)}
    path = tmp_path / "import.yaml"
    path.write_text(render_export(state, include_global=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("delay_in_transaction", [0.0, 0.1, 0.3])
async def test_kill_9_mid_import_leaves_all_or_nothing(db_url: str, service: SettingsService, tmp_path: Path,
                                                       raw: asyncpg.Connection, delay_in_transaction: float) -> None:
    path = _import_file(tmp_path)
    env = {**os.environ, "DATABASE_URL": db_url, "BOTSETTINGS_DATA_DIR": str(tmp_path)}
    proc = await asyncio.create_subprocess_exec(BIN, "import", str(path), env=env, stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL)
    for _ in range(2000):
        if await raw.fetchval(IN_WRITE):
            break
        assert proc.returncode is None, "the import finished before it could be killed"
        await asyncio.sleep(0.005)
    else:
        pytest.fail("the import never started writing")
    await asyncio.sleep(delay_in_transaction)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    # The server notices the dead client and rolls its transaction back.
    for _ in range(200):
        if not await raw.fetchval(IN_WRITE):
            break
        await asyncio.sleep(0.05)
    events = await raw.fetchval("SELECT count(*) FROM settings_events")
    assert events in (0, 10_000), events
    if delay_in_transaction == 0.0:
        assert events == 0, "killed inside its write transaction, the import must be absent"
    assert await raw.fetchval("SELECT revision FROM settings_head") == events
    assert await raw.fetchval("SELECT count(*) FROM settings_changes") == (1 if events else 0)
    verify = await asyncio.create_subprocess_exec(BIN, "verify", env=env, stdout=subprocess.PIPE)
    out, _ = await verify.communicate()
    assert verify.returncode == 0 and b"OK: the projection equals a replay" in out
    # And the store takes writes again at once.
    result = await service.set_value(scopes.bot("mira"), "temperature", 0.4, actor="after")
    assert result.first_revision == events + 1
