"""Attach and detach the platform in place: its two tables become views over botsettings.

``attach`` (one transaction): renames ``runtime_settings`` and ``bot_profiles`` to
``…_platform_backup`` (their indexes and sequences go with them), installs the rules,
ids and functions of app/store/platform_sql.py, and creates views with the same
names, columns (in the same order) and types over the projection, with INSTEAD OF
INSERT/UPDATE/DELETE triggers that validate and append events. Profile columns that
botsettings has no setting for (avatar, color, agent backend, …) are kept in a plain
side table, ``botsettings_platform_profile_extras``: they are not settings and have
no history.

``detach`` (one transaction, under the head lock so no change lands half-way):
copies what the views show, drops the views and everything attach installed, renames
the backups back and fills them with that copy, so the platform's real tables hold
the current state with their own DDL, indexes and id sequences.

Independent of Alembic: nothing here is part of botsettings' schema.
"""

from __future__ import annotations

from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.platform_import import PROFILE_COLUMNS
from app.domain.registry import REGISTRY, SLUG_TITLE, Kind, refusal
from app.store import platform_sql
from app.store.platform_tables import PROFILES_TABLE, SETTINGS_TABLE, relation_kind

BACKUP = "_platform_backup"
EXTRAS = "botsettings_platform_profile_extras"
SETTING_COLUMNS = ("id", "scope_type", "scope_id", "key", "value_json", "updated_at")
_PROFILE_OWN = ("id", "slug", "created_at", "updated_at")

_COLUMNS = sa.text("""
    SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
    WHERE attrelid = to_regclass(:table) AND attnum > 0 AND NOT attisdropped ORDER BY attnum
""")


class AttachReport(msgspec.Struct, frozen=True, kw_only=True):
    settings_rows: int  # rows the runtime_settings view shows
    profile_rows: int
    extra_columns: list[str]  # bot_profiles columns kept in the side table


async def state(conn: AsyncConnection) -> str:
    """attached | detached (the platform's real tables) | absent."""
    kinds = [await relation_kind(conn, t) for t in (SETTINGS_TABLE, PROFILES_TABLE)]
    if "v" in kinds:
        return "attached"
    return "detached" if any(kinds) else "absent"


async def _columns(conn: AsyncConnection, table: str) -> list[tuple[str, str]]:
    return [(r.name, r.type) for r in await conn.execute(_COLUMNS, {"table": table})]


async def _script(conn: AsyncConnection, script: str) -> None:
    """Run a multi-statement script in the unit of work's transaction (same connection)."""
    raw = await conn.get_raw_connection()
    await raw.driver_connection.execute(script)  # type: ignore[union-attr]


