"""The issue's acceptance check, as written: the real `botsettings serve`, the synchronous
official client, and an operator's `botsettings set` changing the next call."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import openai
import pytest

from bench.process import BIN, await_ready, free_port
from tests.support.upstream import FakeUpstream, serving_upstream


@pytest.fixture
async def upstream() -> AsyncIterator[FakeUpstream]:
    async with serving_upstream() as fake:
        yield fake


async def test_serve_forwards_each_bot_and_a_cli_set_changes_the_next_call(
        upstream: FakeUpstream, db_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "BOTSETTINGS_DATA_DIR": str(tmp_path),
           "BOTSETTINGS_UPSTREAM_URL": upstream.url}
    proc = subprocess.Popen([BIN, "serve", "--port", str(port), "--no-migrate"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await await_ready(f"http://127.0.0.1:{port}", proc)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0)

        def ask(bot: str) -> str:  # the sync client, in a thread: the fake upstream runs in this loop
            reply = client.chat.completions.create(model=bot, messages=[{"role": "user", "content": "hi"}])
            return reply.choices[0].message.content or ""

        assert await asyncio.to_thread(ask, "mira") == "grok-4-fast got 2 messages"
        assert await asyncio.to_thread(ask, "nova") == "qwen3-8b got 2 messages"
        mira, nova = upstream.received
        assert mira["messages"][0]["content"].startswith("You are Mira")
        assert nova["messages"][0]["content"].startswith("You are Nova")
        assert (mira["temperature"], mira["max_tokens"], nova["temperature"], nova["max_tokens"]) == (
            0.85, 2048, 0.2, 512)
        set_cmd = await asyncio.create_subprocess_exec(BIN, "set", "temperature", "0.2", "--bot", "mira", env=env,
                                                       stdout=subprocess.DEVNULL)
        assert await set_cmd.wait() == 0
        deadline = time.monotonic() + 10
        while True:  # the serving process hears of the change by NOTIFY, within milliseconds
            await asyncio.to_thread(ask, "mira")
            if upstream.received[-1]["temperature"] == 0.2 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        assert upstream.received[-1]["temperature"] == 0.2
        client.close()
    finally:
        proc.terminate()
        proc.wait(20)
