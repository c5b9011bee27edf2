"""Attach and detach the platform in place: its two tables follow botsettings' log.

Why not views: the platform's start-up runs ``CREATE UNIQUE INDEX IF NOT EXISTS … ON
runtime_settings``, which PostgreSQL (15 and 18) refuses on a view before it looks at
IF NOT EXISTS — the platform would then switch its settings store off — and its
``ALTER TABLE bot_profiles ADD COLUMN IF NOT EXISTS`` upgrades fail on a view too. So
the tables stay real tables (same names, columns, types, indexes, start-up check
satisfied) and triggers make them a view in behaviour:

- BEFORE INSERT/UPDATE/DELETE on each table: the platform's write is validated
  against the registry's rules and appended to the log as a change (source
  ``platform_table``) before the row lands, normalised; a refusal raises and nothing
  is written (app/store/platform_sql.py);
- a deferred constraint trigger on ``settings_current``: at commit, every (scope,
  key) a change touched is copied into the platform's row, so what botsettings
  writes (API, CLI, rollback, scheduler) is what the platform reads next.

``attach`` (one transaction, the tables locked): copies both tables to
``…_platform_backup``, installs rules, ids and functions, rewrites the tables to the
current state, creates the triggers. Profile columns botsettings has no setting for
(avatar, color, agent backend, …) stay in the platform's row, without history.
``detach`` drops the triggers and everything attach installed (under the head lock):
the tables are plain tables again, holding the current state. The backups stay until
an operator drops them.

Independent of Alembic: nothing here is part of botsettings' schema.
"""

from __future__ import annotations

from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.platform_import import PROFILE_COLUMNS, PROFILE_EXTRA_DEFAULTS
from app.domain.registry import REGISTRY, SLUG_TITLE, Kind, refusal
from app.store import platform_sql, platform_triggers
from app.store.platform_tables import PROFILES_TABLE, SETTINGS_TABLE, relation_kind

BACKUP = "_platform_backup"
SETTING_COLUMNS = ("id", "scope_type", "scope_id", "key", "value_json", "updated_at")
_PROFILE_KEYS = ", ".join(f"'{k}'" for k in PROFILE_COLUMNS.values())

_COLUMNS = sa.text("""
    SELECT attname AS name, attnotnull AS not_null FROM pg_attribute
    WHERE attrelid = to_regclass(:table) AND attnum > 0 AND NOT attisdropped ORDER BY attnum
""")


class AttachReport(msgspec.Struct, frozen=True, kw_only=True):
    settings_rows: int  # rows runtime_settings holds now
    profile_rows: int
    extra_columns: list[str]  # bot_profiles columns kept as they are, without history


async def state(conn: AsyncConnection) -> str:
    """attached | detached (the platform's plain tables) | absent."""
    if await relation_kind(conn, platform_sql.RULES) is not None:
        return "attached"
    kinds = [await relation_kind(conn, t) for t in (SETTINGS_TABLE, PROFILES_TABLE)]
    return "detached" if any(kinds) else "absent"


async def _script(conn: AsyncConnection, script: str) -> None:
    """Run a multi-statement script in the unit of work's transaction (same connection)."""
    raw = await conn.get_raw_connection()
    await raw.driver_connection.execute(script)  # type: ignore[union-attr]


async def _counts(conn: AsyncConnection) -> tuple[int, int]:
    row = (await conn.execute(sa.text(
        f"SELECT (SELECT count(*) FROM {SETTINGS_TABLE}), (SELECT count(*) FROM {PROFILES_TABLE})"))).one()
    return row[0], row[1]