async def attach(conn: AsyncConnection) -> AttachReport:
    kinds = {t: await relation_kind(conn, t) for t in (SETTINGS_TABLE, PROFILES_TABLE)}
    if "v" in kinds.values():
        raise refusal("platform", "attached", "the platform is already attached (its tables are views here)")
    if kinds != {SETTINGS_TABLE: "r", PROFILES_TABLE: "r"}:
        raise refusal("platform", "no_platform_tables",
                      "attach needs the platform's runtime_settings and bot_profiles tables in this database "
                      "(start the platform once against it, or check DATABASE_URL)")
    for table in (SETTINGS_TABLE, PROFILES_TABLE):
        if await relation_kind(conn, table + BACKUP) is not None:
            raise refusal("platform", "backup_exists", f"{table}{BACKUP} exists from an earlier attach: "
                                                       "drop or rename it first")
    await conn.execute(sa.text(f"LOCK TABLE {SETTINGS_TABLE}, {PROFILES_TABLE} IN ACCESS EXCLUSIVE MODE"))
    setting_cols = await _columns(conn, SETTINGS_TABLE)
    if tuple(sorted(n for n, _ in setting_cols)) != tuple(sorted(SETTING_COLUMNS)):
        raise refusal("platform", "unknown_layout", "runtime_settings has columns "
                      f"{', '.join(n for n, _ in setting_cols)}; attach knows {', '.join(SETTING_COLUMNS)}")
    profile_cols = await _columns(conn, PROFILES_TABLE)
    extras = [(n, t) for n, t in profile_cols if n not in PROFILE_COLUMNS and n not in _PROFILE_OWN]
    await _script(conn, f"""
        ALTER TABLE {SETTINGS_TABLE} RENAME TO {SETTINGS_TABLE}{BACKUP};
        ALTER TABLE {PROFILES_TABLE} RENAME TO {PROFILES_TABLE}{BACKUP};
        {platform_sql.TABLES}
    """)
    await conn.execute(sa.text(
        f"INSERT INTO {platform_sql.RULES} ({', '.join(platform_sql.RULE_COLUMNS)}) VALUES "
        f"({', '.join(':' + c for c in platform_sql.RULE_COLUMNS)})"),
        [dict(zip(platform_sql.RULE_COLUMNS, row, strict=True)) for row in platform_sql.rule_rows()])
    extra_list = "".join(f', "{n}"' for n, _ in extras)
    await _script(conn, f"""
        {platform_sql.FUNCTIONS}
        -- The platform's own ids stay: a row under a legacy name gives its id to the current key
        -- unless a row of the current name has one.
        INSERT INTO {platform_sql.IDS}
        SELECT 'setting', b.scope_type, b.scope_id, coalesce(r.key, b.key), b.id
        FROM {SETTINGS_TABLE}{BACKUP} b LEFT JOIN {platform_sql.RULES} r ON r.name = b.key
        ORDER BY (b.key = coalesce(r.key, b.key)) DESC, b.id
        ON CONFLICT DO NOTHING;
        INSERT INTO {platform_sql.IDS} SELECT 'bot', 'bot', slug, '', id FROM {PROFILES_TABLE}{BACKUP}
        ON CONFLICT DO NOTHING;
        SELECT setval('{platform_sql.ID_SEQUENCE}', greatest((SELECT max(id) FROM {platform_sql.IDS}), 0) + 1, false);
        SELECT botsettings_platform_id('setting', scope_type, scope_id, key) FROM settings_current;
        SELECT botsettings_platform_id('bot', 'bot', scope_id, '') FROM settings_current WHERE scope_type = 'bot';
        CREATE TABLE {EXTRAS} AS SELECT slug::text AS slug{extra_list}, created_at
            FROM {PROFILES_TABLE}{BACKUP};
        ALTER TABLE {EXTRAS} ADD PRIMARY KEY (slug);
        {_settings_view(dict(setting_cols))}
        {_profiles_view(profile_cols)}
        {_profiles_trigger(profile_cols, [n for n, _ in extras])}
    """)
    counts = (await conn.execute(sa.text(
        f"SELECT (SELECT count(*) FROM {SETTINGS_TABLE}), (SELECT count(*) FROM {PROFILES_TABLE})"))).one()
    return AttachReport(settings_rows=counts[0], profile_rows=counts[1], extra_columns=[n for n, _ in extras])


async def detach(conn: AsyncConnection) -> dict[str, int]:
    if await state(conn) != "attached":
        raise refusal("platform", "not_attached", "the platform is not attached to this database")
    await conn.execute(sa.text("SELECT revision FROM settings_head WHERE id = 1 FOR UPDATE"))
    await _script(conn, f"""
        CREATE TEMPORARY TABLE bs_settings ON COMMIT DROP AS SELECT * FROM {SETTINGS_TABLE};
        CREATE TEMPORARY TABLE bs_profiles ON COMMIT DROP AS SELECT * FROM {PROFILES_TABLE};
        DROP VIEW {SETTINGS_TABLE}, {PROFILES_TABLE};
        {platform_sql.DROP}
        ALTER TABLE {SETTINGS_TABLE}{BACKUP} RENAME TO {SETTINGS_TABLE};
        ALTER TABLE {PROFILES_TABLE}{BACKUP} RENAME TO {PROFILES_TABLE};
        DELETE FROM {SETTINGS_TABLE};
        INSERT INTO {SETTINGS_TABLE} SELECT * FROM bs_settings;
        DELETE FROM {PROFILES_TABLE};
        INSERT INTO {PROFILES_TABLE} SELECT * FROM bs_profiles;
    """)
    for table in (SETTINGS_TABLE, PROFILES_TABLE):
        await conn.execute(sa.text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), greatest((SELECT max(id) FROM {table}), 0) + 1, "
            "false) WHERE pg_get_serial_sequence(:t, 'id') IS NOT NULL"), {"t": table})
    counts = (await conn.execute(sa.text(
        f"SELECT (SELECT count(*) FROM {SETTINGS_TABLE}), (SELECT count(*) FROM {PROFILES_TABLE})"))).one()
    return {"settings_rows": counts[0], "profile_rows": counts[1]}


