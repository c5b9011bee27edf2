"""The platform (llm-bawt) as its database sees it: the DDL its start-up creates for
``runtime_settings`` and ``bot_profiles``, and the statements its
``RuntimeSettingsStore`` and ``BotProfileStore`` send — written here from the facts
of its code (SQLModel over psycopg2), not from its code, so the tests need neither
the platform nor the network.

What its ORM sessions do, statement by statement:

- ``set_value``: SELECT the row by (scope_type, scope_id, key); then an UPDATE of
  value_json and updated_at by id (the ORM insists that exactly one row matched), or
  an INSERT without id, RETURNING id; COMMIT. The value is ``json.dumps(value,
  ensure_ascii=False)``.
- ``get_scope_settings``: SELECT every column WHERE scope_type AND scope_id; each
  value_json is parsed, and a row that does not parse is skipped.
- ``delete_value``: SELECT by (scope, key); DELETE by id (one row expected); COMMIT.
- ``BotProfileStore.get``: SELECT every column WHERE slug. ``upsert``: SELECT by
  slug; an INSERT of every column but id RETURNING id, or an UPDATE by id of the
  columns that changed plus updated_at; COMMIT; then a SELECT by id (refresh).
  ``delete``: SELECT by slug, DELETE by id, COMMIT.
- start-up: ``metadata.create_all`` asks the catalogue whether each table exists
  (pg_class, relkind among table-like kinds, visible in the search path) and
  creates it only if not; then ``CREATE UNIQUE INDEX IF NOT EXISTS
  idx_runtime_settings_scope_key`` and, for bot_profiles, ``ALTER TABLE … ADD COLUMN
  IF NOT EXISTS`` for later columns, whose failure it ignores.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import asyncpg

SETTINGS_DDL = """
CREATE TABLE runtime_settings (
    id SERIAL NOT NULL,
    scope_type VARCHAR(16) NOT NULL,
    scope_id VARCHAR(128) NOT NULL,
    key VARCHAR(128) NOT NULL,
    value_json TEXT NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX ix_runtime_settings_scope_type ON runtime_settings (scope_type);
CREATE INDEX ix_runtime_settings_scope_id ON runtime_settings (scope_id);
CREATE INDEX ix_runtime_settings_key ON runtime_settings (key);
"""

PROFILE_COLUMNS = ("slug", "name", "description", "system_prompt", "prompt_override_id", "requires_memory",
                   "voice_optimized", "tts_mode", "include_summaries", "include_in_global_search", "uses_tools",
                   "uses_search", "uses_home_assistant", "default_model", "harness", "endpoint_id", "color",
                   "avatar", "avatar_render", "default_voice", "nextcloud_config", "bot_type", "agent_backend",
                   "agent_backend_config", "created_at", "updated_at")
ALL_PROFILE_COLUMNS = ("id", *PROFILE_COLUMNS)

PROFILES_DDL = """
CREATE TABLE bot_profiles (
    id SERIAL NOT NULL,
    slug VARCHAR(128) NOT NULL,
    name VARCHAR(255) NOT NULL,
    description TEXT NOT NULL,
    system_prompt TEXT NOT NULL,
    prompt_override_id INTEGER,
    requires_memory BOOLEAN NOT NULL,
    voice_optimized BOOLEAN NOT NULL,
    tts_mode BOOLEAN NOT NULL,
    include_summaries BOOLEAN NOT NULL,
    include_in_global_search BOOLEAN NOT NULL,
    uses_tools BOOLEAN NOT NULL,
    uses_search BOOLEAN NOT NULL,
    uses_home_assistant BOOLEAN NOT NULL,
    default_model VARCHAR(255),
    harness VARCHAR(32),
    endpoint_id INTEGER,
    color VARCHAR(64),
    avatar VARCHAR(512),
    avatar_render TEXT,
    default_voice VARCHAR(128),
    nextcloud_config JSONB,
    bot_type VARCHAR(32),
    agent_backend VARCHAR(128),
    agent_backend_config JSONB,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX ix_bot_profiles_slug ON bot_profiles (slug);
CREATE INDEX ix_bot_profiles_prompt_override_id ON bot_profiles (prompt_override_id);
CREATE INDEX ix_bot_profiles_endpoint_id ON bot_profiles (endpoint_id);
"""

# SQLAlchemy's PostgreSQL has_table: any table-like relation of that name in the search path.
EXISTS = """
SELECT pg_catalog.pg_class.relname FROM pg_catalog.pg_class
JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace
WHERE pg_catalog.pg_class.relname = ANY($1::text[])
  AND pg_catalog.pg_class.relkind = ANY (ARRAY['r', 'p', 'f', 'v', 'm'])
  AND pg_catalog.pg_table_is_visible(pg_catalog.pg_class.oid)
  AND pg_catalog.pg_namespace.nspname != 'pg_catalog'
"""
UNIQUE_INDEX = ("CREATE UNIQUE INDEX IF NOT EXISTS idx_runtime_settings_scope_key "
                "ON runtime_settings (scope_type, scope_id, key)")

_SETTING_COLUMNS = ("runtime_settings.id, runtime_settings.scope_type, runtime_settings.scope_id, "
                    "runtime_settings.key, runtime_settings.value_json, runtime_settings.updated_at")
_PROFILE_SELECT = "SELECT " + ", ".join(f"bot_profiles.{c}" for c in ALL_PROFILE_COLUMNS) + " FROM bot_profiles"


class StaleData(Exception):
    """What the platform's ORM raises when an UPDATE or DELETE by id matched no row."""


def _rowcount(status: str) -> int:
    return int(status.split()[-1])


class Platform:
    """The platform's stores, statement for statement, on one asyncpg connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    @classmethod
    async def connect(cls, dsn: str, application_name: str = "llm-bawt") -> Platform:
        conn = await asyncpg.connect(dsn, server_settings={"application_name": application_name})
        await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
        return cls(conn)

    async def close(self) -> None:
        await self.conn.close()

    async def start_up(self) -> list[str]:
        """The start-up check: returns the tables it created (none when they exist)."""
        created = []
        for table, ddl in (("runtime_settings", SETTINGS_DDL), ("bot_profiles", PROFILES_DDL)):
            if not await self.conn.fetch(EXISTS, [table]):
                await self.conn.execute(ddl)
                created.append(table)
        await self.conn.execute(UNIQUE_INDEX)
        try:  # the later columns; the platform logs a failure here and carries on
            async with self.conn.transaction():
                await self.conn.execute("ALTER TABLE bot_profiles ADD COLUMN IF NOT EXISTS color VARCHAR(64)")
        except asyncpg.PostgresError:
            pass
        return created

    # -- RuntimeSettingsStore --------------------------------------------------------
    async def get_scope_settings(self, scope_type: str, scope_id: str) -> dict[str, Any]:
        rows = await self.conn.fetch(f"SELECT {_SETTING_COLUMNS} FROM runtime_settings WHERE "
                                     "runtime_settings.scope_type = $1 AND runtime_settings.scope_id = $2",
                                     scope_type, scope_id)
        out = {}
        for row in rows:
            try:
                out[row["key"]] = json.loads(row["value_json"])
            except ValueError:
                continue
        return out

    async def _setting_row(self, scope_type: str, scope_id: str, key: str) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self.conn.fetchrow(
            f"SELECT {_SETTING_COLUMNS} FROM runtime_settings WHERE runtime_settings.scope_type = $1 "
            "AND runtime_settings.scope_id = $2 AND runtime_settings.key = $3", scope_type, scope_id, key)
        return row

    async def set_value(self, scope_type: str, scope_id: str, key: str, value: Any) -> None:
        value_json = json.dumps(value, ensure_ascii=False)
        async with self.conn.transaction():
            row = await self._setting_row(scope_type, scope_id, key)
            now = datetime.now(UTC)
            if row is not None:
                status = await self.conn.execute(
                    "UPDATE runtime_settings SET value_json=$1, updated_at=$2 WHERE runtime_settings.id = $3",
                    value_json, now, row["id"])
                if _rowcount(status) != 1:
                    raise StaleData(status)
            else:
                new_id = await self.conn.fetchval(
                    "INSERT INTO runtime_settings (scope_type, scope_id, key, value_json, updated_at) "
                    "VALUES ($1, $2, $3, $4, $5) RETURNING runtime_settings.id",
                    scope_type, scope_id, key, value_json, now)
                assert new_id is not None  # the ORM needs the new row's primary key

    async def delete_value(self, scope_type: str, scope_id: str, key: str) -> bool:
        async with self.conn.transaction():
            row = await self._setting_row(scope_type, scope_id, key)
            if row is None:
                return False
            status = await self.conn.execute("DELETE FROM runtime_settings WHERE runtime_settings.id = $1",
                                             row["id"])
            if _rowcount(status) != 1:
                raise StaleData(status)
            return True

    # -- BotProfileStore -------------------------------------------------------------
    async def get_profile(self, slug: str) -> dict[str, Any] | None:
        row = await self.conn.fetchrow(f"{_PROFILE_SELECT} WHERE bot_profiles.slug = $1", slug.strip().lower())
        return dict(row) if row else None

    async def upsert_profile(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A new row takes the platform's defaults for what ``payload`` leaves out; an
        existing row has the columns ``payload`` names updated (plus updated_at)."""
        slug = payload["slug"].strip().lower()
        now = datetime.now(UTC)
        async with self.conn.transaction():
            row = await self.conn.fetchrow(f"{_PROFILE_SELECT} WHERE bot_profiles.slug = $1", slug)
            if row is None:
                values = {"name": slug.title(), "description": "", "system_prompt": "You are a helpful assistant.",
                          "requires_memory": True, "voice_optimized": False, "tts_mode": False,
                          "include_summaries": True, "include_in_global_search": True, "uses_tools": False,
                          "uses_search": False, "uses_home_assistant": False,
                          **{c: None for c in PROFILE_COLUMNS if c not in ("created_at", "updated_at")},
                          } | {k: v for k, v in payload.items() if k != "slug"}
                values.update(slug=slug, created_at=now, updated_at=now)
                for flag, default in (("requires_memory", True), ("voice_optimized", False), ("tts_mode", False),
                                      ("include_summaries", True), ("include_in_global_search", True),
                                      ("uses_tools", False), ("uses_search", False),
                                      ("uses_home_assistant", False)):
                    values[flag] = default if values.get(flag) is None else values[flag]
                for text in ("name", "description", "system_prompt"):
                    values[text] = values[text] if values[text] is not None else ""
                placeholders = ", ".join(f"${n}" for n in range(1, len(PROFILE_COLUMNS) + 1))
                new_id = await self.conn.fetchval(
                    f"INSERT INTO bot_profiles ({', '.join(PROFILE_COLUMNS)}) VALUES ({placeholders}) "
                    "RETURNING bot_profiles.id", *[values[c] for c in PROFILE_COLUMNS])
            else:
                changed = {k: v for k, v in payload.items() if k != "slug" and row[k] != v}
                changed["updated_at"] = now
                sets = ", ".join(f"{c}=${n}" for n, c in enumerate(changed, 1))
                status = await self.conn.execute(
                    f"UPDATE bot_profiles SET {sets} WHERE bot_profiles.id = ${len(changed) + 1}",
                    *changed.values(), row["id"])
                if _rowcount(status) != 1:
                    raise StaleData(status)
                new_id = row["id"]
        refreshed = await self.conn.fetchrow(f"{_PROFILE_SELECT} WHERE bot_profiles.id = $1", new_id)
        assert refreshed is not None
        return dict(refreshed)

    async def delete_profile(self, slug: str) -> bool:
        async with self.conn.transaction():
            row = await self.conn.fetchrow(f"{_PROFILE_SELECT} WHERE bot_profiles.slug = $1", slug.strip().lower())
            if row is None:
                return False
            status = await self.conn.execute("DELETE FROM bot_profiles WHERE bot_profiles.id = $1", row["id"])
            if _rowcount(status) != 1:
                raise StaleData(status)
            return True
