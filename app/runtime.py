"""What a process needs to serve: the database (embedded or DATABASE_URL), the engine,
the schema at head, and the service. Shared by `serve` and every CLI command."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from pathlib import Path

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Config, ConfigError
from app.domain.bots_yaml import BotsConfig, load_bots
from app.domain.environment import env_layer
from app.resolver import Resolver
from app.scheduler import housekeeping
from app.scheduler.catalogue import JobCatalogue
from app.scheduler.handlers import Handlers
from app.scheduler.runner import JobRunner
from app.scheduler.scheduled_changes import ScheduledChangeApplier
from app.scheduler.scheduler import JobScheduler
from app.scheduler.service import JobsService
from app.service import SettingsService
from app.store import migrations, reader
from app.store.embedded import start_embedded
from app.store.engine import asyncpg_dsn, make_engine
from app.store.listener import Listener

log = structlog.get_logger("botsettings.runtime")


async def database_url(config: Config) -> str:
    if config.database_url:
        return config.database_url
    return await asyncio.to_thread(start_embedded, config.data_dir)


def load_bots_config(config: Config) -> BotsConfig:
    """Read bots.yaml (and the user file over it). A missing default file is fine;
    a file that was named explicitly must exist."""
    documents = []
    main = config.bots_yaml or Path("bots.yaml")
    if main.exists():
        documents.append((str(main), main.read_text(encoding="utf-8")))
    elif config.bots_yaml is not None:
        raise ConfigError(f"BOTSETTINGS_BOTS_YAML names {main}, which does not exist")
    if config.user_bots_yaml is not None:
        if not config.user_bots_yaml.exists():
            raise ConfigError(f"BOTSETTINGS_USER_BOTS_YAML names {config.user_bots_yaml}, which does not exist")
        documents.append((str(config.user_bots_yaml), config.user_bots_yaml.read_text(encoding="utf-8")))
    return load_bots(documents)


class Runtime:
    def __init__(self, config: Config, url: str, engine: AsyncEngine, resolver: Resolver) -> None:
        self.config = config
        self.url = url
        self.engine = engine
        self.resolver = resolver
        self.listener: Listener | None = None
        self.service = SettingsService(engine, resolver, snapshot_every=config.snapshot_every)
        # Jobs: the catalogue and manual runs work in every process (the CLI too); the
        # scheduler itself runs only in serving processes, and jobs only in the leader.
        self.identity = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.handlers = Handlers.discover(config.job_webhook_url, config.job_webhook_timeout_seconds)
        self.catalogue = JobCatalogue(resolver, self.handlers, config.job_minute_seconds)
        self.catalogue.add_housekeeping(housekeeping.projection_check(self.service, config.verify_interval_minutes))
        self.catalogue.add_housekeeping(housekeeping.settings_snapshot(self.service))
        self.jobs = JobsService(self.service, self.catalogue, self._runner(), config.scheduler)
        self.scheduler: JobScheduler | None = None

    @property
    def session_dsn(self) -> str:
        """Where connections that keep session state go: LISTEN, and the leader's
        advisory lock (held for as long as it leads). Through a transaction pooler
        neither would work — the pooler hands the server connection to another client
        after each transaction, taking the LISTEN or the lock with it — so these go
        direct (BOTSETTINGS_LISTEN_URL) while queries go through the pooler."""
        return asyncpg_dsn(self.config.listen_url or self.url)

    def _runner(self) -> JobRunner:
        return JobRunner(self.engine, self.catalogue, self.identity, attempts=self.config.job_attempts,
                         backoff_seconds=self.config.job_retry_backoff_seconds)

    @classmethod
    async def start(cls, config: Config, *, migrate: bool | None = None, listen: bool = False,
                    schedule: bool = False) -> Runtime:
        """Everything a process needs. Bad bots.yaml or LLM_BAWT_* values fail here,
        before anything is served. ``listen`` keeps the state current (serve);
        ``schedule`` also starts the scheduler (unless BOTSETTINGS_SCHEDULER=off)."""
        bots = load_bots_config(config)
        env_values, env_warnings = env_layer(config.llm_env)
        for warning in (*bots.warnings, *env_warnings):
            log.warning("config.warning", detail=warning)
        url = await database_url(config)
        engine = make_engine(url, transaction_pooling=config.transaction_pooling)
        if config.migrate_on_start if migrate is None else migrate:
            await migrations.upgrade(engine)
            log.info("database.migrated", revision=migrations.head_revision())
        runtime = cls(config, url, engine, Resolver(bots, env_values))
        if listen:
            runtime.listener = Listener(engine, runtime.session_dsn, runtime.resolver,
                                        poll_interval=config.listener_poll_seconds)
            runtime.service.listener = runtime.listener
            await runtime.listener.start()
        else:
            async with engine.connect() as conn:
                runtime.resolver.load(*await reader.all_current(conn))
        if schedule:
            await runtime.start_scheduler()
        return runtime

    async def start_scheduler(self) -> None:
        """Stand for leadership; the leader runs the jobs and applies scheduled changes.
        Needs the listener: jobs follow the settings through it."""
        if not self.config.scheduler:
            log.info("scheduler.disabled", reason="BOTSETTINGS_SCHEDULER=off")
            return
        if self.listener is None:
            raise RuntimeError("the scheduler needs a listening runtime (Runtime.start(listen=True))")
        if self.scheduler is not None:
            return
        applier = ScheduledChangeApplier(self.service, self.identity)
        self.scheduler = JobScheduler(self.engine, self.session_dsn, self.catalogue, self._runner(), applier,
                                      self.identity, check_seconds=self.config.leader_check_seconds)
        self.jobs.scheduler = self.scheduler
        await self.scheduler.start()

    async def stop_scheduler(self) -> None:
        """Release leadership (graceful shutdown): another process takes over at once."""
        scheduler, self.scheduler = self.scheduler, None
        self.jobs.scheduler = None
        if scheduler is not None:
            await scheduler.stop()

    async def close(self) -> None:
        await self.stop_scheduler()
        await self.jobs.runner.close()
        if self.listener:
            await self.listener.stop()
        await self.engine.dispose()