async def attach(conn: AsyncConnection) -> AttachReport:
    if await state(conn) == "attached":
        raise refusal("platform", "attached", "the platform is already attached to this database")
    kinds = {t: await relation_kind(conn, t) for t in (SETTINGS_TABLE, PROFILES_TABLE)}
    if kinds != {SETTINGS_TABLE: "r", PROFILES_TABLE: "r"}:
        raise refusal("platform", "no_platform_tables",
                      "attach needs the platform's runtime_settings and bot_profiles tables in this database "
                      "(start the platform once against it, or check DATABASE_URL)")
    for table in (SETTINGS_TABLE, PROFILES_TABLE):
        if await relation_kind(conn, table + BACKUP) is not None:
            raise refusal("platform", "backup_exists", f"{table}{BACKUP} exists from an earlier attach: "
                                                       "drop or rename it first")
    await conn.execute(sa.text(f"LOCK TABLE {SETTINGS_TABLE}, {PROFILES_TABLE} IN ACCESS EXCLUSIVE MODE"))
    setting_cols = [r.name for r in await conn.execute(_COLUMNS, {"table": SETTINGS_TABLE})]
    if sorted(setting_cols) != sorted(SETTING_COLUMNS):
        raise refusal("platform", "unknown_layout", f"runtime_settings has columns {', '.join(setting_cols)}; "
                                                    f"attach knows {', '.join(SETTING_COLUMNS)}")
    profile_cols = [(r.name, r.not_null) for r in await conn.execute(_COLUMNS, {"table": PROFILES_TABLE})]
    names = [n for n, _ in profile_cols]
    extras = [n for n in names if n not in PROFILE_COLUMNS and n not in ("id", "slug", "created_at", "updated_at")]
    await _script(conn, f"""
        CREATE TABLE {SETTINGS_TABLE}{BACKUP} AS SELECT * FROM {SETTINGS_TABLE};
        CREATE TABLE {PROFILES_TABLE}{BACKUP} AS SELECT * FROM {PROFILES_TABLE};
        {platform_sql.TABLES}
    """)
    await conn.execute(sa.text(
        f"INSERT INTO {platform_sql.RULES} ({', '.join(platform_sql.RULE_COLUMNS)}) VALUES "
        f"({', '.join(':' + c for c in platform_sql.RULE_COLUMNS)})"),
        [dict(zip(platform_sql.RULE_COLUMNS, row, strict=True)) for row in platform_sql.rule_rows()])
    await _script(conn, f"""
        {platform_sql.FUNCTIONS}
        {platform_triggers.TRIGGER_FUNCTIONS}
        {_sync_profile(names, profile_cols)}
        {_profiles_trigger(names)}
        -- The platform's own ids stay: a row under a legacy name gives its id to the current key
        -- unless a row of the current name has one.
        INSERT INTO {platform_sql.IDS}
        SELECT 'setting', b.scope_type, b.scope_id, coalesce(r.key, b.key), b.id
        FROM {SETTINGS_TABLE} b LEFT JOIN {platform_sql.RULES} r ON r.name = b.key
        ORDER BY (b.key = coalesce(r.key, b.key)) DESC, b.id
        ON CONFLICT DO NOTHING;
        INSERT INTO {platform_sql.IDS} SELECT 'bot', 'bot', slug, '', id FROM {PROFILES_TABLE} ON CONFLICT DO NOTHING;
        SELECT setval('{platform_sql.ID_SEQUENCE}', greatest((SELECT max(id) FROM {platform_sql.IDS}), 0) + 1, false);
        -- The tables become the current state.
        DELETE FROM {SETTINGS_TABLE};
        CREATE UNIQUE INDEX IF NOT EXISTS idx_runtime_settings_scope_key
            ON {SETTINGS_TABLE} (scope_type, scope_id, key);
        SELECT botsettings_platform_sync_setting(scope_type, scope_id, key) FROM settings_current
        WHERE key NOT IN (SELECT name FROM {platform_sql.RULES} WHERE category = 'profile');
        SELECT botsettings_platform_sync_profile(slug) FROM (
            SELECT slug FROM {PROFILES_TABLE}
            UNION SELECT scope_id FROM settings_current WHERE scope_type = 'bot' AND key IN ({_PROFILE_KEYS})) s;
        CREATE TRIGGER botsettings_platform_write BEFORE INSERT OR UPDATE OR DELETE ON {SETTINGS_TABLE}
            FOR EACH ROW EXECUTE FUNCTION botsettings_platform_settings_write();
        CREATE TRIGGER botsettings_platform_write BEFORE INSERT OR UPDATE OR DELETE ON {PROFILES_TABLE}
            FOR EACH ROW EXECUTE FUNCTION botsettings_platform_profiles_write();
        CREATE TRIGGER botsettings_platform_lock BEFORE INSERT OR UPDATE OR DELETE ON {SETTINGS_TABLE}
            FOR EACH STATEMENT EXECUTE FUNCTION botsettings_platform_lock_head();
        CREATE TRIGGER botsettings_platform_lock BEFORE INSERT OR UPDATE OR DELETE ON {PROFILES_TABLE}
            FOR EACH STATEMENT EXECUTE FUNCTION botsettings_platform_lock_head();
        CREATE CONSTRAINT TRIGGER botsettings_platform_sync AFTER INSERT OR UPDATE OR DELETE ON settings_current
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION botsettings_platform_sync();
    """)
    settings_rows, profile_rows = await _counts(conn)
    return AttachReport(settings_rows=settings_rows, profile_rows=profile_rows, extra_columns=extras)


async def detach(conn: AsyncConnection) -> dict[str, int]:
    if await state(conn) != "attached":
        raise refusal("platform", "not_attached", "the platform is not attached to this database")
    # Under the head lock: no change is half-way, so the tables hold the state of one revision.
    await conn.execute(sa.text("SELECT revision FROM settings_head WHERE id = 1 FOR UPDATE"))
    await conn.execute(sa.text("SET CONSTRAINTS botsettings_platform_sync IMMEDIATE"))
    await _script(conn, platform_sql.DROP)
    for table in (SETTINGS_TABLE, PROFILES_TABLE):  # ids were given by attach: the platform's sequence moves past them
        await conn.execute(sa.text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table})) "
            f"WHERE pg_get_serial_sequence('{table}', 'id') IS NOT NULL AND EXISTS (SELECT 1 FROM {table})"))
    settings_rows, profile_rows = await _counts(conn)
    return {"settings_rows": settings_rows, "profile_rows": profile_rows}


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    return "'" + str(value).replace("'", "''") + "'"


