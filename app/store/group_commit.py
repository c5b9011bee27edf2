"""Group commit: changes that arrive while a batch transaction is in flight wait in a
queue and are committed together in the next one (app/store/writer.py).

One committer task per process drains the queue: it takes every waiting change (up
to :data:`MAX_BATCH_OPS` operations) and commits them in one transaction — one head
lock, one read of the key states, one statement that writes everything, one NOTIFY.
It exists only while there is work: the first change to arrive starts it, and it
ends when the queue is empty. No change waits for a timer: with nobody else writing,
a change is a batch of one and commits at once.

Each change keeps its own change id, revisions and If-Match outcome: a conflict is
answered to that change alone. A change whose caller is cancelled while it waits is
dropped; once its batch is in flight it commits with the others, unless every
caller of the batch has gone, and then the transaction is cancelled. A database error fails every change of its batch
(nothing of it was written). A change with an ``in_transaction`` step (the claim of
a scheduled change) is committed in a batch of its own, so its step can fail and
roll back its change without touching anyone else's. Answers are given only after
the commit, and after ``on_commit`` (which applies the batch to the local read
model) has run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
import msgspec
import structlog

from app.domain.batch import Planned
from app.domain.errors import BotSettingsError, Conflict, Unavailable
from app.domain.events import ChangeRequest, ChangeResult, Operation
from app.store import writer
from app.store.database import Database
from app.store.errors import is_transient, is_unavailable, unavailable_on_connection_loss
from app.store.known_state import KnownState, commit_known

log = structlog.get_logger("botsettings.writer")

# A batch stops growing past this many operations (a 10,000-key import is one change,
# and commits alone); single-key PATCHes from many clients all fit.
MAX_BATCH_OPS = 2_000

OnCommit = Callable[[writer.Committed], Awaitable[None]]
# Judges the changes of a batch, in order, against the state the committed ones left
# (the model limits of app/domain/model_limits.py): None, or the refusal of one change.
Check = Callable[[list[list[Operation]]], Sequence[BotSettingsError | None]]
Heard = Callable[[], int]  # the highest revision this process has heard of (its listener)
APPLICATION_NAME = "botsettings-writer"  # the group commit's own connection


class _Pending(msgspec.Struct):
    request: ChangeRequest
    ops: list[Operation]
    in_transaction: writer.InTransaction | None
    answer: asyncio.Future[ChangeResult]


class GroupCommitter:
    def __init__(self, db: Database, on_commit: OnCommit, check: Check | None = None,
                 heard: Heard | None = None) -> None:
        self._db = db
        self._on_commit = on_commit
        self._check = check
        self._heard = heard or (lambda: 0)
        self._known = KnownState()  # the log as this writer last saw it (known_state.py)
        self.one_statement = 0  # batches written in one statement, from what the writer knew
        self._queue: deque[_Pending] = deque()
        self._task: asyncio.Task[None] | None = None
        self._conn: asyncpg.Connection | None = None
        self.batches = 0  # committed batches, and the changes in them (for tests and metrics)
        self.batched_changes = 0

    async def submit(self, request: ChangeRequest, ops: list[Operation],
                     in_transaction: writer.InTransaction | None = None) -> ChangeResult:
        """Queue a validated change and wait until its batch has committed."""
        answer: asyncio.Future[ChangeResult] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(request, ops, in_transaction, answer))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="settings-group-commit")
        return await answer  # cancelling the caller cancels its answer (see _take, _commit)

    async def _drain(self) -> None:
        batch: list[_Pending] = []
        try:
            while self._queue:
                batch = self._take()
                if batch:
                    await self._commit(batch)
        except BaseException as exc:
            # The committer itself failed or was cancelled (shutdown): nobody may be
            # left waiting for an answer that will never come.
            gone = Unavailable(f"the writer stopped before answering ({type(exc).__name__}); re-read before retrying")
            for pending in [*batch, *self._queue]:
                _answer(pending, exc=gone)
            self._queue.clear()
            raise

    def _take(self) -> list[_Pending]:
        batch: list[_Pending] = []
        ops = 0
        while self._queue:
            pending = self._queue[0]
            if batch and (pending.in_transaction is not None or ops + len(pending.ops) > MAX_BATCH_OPS):
                break
            self._queue.popleft()
            if pending.answer.cancelled():
                continue  # its caller went away before it was taken: dropped, nothing written
            batch.append(pending)
            ops += len(pending.ops)
            if pending.in_transaction is not None:
                break
        return batch

    async def _connection(self) -> asyncpg.Connection:
        """The committer's own connection, (re)opened when it has closed (a restarted
        server closes it, so a batch never starts on a dead one)."""
        if self._conn is None or self._conn.is_closed():
            async with unavailable_on_connection_loss():
                conn = await asyncpg.connect(self._db.dsn, timeout=10,
                                             server_settings={"application_name": APPLICATION_NAME})
            await writer.prepare_connection(conn)
            self._known.forget()  # a new connection may be to a server that changed meanwhile
            self._conn = conn
        return self._conn

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)

    async def _run(self, batch: list[_Pending]) -> writer.Committed:
        changes = [(p.request, p.ops) for p in batch]
        # A change's in_transaction step needs a unit of work of the pool. Behind a
        # transaction pooler every batch goes through the pool (and the pooler): the
        # writer then keeps no connection of its own to the server.
        known = self._known
        if batch[0].in_transaction is not None or self._db.transaction_pooling:
            try:
                committed = await writer.commit_batch(self._db, changes, batch[0].in_transaction)
            except BaseException:
                known.forget()
                raise
            known.committed(committed)
            return committed
        conn = await self._connection()
        try:
            # Nobody else has written since this writer's last batch (as far as the
            # listener has heard), and it knows every key: one statement, or nothing
            # written if the head moved after all — then the long way.
            if known.covers(changes) and self._heard() <= (known.head or 0):
                fast = await commit_known(conn, changes, known)
                if fast is not None:
                    self.one_statement += 1
                    known.committed(fast)
                    return fast
                known.forget()
            committed = await writer.commit_batch_on(conn, changes, known.seen)
        except BaseException as exc:
            known.forget()  # the batch's outcome is unknown: so is the head
            if isinstance(exc, asyncio.CancelledError | Unavailable) or is_unavailable(exc):
                conn.terminate()  # its state is unknown: the next batch opens a new one
                self._conn = None
            raise
        known.committed(committed)
        return committed

    def _checked(self, batch: list[_Pending]) -> list[_Pending]:
        """The changes of the batch that pass the check; the others are answered with
        their refusal now (nothing of theirs is written). The read model the check
        reads holds every batch this process committed: the previous one was applied
        (``on_commit``) before this one was taken."""
        if self._check is None:
            return batch
        try:
            refusals = self._check([p.ops for p in batch])
        except Exception as exc:  # a fault of the check, not of the changes: none is written
            log.exception("batch.check_failed")
            for pending in batch:
                _answer(pending, exc=exc)
            return []
        for pending, refusal in zip(batch, refusals, strict=True):
            if refusal is not None:
                _answer(pending, exc=refusal)
        return [p for p, refusal in zip(batch, refusals, strict=True) if refusal is None]

    async def _commit(self, batch: list[_Pending]) -> None:
        batch = self._checked(batch)
        if not batch:
            return
        # The batch runs in this task (no task of its own: one loop iteration less
        # before its statement is sent, which counts when reads keep the loop busy).
        task = asyncio.current_task()
        assert task is not None
        state = {"in_flight": True, "abandoned": False}

        def abandon(_: object) -> None:
            # Every caller of the batch went away before it committed: roll it back, as
            # a change whose caller is cancelled mid-transaction always did.
            if state["in_flight"] and not state["abandoned"] and all(p.answer.cancelled() for p in batch):
                state["abandoned"] = True
                task.cancel()

        for pending in batch:
            pending.answer.add_done_callback(abandon)
        try:
            committed = await self._run(batch)
        except asyncio.CancelledError:
            if state["abandoned"] and task.cancelling() == 1:
                task.uncancel()
                return  # abandoned: rolled back, nobody to answer
            raise
        except Exception as exc:
            if is_transient(exc):
                exc = Unavailable(f"the database failed the transaction: {type(exc).__name__}; nothing was written")
            for pending in batch:
                _answer(pending, exc=exc)
            return
        finally:
            state["in_flight"] = False
        self.batches += 1
        self.batched_changes += len(batch)
        if committed.events:
            try:
                await self._on_commit(committed)
            except Exception:  # committed all the same: the listener catches up from the log
                log.exception("batch.local_apply_failed", first=committed.first, last=committed.last)
        for pending, outcome in zip(batch, committed.outcomes, strict=True):
            if isinstance(outcome, Conflict):
                _answer(pending, exc=outcome)
            else:
                assert isinstance(outcome, Planned)
                _answer(pending, result=outcome.result)


def _answer(pending: _Pending, *, result: ChangeResult | None = None, exc: BaseException | None = None) -> None:
    if pending.answer.done():
        return
    if exc is not None:
        pending.answer.set_exception(exc)
        # Retrieved here too: a caller that went away must not leave a warning behind.
        pending.answer.add_done_callback(lambda f: f.exception())
    else:
        pending.answer.set_result(result)  # type: ignore[arg-type]
