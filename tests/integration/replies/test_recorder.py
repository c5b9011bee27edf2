"""The recorder on a real database: records queue without I/O, arrive in batches,
overflow is dropped and counted (never waited for), and the upstream's answer is read
for the finish reason and usage — of a JSON answer and of a stream's last events."""

from __future__ import annotations

import time

from app.domain.replies import ReplyFilter, ReplyLogMode, Usage
from app.runtime import Runtime
from app.services.reply_recorder import Forwarded, ReplyRecorder

HI = {"model": "nova", "messages": [{"role": "user", "content": "hello there"}], "temperature": 0.3}
ANSWER = (b'{"choices": [{"index": 0, "message": {"content": "x"}, "finish_reason": "length"}],'
          b' "usage": {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10}}')
STREAM_TAIL = (b'data: {"choices": [{"delta": {"content": "a"}, "finish_reason": null}]}\n\n'
               b'data: {"choices": [{"delta": {}, "finish_reason": "stop"}]}\n\n'
               b'data: {"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}}\n\n'
               b"data: [DONE]\n\n")


def forwarded(runtime: Runtime, n: int, *, body: bytes | None = None) -> Forwarded:
    prepared = runtime.services.chat.prepare(HI)
    return Forwarded(request_id=f"q{n}", prepared=prepared, at=time.time(), started=time.perf_counter(), body=body)


async def test_records_are_written_in_batches_and_overflow_is_dropped_and_counted(runtime: Runtime) -> None:
    recorder = ReplyRecorder(runtime.db, ReplyLogMode.META, queue_limit=40)
    for n in range(50):  # all at once, as a burst: no await in between
        recorder.completed(forwarded(runtime, n), 200, ANSWER)
    assert recorder.written == 0 and recorder.dropped == 10  # nothing written on the request path
    await recorder.flush()
    assert recorder.written == 40
    page = await runtime.services.replies.page(ReplyFilter(bot="nova"), 100)
    assert len(page.replies) == 40 and page.replies[-1].request_id == "q0"
    first = page.replies[-1]
    assert (first.finish_reason, first.usage) == ("length", Usage(prompt_tokens=9, completion_tokens=1,
                                                                   total_tokens=10))
    assert first.settings["temperature"] == [0.3, "request"] and first.messages is None


async def test_a_stream_is_read_from_its_tail_and_full_mode_keeps_the_messages(runtime: Runtime) -> None:
    recorder = ReplyRecorder(runtime.db, ReplyLogMode.FULL)
    item = forwarded(runtime, 1, body=b'{"model": "nova", "messages": [{"role": "user", "content": "hello"}]}')

    async def chunks():  # type: ignore[no-untyped-def]
        for i in range(0, len(STREAM_TAIL), 7):  # cut anywhere, as the network does
            yield STREAM_TAIL[i:i + 7]

    passed = b"".join([c async for c in recorder.tap(item, chunks())])
    assert passed == STREAM_TAIL  # through unchanged
    await recorder.flush()
    kept = (await runtime.services.replies.page(ReplyFilter(), 10)).replies[0]
    assert (kept.finish_reason, kept.usage) == ("stop", Usage(prompt_tokens=4, completion_tokens=2,
                                                               total_tokens=6))
    assert kept.messages == [{"role": "user", "content": "hello"}]


async def test_with_the_log_off_nothing_is_queued(runtime: Runtime) -> None:
    recorder = ReplyRecorder(runtime.db, ReplyLogMode.OFF)
    recorder.completed(forwarded(runtime, 1), 200, ANSWER)
    await recorder.flush()
    assert recorder.written == 0
    assert (await runtime.services.replies.page(ReplyFilter(), 10)).replies == []