def _profile_value(key: str) -> str:
    """The column's value from ``v`` (the bot's stored profile keys), or the registry default."""
    d = REGISTRY[key]
    if d.kind is Kind.BOOL:
        stored = f"(v ->> '{key}')::boolean"
    elif d.kind is Kind.JSON:
        stored = f"NULLIF(v -> '{key}', 'null'::jsonb)"
    else:
        stored = f"v ->> '{key}'"
    default = "upper(left(p_slug, 1)) || substr(p_slug, 2)" if d.default == SLUG_TITLE else _literal(d.default)
    return f"CASE WHEN v ? '{key}' THEN {stored} ELSE {default} END"


def _sync_profile(names: list[str], columns: list[tuple[str, bool]]) -> str:
    """The platform's bot_profiles row of one bot, made what the projection says (created
    when the bot has profile values and no row, deleted when it has none)."""
    mapped = [(c, k) for c, k in PROFILE_COLUMNS.items() if c in names]
    targets = ", ".join(f'"{c}"' for c, _ in mapped)
    values = ", ".join(_profile_value(k) for _, k in mapped)
    required = [(n, PROFILE_EXTRA_DEFAULTS[n]) for n, not_null in columns if not_null and n in PROFILE_EXTRA_DEFAULTS]
    extra_cols = "".join(f', "{n}"' for n, _ in required)
    extra_vals = "".join(f", {_literal(v)}" for _, v in required)
    return f"""
        CREATE FUNCTION botsettings_platform_sync_profile(p_slug text) RETURNS void LANGUAGE plpgsql AS $fn$
        DECLARE
            v jsonb;
            first_at timestamptz;
            last_at timestamptz;
        BEGIN
            PERFORM set_config('botsettings.platform_sync', 'on', true);
            SELECT jsonb_object_agg(key, coalesce(value, 'null'::jsonb)), min(updated_at), max(updated_at)
            INTO v, first_at, last_at
            FROM settings_current WHERE scope_type = 'bot' AND scope_id = p_slug AND key IN ({_PROFILE_KEYS});
            IF v IS NULL THEN
                DELETE FROM {PROFILES_TABLE} WHERE slug = p_slug;
            ELSIF EXISTS (SELECT 1 FROM {PROFILES_TABLE} WHERE slug = p_slug) THEN
                UPDATE {PROFILES_TABLE} SET ({targets}, updated_at) = ({values}, last_at)
                WHERE slug = p_slug AND ({targets}) IS DISTINCT FROM ({values});
            ELSE
                INSERT INTO {PROFILES_TABLE} (id, slug, {targets}{extra_cols}, created_at, updated_at)
                VALUES (botsettings_platform_id('bot', 'bot', p_slug, ''), p_slug, {values}{extra_vals},
                        first_at, last_at);
            END IF;
            PERFORM set_config('botsettings.platform_sync', '', true);
        END $fn$;
    """


def _op(key: str, op: str, value: str = "") -> str:
    extra = f", 'v', {value}" if value else ""
    return f"jsonb_build_array(jsonb_build_object('t', 'bot', 'i', NEW.slug, 'k', '{key}', 'op', '{op}'{extra}))"


def _profiles_trigger(names: list[str]) -> str:
    """BEFORE INSERT/UPDATE/DELETE on bot_profiles: the profile columns the platform writes
    become ONE change (validated first); the row then lands as written."""
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
    return f"""
        CREATE FUNCTION botsettings_platform_profiles_write() RETURNS trigger LANGUAGE plpgsql AS $fn$
        DECLARE
            ops jsonb := '[]'::jsonb;
            chk record;
        BEGIN
            IF current_setting('botsettings.platform_sync', true) = 'on' THEN
                RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
            END IF;
            IF TG_OP = 'DELETE' THEN
                SELECT coalesce(jsonb_agg(jsonb_build_object('t', 'bot', 'i', OLD.slug, 'k', c.key, 'op', 'delete')),
                                '[]'::jsonb) INTO ops
                FROM settings_current c
                WHERE c.scope_type = 'bot' AND c.scope_id = OLD.slug AND c.key IN ({_PROFILE_KEYS});
                PERFORM botsettings_platform_apply(ops, 'bot_profiles');
                RETURN OLD;
            END IF;
            IF TG_OP = 'UPDATE' AND NEW.slug IS DISTINCT FROM OLD.slug THEN
                PERFORM botsettings_platform_refuse('slug', 'bot', OLD.slug, 'a bot''s slug cannot be changed');
            END IF;
            {''.join(steps)}
            PERFORM botsettings_platform_apply(ops, 'bot_profiles');
            IF TG_OP = 'INSERT' THEN
                NEW.id := botsettings_platform_id('bot', 'bot', NEW.slug, '');
            END IF;
            RETURN NEW;
        END $fn$;
    """
