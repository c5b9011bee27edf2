"""Leader election: one process per database holds a PostgreSQL advisory lock on a
dedicated connection, and only that process runs jobs.

Candidates block in ``pg_advisory_lock``, so the lock passes on the moment the
leader's session ends: a killed process's socket closes at once; a frozen or
partitioned one is ended by ``idle_session_timeout`` (the leader pings every
``check_seconds``, so it is never idle that long while healthy). A leader whose
connection fails steps down on its next ping.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from app import metrics

log = structlog.get_logger("botsettings.leader")

APPLICATION_NAME = "botsettings-scheduler"
LEADER_LOCK = 0x62_6F_74_6A  # "botj"; advisory locks are per database, so one per service
IDLE_SESSION_TIMEOUT_MS = 5000


class LeaderElection:
    def __init__(self, dsn: str, identity: str, *, on_elected: Callable[[], Awaitable[None]],
                 on_deposed: Callable[[], Awaitable[None]], check_seconds: float = 1.0,
                 retry_seconds: float = 1.0, listen: tuple[str, Callable[[], None]] | None = None) -> None:
        self.dsn = dsn
        self.identity = identity
        self.on_elected = on_elected
        self.on_deposed = on_deposed
        self.check_seconds = check_seconds
        self.retry_seconds = retry_seconds
        self.listen = listen  # (channel, callback): the leader's connection also LISTENs there
        self.is_leader = False
        self.terms = 0  # how many times this process became leader
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="scheduler-leader-election")

    async def stop(self) -> None:
        """Step down (if leading) and release the lock: the next candidate takes over now."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.dsn, timeout=5,
                                             server_settings={"application_name": APPLICATION_NAME})
                with contextlib.suppress(asyncpg.PostgresError):  # PostgreSQL < 14 lacks it
                    await conn.execute(f"SET idle_session_timeout = {IDLE_SESSION_TIMEOUT_MS}")
                await conn.execute("SELECT pg_advisory_lock($1)", LEADER_LOCK)
                self.is_leader = True
                self.terms += 1
                metrics.SCHEDULER_LEADER.set(1)
                log.info("scheduler.elected", identity=self.identity)
                await self.on_elected()
                if self.listen is not None:
                    await conn.add_listener(self.listen[0], self._notified)
                while True:
                    await asyncio.sleep(self.check_seconds)
                    await conn.fetchval("SELECT 1", timeout=max(2.0, self.check_seconds * 2))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("scheduler.leadership_lost" if self.is_leader else "scheduler.candidate_failed",
                            identity=self.identity, error=f"{type(exc).__name__}: {exc}")
            finally:
                await self._step_down(conn)
            await asyncio.sleep(self.retry_seconds)

    def _notified(self, *_: object) -> None:
        if self.listen is not None:
            self.listen[1]()

    async def _step_down(self, conn: asyncpg.Connection | None) -> None:
        if self.is_leader:
            self.is_leader = False
            metrics.SCHEDULER_LEADER.set(0)
            try:
                await self.on_deposed()
            except Exception:
                log.exception("scheduler.step_down_failed")
            log.info("scheduler.stepped_down", identity=self.identity)
        if conn is not None and not conn.is_closed():
            try:
                # Unlock explicitly, then close: either alone releases a session lock.
                await asyncio.wait_for(conn.execute("SELECT pg_advisory_unlock_all()"), 2)
                await asyncio.wait_for(conn.close(), 2)
            except Exception:
                conn.terminate()
