"""Reading the platform's own settings tables, read-only, for `migrate --from-platform-db`.

The platform (llm-bawt) keeps ``runtime_settings`` and ``bot_profiles`` in its
PostgreSQL database. They are read here in one READ ONLY snapshot and never
written. ``bot_profiles`` is read as a JSON object per row, so whatever columns the
platform's version has come back by name.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.platform_import import ProfileRow, SettingRow
from app.domain.registry import refusal
from app.store.platform_sql import RULES

SETTINGS_TABLE = "runtime_settings"
PROFILES_TABLE = "bot_profiles"

# relkind of a name in the search path: 'r' a table, 'v' a view, None missing.
_KIND = sa.text("""
    SELECT c.relkind::text FROM pg_class c
    WHERE c.oid = to_regclass(:name)
""")


async def relation_kind(conn: AsyncConnection, name: str) -> str | None:
    kind: str | None = (await conn.execute(_KIND, {"name": name})).scalar()
    return kind


async def read_platform_tables(conn: AsyncConnection) -> tuple[list[SettingRow], list[ProfileRow]]:
    """Every row of both tables. Refuses when they are missing, or attached already
    (they then hold botsettings' own state: there is nothing to import)."""
    kinds = {name: await relation_kind(conn, name) for name in (SETTINGS_TABLE, PROFILES_TABLE)}
    if all(kind is None for kind in kinds.values()):
        raise refusal("platform", "no_platform_tables",
                      "this database holds neither runtime_settings nor bot_profiles: "
                      "is it the platform's database?")
    if await relation_kind(conn, RULES) is not None:
        raise refusal("platform", "attached",
                      "the platform is attached to this database: its tables hold botsettings' own state and "
                      "there is nothing to import (`botsettings platform detach` makes them plain tables again)")
    settings: list[SettingRow] = []
    profiles: list[ProfileRow] = []
    if kinds[SETTINGS_TABLE] is not None:
        rows = await conn.execute(sa.text(
            "SELECT id, scope_type, scope_id, key, value_json FROM runtime_settings ORDER BY id"))
        settings = [SettingRow(id=r.id, scope_type=r.scope_type, scope_id=r.scope_id, key=r.key,
                               value_json=r.value_json) for r in rows]
    if kinds[PROFILES_TABLE] is not None:
        rows = await conn.execute(sa.text("SELECT row_to_json(p)::text AS doc FROM bot_profiles p ORDER BY p.id"))
        for r in rows:
            doc = json.loads(r.doc)
            profiles.append(ProfileRow(id=doc["id"], slug=doc["slug"], columns=doc))
    return settings, profiles

