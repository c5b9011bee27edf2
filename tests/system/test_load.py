"""A bounded mixed load on a real service process: no error, no lost update.
The full-length run (32 clients, 60 s) is `uv run python -m bench load`."""

from __future__ import annotations

from pathlib import Path

from bench.load import lost_updates, mixed_load, port_of
from bench.process import service_process


async def test_mixed_load_has_no_error_and_loses_no_update(db_url: str, tmp_path: Path) -> None:
    with service_process(db_url, tmp_path) as (base_url, _):
        result = await mixed_load(port_of(base_url), clients=16, seconds=6)
    assert not result.errors, result.errors[:5]
    assert len(result.reads) > 100 and len(result.acknowledged) > 20
    assert await lost_updates(db_url, result) == []


async def test_the_checker_reports_an_acknowledged_write_missing_from_the_log(db_url: str) -> None:
    from app.domain import scopes
    from app.services import SettingsService
    from app.store.database import Database
    from bench.load import LoadResult

    db = Database(db_url)
    await SettingsService(db).set_value(scopes.bot("load00"), "system_prompt", "kept", actor="t")
    await db.dispose()
    claimed = LoadResult(seconds=1, reads=[], writes=[], errors=[],
                         acknowledged=[("load00", "kept", 1), ("load01", "never written", 2)])
    problems = await lost_updates(db_url, claimed)
    assert problems == ["acknowledged write load01='never written' at 2 is not in the log",
                        "load01: the stored prompt is not the last acknowledged one"]
