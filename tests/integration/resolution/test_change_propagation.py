"""Changes reaching another process: from the NOTIFY payload when the batch fits in
it, from the log when it does not or when a gap is seen (app/store/listener.py)."""

from __future__ import annotations

import asyncio

import asyncpg

from app.domain import scopes
from app.domain.events import AppliedChange
from app.runtime import Runtime
from app.store import schema
from tests.support.polling import eventually

MIRA = scopes.bot("mira")


async def test_a_small_change_reaches_another_process_through_the_payload(pair: tuple[Runtime, Runtime]) -> None:
    a, b = pair
    heard: list[AppliedChange] = []
    b.service.subscribe(heard.append)
    assert b.listener is not None
    from_log = b.listener.from_log
    result = await a.service.patch(MIRA, {"temperature": 0.3, "top_p": 0.4}, actor="t", reason="small")
    await eventually(lambda: b.service.revision == result.last_revision)
    assert b.service.snapshot("mira")["temperature"] == 0.3 and b.service.snapshot("mira")["top_p"] == 0.4
    assert b.listener.from_payload >= 1 and b.listener.from_log == from_log  # no query was needed
    assert [(c.change_id, c.first_revision, c.last_revision, c.keys) for c in heard] == [
        (result.change_id, 1, 2, ["temperature", "top_p"])]


async def test_a_change_too_big_for_the_payload_is_read_from_the_log(pair: tuple[Runtime, Runtime],
                                                                     raw: asyncpg.Connection) -> None:
    a, b = pair
    assert b.listener is not None
    received: asyncio.Queue[str] = asyncio.Queue()
    await raw.add_listener(schema.NOTIFY_CHANNEL, lambda *args: received.put_nowait(args[3]))
    prompt = "You are a very patient bot. " * 400  # ~11 kB: over PostgreSQL's 8,000-byte limit
    from_log = b.listener.from_log
    result = await a.service.patch(MIRA, {"system_prompt": prompt, "temperature": 0.2}, actor="t")
    payload = await asyncio.wait_for(received.get(), 5)
    assert payload == f'{{"first":1,"last":{result.last_revision}}}'  # the range only
    await eventually(lambda: b.service.revision == result.last_revision)
    assert b.service.snapshot("mira")["system_prompt"] == prompt
    assert b.listener.from_log == from_log + 1
    # And the next small change comes through the payload again.
    from_payload = b.listener.from_payload
    second = await a.service.patch(MIRA, {"temperature": 0.25}, actor="t")
    await eventually(lambda: b.service.revision == second.last_revision)
    assert b.service.snapshot("mira")["temperature"] == 0.25 and b.listener.from_payload == from_payload + 1


async def test_a_gap_before_a_payload_is_filled_from_the_log(pair: tuple[Runtime, Runtime],
                                                             raw: asyncpg.Connection) -> None:
    """A change whose NOTIFY never arrives (here: written with its notification
    suppressed) leaves a gap; the next payload shows it, and B reads the log."""
    a, b = pair
    assert b.listener is not None
    await a.service.patch(MIRA, {"temperature": 0.3}, actor="t")
    await eventually(lambda: b.service.revision == 1)
    # Revision 2, committed without a NOTIFY reaching anyone.
    await raw.execute("""
        WITH ev AS (INSERT INTO settings_events (revision, change_id, scope_type, scope_id, key, op, value,
                        previous, had_previous, key_version, actor, reason, source, recorded_at)
                    VALUES (2, '00000000-0000-0000-0000-000000000002', 'bot', 'mira', 'top_p', 'set', '0.7',
                            NULL, false, 1, 'quiet', '', 'api', clock_timestamp())),
             ch AS (INSERT INTO settings_changes (id, first_revision, last_revision, event_count, actor, reason,
                        source, recorded_at)
                    VALUES ('00000000-0000-0000-0000-000000000002', 2, 2, 1, 'quiet', '', 'api',
                            clock_timestamp())),
             cur AS (INSERT INTO settings_current VALUES ('bot', 'mira', 'top_p', '0.7', 1, 2, now(), 'quiet'))
        UPDATE settings_head SET revision = 2""")
    from_log = b.listener.from_log
    third = await a.service.patch(MIRA, {"temperature": 0.35}, actor="t")
    await eventually(lambda: b.service.revision == third.last_revision)
    assert b.service.snapshot("mira")["top_p"] == 0.7 and b.service.snapshot("mira")["temperature"] == 0.35
    assert b.listener.from_log == from_log + 1
    # A itself was behind too when its own batch committed: it caught up from the log.
    assert a.service.snapshot("mira")["top_p"] == 0.7
    assert (await a.service.verify()).ok


async def test_own_writes_are_visible_before_the_answer_without_waiting_for_the_notify(
        pair: tuple[Runtime, Runtime]) -> None:
    a, _ = pair
    assert a.listener is not None
    from_log = a.listener.from_log
    for n in range(20):
        result = await a.service.patch(MIRA, {"memory_n_results": n + 1}, actor="t")
        assert a.service.revision >= (result.last_revision or 0)
        assert a.service.snapshot("mira")["memory_n_results"] == n + 1
    assert a.listener.from_log == from_log