def _settings_view(types: dict[str, str]) -> str:
    return f"""
        CREATE VIEW {SETTINGS_TABLE} AS
        SELECT CAST(m.id AS {types['id']}) AS id, CAST(c.scope_type AS {types['scope_type']}) AS scope_type,
               CAST(c.scope_id AS {types['scope_id']}) AS scope_id, CAST(c.key AS {types['key']}) AS key,
               CAST(coalesce(c.value::text, 'null') AS {types['value_json']}) AS value_json,
               CAST(c.updated_at AS {types['updated_at']}) AS updated_at
        FROM settings_current c
        JOIN {platform_sql.IDS} m ON m.kind = 'setting' AND m.scope_type = c.scope_type
             AND m.scope_id = c.scope_id AND m.key = c.key
        WHERE NOT EXISTS (SELECT 1 FROM {platform_sql.RULES} r WHERE r.name = c.key AND r.category = 'profile');
        COMMENT ON VIEW {SETTINGS_TABLE} IS
            'botsettings: the platform''s runtime_settings over the settings log (botsettings platform detach)';
        CREATE TRIGGER botsettings_write INSTEAD OF INSERT OR UPDATE OR DELETE ON {SETTINGS_TABLE}
            FOR EACH ROW EXECUTE FUNCTION botsettings_platform_settings_write();
    """


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    return "'" + str(value).replace("'", "''") + "'"


def _profile_value(key: str) -> str:
    d = REGISTRY[key]
    if d.kind is Kind.BOOL:
        stored = f"(p.v ->> '{key}')::boolean"
    elif d.kind is Kind.JSON:
        stored = f"NULLIF(p.v -> '{key}', 'null'::jsonb)"
    else:
        stored = f"p.v ->> '{key}'"
    default = "upper(left(p.slug, 1)) || substr(p.slug, 2)" if d.default == SLUG_TITLE else _literal(d.default)
    return f"CASE WHEN p.v ? '{key}' THEN {stored} ELSE {default} END"


def _profiles_view(columns: list[tuple[str, str]]) -> str:
    keys = ", ".join(_literal(k) for k in PROFILE_COLUMNS.values())
    exprs = []
    for name, sqltype in columns:
        if name == "id":
            expr = "m.id"
        elif name == "slug":
            expr = "p.slug"
        elif name == "created_at":
            expr = "coalesce(x.created_at, p.first_at)"
        elif name == "updated_at":
            expr = "p.last_at"
        elif name in PROFILE_COLUMNS:
            expr = _profile_value(PROFILE_COLUMNS[name])
        else:
            expr = f'x."{name}"'
        exprs.append(f'CAST({expr} AS {sqltype}) AS "{name}"')
    return f"""
        CREATE VIEW {PROFILES_TABLE} AS
        WITH p AS (
            SELECT scope_id AS slug, jsonb_object_agg(key, coalesce(value, 'null'::jsonb)) AS v,
                   min(updated_at) AS first_at, max(updated_at) AS last_at
            FROM settings_current WHERE scope_type = 'bot' AND key IN ({keys}) GROUP BY scope_id
        )
        SELECT {', '.join(exprs)}
        FROM p
        JOIN {platform_sql.IDS} m ON m.kind = 'bot' AND m.scope_type = 'bot' AND m.scope_id = p.slug AND m.key = ''
        LEFT JOIN {EXTRAS} x ON x.slug = p.slug;
        COMMENT ON VIEW {PROFILES_TABLE} IS
            'botsettings: the platform''s bot_profiles over the settings log (botsettings platform detach)';
    """


