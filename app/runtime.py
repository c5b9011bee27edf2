"""What a process needs to serve: the database (embedded or DATABASE_URL), the engine,
the schema at head, and the service. Shared by `serve` and every CLI command."""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Config, ConfigError
from app.domain.bots_yaml import BotsConfig, load_bots
from app.domain.environment import env_layer
from app.resolver import Resolver
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

    @classmethod
    async def start(cls, config: Config, *, migrate: bool | None = None, listen: bool = False) -> Runtime:
        """Everything a process needs. Bad bots.yaml or LLM_BAWT_* values fail here,
        before anything is served. ``listen`` keeps the state current (serve)."""
        bots = load_bots_config(config)
        env_values, env_warnings = env_layer(config.llm_env)
        for warning in (*bots.warnings, *env_warnings):
            log.warning("config.warning", detail=warning)
        url = await database_url(config)
        engine = make_engine(url)
        if config.migrate_on_start if migrate is None else migrate:
            await migrations.upgrade(engine)
            log.info("database.migrated", revision=migrations.head_revision())
        runtime = cls(config, url, engine, Resolver(bots, env_values))
        if listen:
            runtime.listener = Listener(engine, asyncpg_dsn(url), runtime.resolver,
                                        poll_interval=config.listener_poll_seconds)
            runtime.service.listener = runtime.listener
            await runtime.listener.start()
        else:
            async with engine.connect() as conn:
                runtime.resolver.load(*await reader.all_current(conn))
        return runtime

    async def close(self) -> None:
        if self.listener:
            await self.listener.stop()
        await self.engine.dispose()
