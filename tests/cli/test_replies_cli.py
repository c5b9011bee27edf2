"""`botsettings replies list|show`: the reply log from the command line."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.cli.output import EXIT_INVALID, EXIT_NOT_FOUND
from app.domain.replies import Reply, Usage
from app.store import replies
from app.store.database import Database
from tests.support.cli import run_cli


def reply(n: int, bot: str, at: datetime) -> Reply:
    return Reply(request_id=f"req-{n}", bot=bot, at=at, revision=n, pinned=n == 2, conversation_id="c" if n == 2
                 else None, settings={"temperature": [0.5 + n / 10, "bot"], "top_p": [0.95, "default"]},
                 overrides={"top_p": {"field": "top_p", "value": 0.95}} if n == 1 else {}, params={"model": "m"},
                 model="grok-4-fast", model_source="default_model", status=502 if n == 3 else 200,
                 upstream_status=500 if n == 3 else None, error="the upstream answered 500" if n == 3 else None,
                 latency_ms=12.5, finish_reason="length" if n == 1 else "stop", context={},
                 usage=Usage(prompt_tokens=3, completion_tokens=4, total_tokens=7))


async def test_replies_list_and_show_print_the_lineage_as_a_table_or_json(db: Database, db_url: str,
                                                                          tmp_path: Path) -> None:
    now = datetime.now(UTC)
    async with db.write() as conn:
        await replies.insert_replies(conn, [reply(1, "mira", now - timedelta(days=3)), reply(2, "mira", now),
                                            reply(3, "nova", now)])
    env = {"DATABASE_URL": db_url, "BOTSETTINGS_DATA_DIR": str(tmp_path)}

    def run_in_thread(*args: str, code: int = 0) -> str:
        return run_cli("replies", *args, env=env, code=code).output

    async def invoke(*args: str, code: int = 0) -> str:
        return await asyncio.to_thread(run_in_thread, *args, code=code)

    listed = await invoke("list")
    assert listed.index("req-3") < listed.index("req-2") < listed.index("req-1")
    assert "2 pinned" in listed and "length" in listed
    recent = json.loads(await invoke("list", "--bot", "mira", "--since", "1d", "--json"))
    assert [r["request_id"] for r in recent["replies"]] == ["req-2"]
    errors = json.loads(await invoke("list", "--status", "error", "--json"))["replies"]
    assert [r["request_id"] for r in errors] == ["req-3"]
    shown = await invoke("show", "req-1")
    assert "settings revision 1" in shown and "temperature" in shown and "0.6" in shown
    assert "overrides: top_p (from top_p)" in shown and "finish length" in shown
    assert "error: the upstream answered 500" in await invoke("show", "req-3")
    assert json.loads(await invoke("show", "req-2", "--json"))["conversation_id"] == "c"
    assert "no reply with request id" in await invoke("show", "req-9", code=EXIT_NOT_FOUND)
    assert "request_id" in await invoke("show", "bad id", code=EXIT_INVALID)
    assert "status" in await invoke("list", "--status", "fine", code=EXIT_INVALID)