def _op(key: str, op: str, value: str = "") -> str:
    extra = f", 'v', {value}" if value else ""
    return f"jsonb_build_array(jsonb_build_object('t', 'bot', 'i', NEW.slug, 'k', '{key}', 'op', '{op}'{extra}))"


def _profiles_trigger(columns: list[tuple[str, str]], extras: list[str]) -> str:
    names = {n for n, _ in columns}
    steps = []
    for column, key in PROFILE_COLUMNS.items():
        if column not in names:
            continue
        on_null = (f"ops := ops || {_op(key, 'delete')};" if REGISTRY[key].nullable else
                   f"PERFORM botsettings_platform_refuse('{key}', 'bot', NEW.slug, 'null is not allowed');")
        steps.append(f"""
        IF (TG_OP = 'INSERT' AND NEW."{column}" IS NOT NULL)
           OR (TG_OP = 'UPDATE' AND NEW."{column}" IS DISTINCT FROM OLD."{column}") THEN
            IF NEW."{column}" IS NULL THEN
                {on_null}
            ELSE
                SELECT * INTO chk FROM botsettings_platform_check('bot', NEW.slug, '{key}',
                                                                  to_jsonb(NEW."{column}"), 'bot_profiles');
                ops := ops || {_op(key, 'set', 'chk.value')};
            END IF;
        END IF;""")
    cols = "".join(f', "{n}"' for n in extras)
    new_cols = "".join(f', NEW."{n}"' for n in extras)
    updates = ", ".join(f'"{n}" = EXCLUDED."{n}"' for n in extras) or "slug = EXCLUDED.slug"
    return f"""
        CREATE FUNCTION botsettings_platform_profiles_write() RETURNS trigger LANGUAGE plpgsql AS $fn$
        DECLARE
            ops jsonb := '[]'::jsonb;
            chk record;
        BEGIN
            IF TG_OP = 'DELETE' THEN
                SELECT coalesce(jsonb_agg(jsonb_build_object('t', 'bot', 'i', OLD.slug, 'k', c.key, 'op', 'delete')),
                                '[]'::jsonb) INTO ops
                FROM settings_current c JOIN {platform_sql.RULES} r ON r.name = c.key AND r.category = 'profile'
                WHERE c.scope_type = 'bot' AND c.scope_id = OLD.slug;
                PERFORM botsettings_platform_apply(ops, 'bot_profiles');
                DELETE FROM {EXTRAS} WHERE slug = OLD.slug;
                RETURN OLD;
            END IF;
            IF TG_OP = 'UPDATE' AND NEW.slug IS DISTINCT FROM OLD.slug THEN
                PERFORM botsettings_platform_refuse('slug', 'bot', OLD.slug, 'a bot''s slug cannot be changed');
            END IF;
            IF TG_OP = 'INSERT' AND EXISTS (SELECT 1 FROM {PROFILES_TABLE} b WHERE b.slug = NEW.slug) THEN
                RAISE EXCEPTION USING ERRCODE = 'unique_violation',
                    MESSAGE = format('bot_profiles already holds slug %L', NEW.slug);
            END IF;
            {''.join(steps)}
            PERFORM botsettings_platform_apply(ops, 'bot_profiles');
            INSERT INTO {EXTRAS} (slug{cols}, created_at)
            VALUES (NEW.slug{new_cols}, coalesce(NEW.created_at, now()))
            ON CONFLICT (slug) DO UPDATE SET {updates};
            NEW.id := CASE WHEN TG_OP = 'INSERT' THEN botsettings_platform_id('bot', 'bot', NEW.slug, '')
                           ELSE OLD.id END;
            RETURN NEW;
        END $fn$;
        CREATE TRIGGER botsettings_write INSTEAD OF INSERT OR UPDATE OR DELETE ON {PROFILES_TABLE}
            FOR EACH ROW EXECUTE FUNCTION botsettings_platform_profiles_write();
    """
