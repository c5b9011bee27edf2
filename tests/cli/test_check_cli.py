"""`botsettings check` and the model limits on the CLI's writes (docs/models.md), on the
repository's bots.yaml: mira on grok-4-fast, nova on qwen3-8b, spark on llama-3.2-3b."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from app.cli.check import EXIT_BOT_FAILS
from app.cli.output import EXIT_INVALID
from app.domain import scopes
from app.domain.events import ChangeRequest, Source, set_op
from app.store import writer
from app.store.database import Database


def store_before_the_catalogue(db_url: str, slug: str, key: str, value: int) -> None:
    """A value written before model limits existed (the store's writer, below the check)."""
    async def write() -> None:
        db = Database(db_url)
        ops = [set_op(scopes.bot(slug), key, value)]
        await writer.apply_change(db, ChangeRequest(ops=ops, actor="legacy", source=Source.MIGRATION), ops)
        await db.dispose()
    asyncio.run(write())


def test_check_reports_every_bot_and_exits_non_zero_when_one_fails(invoke, db_url: str) -> None:
    out = invoke("check")
    assert "3 of 3 bot(s) fit their models" in out and "llama-3.2-3b" in out
    assert json.loads(invoke("check", "--json"))["ok"] is True
    store_before_the_catalogue(db_url, "spark", "history_tokens", 40000)
    out = invoke("check", code=EXIT_BOT_FAILS)
    assert "2 of 3 bot(s) fit their models" in out
    assert "bot 'spark' (model llama-3.2-3b): history_tokens 40000 (bot) + max_output_tokens 4096 (default)" in out
    report = json.loads(invoke("check", "--json", code=EXIT_BOT_FAILS))
    assert report["ok"] is False
    assert {b["bot"]: b["ok"] for b in report["bots"]} == {"mira": True, "nova": True, "spark": False}
    assert report["bots"][2]["violations"][0]["limit"] == 32768


def test_set_and_import_are_refused_naming_the_bot(invoke, tmp_path: Path) -> None:
    out = invoke("set", "history_tokens", "30000", "--bot", "spark", code=EXIT_INVALID)
    assert "bot 'spark' (model llama-3.2-3b)" in out and "beyond the model's context window 32768" in out
    invoke("set", "history_tokens", "20000", "--bot", "spark")
    exported = invoke("export", "--bot", "spark")
    assert "history_tokens: 20000" in exported
    path = tmp_path / "spark.yaml"
    path.write_text(exported.replace("history_tokens: 20000", "history_tokens: 30000"), encoding="utf-8")
    out = invoke("import", str(path), code=EXIT_INVALID)
    assert "bot 'spark'" in out and "history_tokens 30000 (bot)" in out
    assert invoke("get", "history_tokens", "--bot", "spark").strip() == "20000"
