"""What a process needs to serve — the composition root: the database (embedded or
DATABASE_URL), the schema at head, the read model and its listener, the services,
and (in serving processes) the scheduler. Shared by `serve` and every CLI command."""

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
from app.domain.guards import Thresholds
from app.domain.proposals import ApprovalPolicy
from app.domain.read_model import Resolver
from app.domain.replies import ReplyLogMode
from app.scheduler.scheduled_changes import ScheduledChangeApplier
from app.scheduler.scheduler import JobScheduler
from app.services import (
    AdoptionService,
    BotsService,
    ChatService,
    ConversationsService,
    GuardsService,
    HistoryService,
    JobsService,
    PlatformService,
    ProposalsService,
    RegistryService,
    RepliesService,
    Services,
    SessionsService,
    SettingsService,
    housekeeping,
)
from app.services.job_catalogue import JobCatalogue
from app.services.job_handlers import Handlers
from app.services.job_runner import JobRunner
from app.services.reply_recorder import ReplyRecorder
from app.services.snapshots import Snapshots
from app.store import migrations, reader
from app.store.database import Database
from app.store.embedded import start_embedded
from app.store.errors import unavailable_on_connection_loss
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
    def __init__(self, config: Config, db: Database, resolver: Resolver, listener: Listener | None = None) -> None:
        self.config = config
        self.db = db
        self.url = db.url
        self.resolver = resolver
        self.listener = listener
        snapshots = Snapshots(db, config.snapshot_every)
        settings = SettingsService(db, resolver, snapshots=snapshots, listener=listener,
                                   approval=ApprovalPolicy(config.require_approval))
        history = HistoryService(db, settings, snapshots)
        # Jobs: the catalogue and manual runs work in every process (the CLI too); the
        # scheduler itself runs only in serving processes, and jobs only in the leader.
        self.identity = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.handlers = Handlers.discover(config.job_webhook_url, config.job_webhook_timeout_seconds)
        self.catalogue = JobCatalogue(settings, self.handlers, config.job_minute_seconds)
        self.catalogue.add_housekeeping(housekeeping.projection_check(settings, config.verify_interval_minutes))
        self.catalogue.add_housekeeping(housekeeping.settings_snapshot(history))
        jobs = JobsService(db, settings, self.catalogue, self._runner(), config.scheduler)
        adoption = AdoptionService(db, settings, history)
        chat = ChatService(settings, config.allowed_models)
        replies = RepliesService(db, settings, history, chat, ReplyRecorder(db, ReplyLogMode(config.reply_log)))
        conversations = ConversationsService(db, settings, history)
        self.catalogue.add_housekeeping(housekeeping.reply_retention(
            replies, conversations, retention_days=config.reply_log_retention_days,
            max_rows=config.reply_log_max_rows, interval_minutes=config.reply_log_prune_interval_minutes))
        self.services = Services(settings=settings, history=history, bots=BotsService(settings),
                                 adoption=adoption, jobs=jobs, chat=chat, sessions=SessionsService(db),
                                 platform=PlatformService(db, adoption), registry=RegistryService(settings, history),
                                 replies=replies, conversations=conversations, proposals=ProposalsService(db, settings),
                                 guards=GuardsService(db, settings, history, Thresholds(
                                     min_samples=config.guard_min_samples,
                                     error_rate_increase=config.guard_error_rate_increase,
                                     truncation_rate_increase=config.guard_truncation_rate_increase,
                                     latency_ratio=config.guard_latency_ratio,
                                     latency_min_increase_ms=config.guard_latency_min_increase_ms)))
        self.services.proposals.on_guarded = self.services.guards.start
        self.scheduler: JobScheduler | None = None

    @property
    def engine(self) -> AsyncEngine:
        """For health checks and migrations (and tests): the pool the services use."""
        return self.db.engine

    @property
    def service(self) -> SettingsService:
        return self.services.settings

    @property
    def jobs(self) -> JobsService:
        return self.services.jobs

    async def schema_revision(self) -> str | None:
        """The migration the database is at (readiness); Unavailable if it cannot be reached."""
        async with unavailable_on_connection_loss():
            return await migrations.current_revision(self.db.engine)

    def _runner(self) -> JobRunner:
        return JobRunner(self.db, self.catalogue, self.identity, attempts=self.config.job_attempts,
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
        db = Database(await database_url(config), transaction_pooling=config.transaction_pooling,
                      session_url=config.listen_url)
        if config.migrate_on_start if migrate is None else migrate:
            async with unavailable_on_connection_loss():
                await migrations.upgrade(db.engine)
            log.info("database.migrated", revision=migrations.head_revision())
        resolver = Resolver(bots, env_values)
        listener = Listener(db, resolver, poll_interval=config.listener_poll_seconds) if listen else None
        runtime = cls(config, db, resolver, listener)
        if listener is not None:
            await listener.start()
        else:
            async with db.snapshot() as conn:
                resolver.load(*await reader.all_current(conn))
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
        applier = ScheduledChangeApplier(self.jobs, self.identity, self.services.proposals, self.services.guards)
        self.scheduler = JobScheduler(self.jobs, self._runner(), applier, self.identity,
                                      check_seconds=self.config.leader_check_seconds)
        self.jobs.scheduler = self.scheduler
        self.services.proposals.wake = self.scheduler.wake_applier
        await self.scheduler.start()

    async def stop_scheduler(self) -> None:
        """Release leadership (graceful shutdown): another process takes over at once."""
        scheduler, self.scheduler = self.scheduler, None
        self.jobs.scheduler = None
        self.services.proposals.wake = None
        if scheduler is not None:
            await scheduler.stop()

    async def close(self) -> None:
        await self.stop_scheduler()
        await self.services.replies.recorder.flush()
        await self.services.conversations.settle()
        await self.services.settings.close()
        await self.jobs.runner.close()
        if self.listener:
            await self.listener.stop()
        await self.db.dispose()
