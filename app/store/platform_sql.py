"""The SQL side of an attached platform: the registry's rules as a table, stable row ids,
validation and the change transaction as PL/pgSQL (app/store/platform_attach.py
installs them with the triggers of app/store/platform_triggers.py; detach drops them).

A trigger cannot call Python, so what a write through the platform's tables must
pass is checked here, from a table that attach fills from the Python registry
(app/domain/registry.py): the same types, bounds, choices, scopes and legacy names.
A refusal raises ``check_violation`` with a message naming the key, the scope and
the reason, and the statement writes nothing.

``botsettings_platform_apply`` is the change transaction of app/store/writer.py, written
again in SQL and kept self-contained: lock the head row → read each key's last event
from the log → drop no-ops → append the events → update the projection → record the
change → advance the head → pg_notify the same payload the listener reads. The
invariants of docs/architecture.md hold for it as for the Python writer.
"""

from __future__ import annotations

from typing import Any

from app.domain.events import Source
from app.domain.registry import MAX_VALUE_BYTES, REGISTRY
from app.store.schema import NOTIFY_CHANNEL

RULES = "botsettings_platform_rules"
IDS = "botsettings_platform_ids"
ID_SEQUENCE = "botsettings_platform_id_seq"

TABLES = f"""
CREATE TABLE {RULES} (
    name text PRIMARY KEY,            -- a name the platform may write: the key or a legacy name
    key text NOT NULL,                -- the current key
    kind text NOT NULL, category text NOT NULL, scopes text[] NOT NULL, env text[] NOT NULL,
    minimum numeric, maximum numeric, exclusive_minimum boolean NOT NULL,
    min_length integer, max_length integer, choices text[] NOT NULL, nullable boolean NOT NULL,
    describe text NOT NULL
);
CREATE SEQUENCE {ID_SEQUENCE};
CREATE TABLE {IDS} (
    kind text NOT NULL,               -- setting: a (scope, key); bot: a bot (key '')
    scope_type text NOT NULL, scope_id text NOT NULL, key text NOT NULL,
    id integer NOT NULL,
    PRIMARY KEY (kind, scope_type, scope_id, key), UNIQUE (kind, id)
);
"""

RULE_COLUMNS = ("name", "key", "kind", "category", "scopes", "env", "minimum", "maximum", "exclusive_minimum",
                "min_length", "max_length", "choices", "nullable", "describe")


def rule_rows() -> list[tuple[Any, ...]]:
    """One row per name the registry answers to (every key, and each legacy name)."""
    rows = []
    for d in REGISTRY.values():
        for name in (d.key, *d.legacy):
            rows.append((name, d.key, d.kind.value, d.category.value, sorted(s.value for s in d.scopes),
                         list(d.env), d.minimum, d.maximum, d.exclusive_minimum, d.min_length, d.max_length,
                         list(d.choices), d.nullable, d.describe_type()))
    return rows


FUNCTIONS = f"""
CREATE FUNCTION botsettings_platform_id(p_kind text, p_type text, p_id text, p_key text) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE found_id integer;
BEGIN
    SELECT id INTO found_id FROM {IDS} WHERE kind = p_kind AND scope_type = p_type AND scope_id = p_id AND key = p_key;
    IF found_id IS NULL THEN
        INSERT INTO {IDS} VALUES (p_kind, p_type, p_id, p_key, nextval('{ID_SEQUENCE}')) ON CONFLICT DO NOTHING;
        SELECT id INTO found_id FROM {IDS}
        WHERE kind = p_kind AND scope_type = p_type AND scope_id = p_id AND key = p_key;
    END IF;
    RETURN found_id;
END $fn$;

CREATE FUNCTION botsettings_platform_refuse(p_key text, p_type text, p_id text, p_problem text) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'check_violation',
        MESSAGE = format('botsettings refused %L in %s: %s', p_key,
                         CASE WHEN p_type = 'global' THEN 'global' ELSE 'bots/' || coalesce(p_id, '') END, p_problem),
        HINT = 'nothing was written; `botsettings keys` lists the settings and their types';
END $fn$;

-- Validate one value written through the platform's tables: the scope, the name (legacy
-- names map to the current key), writability, the scopes it may live in, and the value
-- against its type and bounds. Returns the current key and the normalised value.
CREATE FUNCTION botsettings_platform_check(p_type text, p_id text, p_name text, p_value jsonb, p_via text,
                                           OUT key text, OUT value jsonb)
LANGUAGE plpgsql AS $fn$
DECLARE
    r {RULES}%ROWTYPE;
    t text;
    n numeric;
    s text;
    problem text;
BEGIN
    IF NOT ((p_type = 'global' AND p_id = '*') OR (p_type = 'bot' AND p_id ~ '^[a-z0-9][a-z0-9_-]{{0,63}}$'
            AND p_id NOT IN ('global', 'bots', 'all', 'none'))) THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = format('botsettings refused %L: scope_type %L with scope_id %L is not a scope '
                             '(global with *, or bot with a slug: a-z, 0-9, _ and -)', p_name, p_type, p_id);
    END IF;
    SELECT * INTO r FROM {RULES} WHERE name = p_name;
    IF NOT FOUND THEN
        problem := format('unknown setting %L', p_name);
    ELSIF r.category NOT IN ('tunable', 'profile') THEN
        problem := format('%L is %s and belongs in the environment (%s), not in the settings store', r.key,
                          CASE WHEN r.category = 'secret' THEN 'a secret' ELSE 'infrastructure' END,
                          array_to_string(r.env, ' or '));
    ELSIF NOT (p_type = ANY (r.scopes)) THEN
        problem := format('%L cannot be set in the %s scope (allowed: %s)', r.key, p_type,
                          array_to_string(r.scopes, ' and '));
    ELSIF r.category = 'profile' AND p_via = 'runtime_settings' THEN
        problem := format('%L is a profile field: write it through bot_profiles', r.key);
    ELSIF p_value IS NULL OR jsonb_typeof(p_value) = 'null' THEN
        IF NOT r.nullable THEN
            problem := format('null is not allowed (expected %s)', r.describe);
        END IF;
        value := 'null'::jsonb;
    ELSE
        t := jsonb_typeof(p_value);
        value := p_value;
        IF r.kind = 'bool' AND t <> 'boolean' THEN
            problem := format('expected true or false, got %s %s', t, left(p_value::text, 60));
        ELSIF r.kind IN ('int', 'float') THEN
            IF t <> 'number' THEN
                problem := format('expected %s, got %s %s', CASE WHEN r.kind = 'int' THEN 'an integer'
                                  ELSE 'a number' END, t, left(p_value::text, 60));
            ELSE
                n := p_value::numeric;
                IF r.kind = 'int' AND n <> trunc(n) THEN
                    problem := format('expected an integer, got number %s', n);
                ELSIF (r.minimum IS NOT NULL AND (n < r.minimum OR (r.exclusive_minimum AND n = r.minimum)))
                      OR (r.maximum IS NOT NULL AND n > r.maximum) THEN
                    problem := format('%s is out of bounds (%s)', n, r.describe);
                ELSIF r.kind = 'int' THEN
                    value := to_jsonb(trunc(n));
                ELSE
                    value := to_jsonb(n + 0.0);  -- a float key stores 2.0, not 2, as the Python writer does
                END IF;
            END IF;
        ELSIF r.kind IN ('str', 'enum') THEN
            IF t <> 'string' THEN
                problem := format('expected a string, got %s %s', t, left(p_value::text, 60));
            ELSE
                s := p_value #>> '{{}}';
                IF r.kind = 'enum' AND NOT (s = ANY (r.choices)) THEN
                    problem := format('%L is not one of %s', s, array_to_string(r.choices, ', '));
                ELSIF r.min_length IS NOT NULL AND char_length(s) < r.min_length THEN
                    problem := format('must be at least %s character(s) long', r.min_length);
                ELSIF r.max_length IS NOT NULL AND char_length(s) > r.max_length THEN
                    problem := format('is %s characters long; the limit is %s', char_length(s), r.max_length);
                END IF;
            END IF;
        ELSIF r.kind = 'str_list' AND (t <> 'array' OR EXISTS (
                SELECT 1 FROM jsonb_array_elements(p_value) e WHERE jsonb_typeof(e) <> 'string')) THEN
            problem := format('expected a list of strings, got %s', left(p_value::text, 60));
        ELSIF r.kind = 'json' AND t <> 'object' THEN
            problem := format('expected a JSON object, got %s %s', t, left(p_value::text, 60));
        END IF;
        IF problem IS NULL AND octet_length(p_value::text) > {MAX_VALUE_BYTES} THEN
            problem := format('value is %s bytes encoded; the limit is {MAX_VALUE_BYTES}', octet_length(p_value::text));
        END IF;
    END IF;
    IF problem IS NOT NULL THEN
        PERFORM botsettings_platform_refuse(coalesce(r.key, p_name), p_type, p_id, problem);
    END IF;
    key := r.key;
END $fn$;

-- The change transaction (app/store/writer.py's, in SQL). p_ops: a JSON array of
-- {{t, i, k, op: set|delete, v}}, already validated. Writes nothing when nothing changes.
CREATE FUNCTION botsettings_platform_apply(p_ops jsonb, p_via text) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    head bigint;
    at timestamptz;
    change uuid := gen_random_uuid();
    n integer := 0;
    o jsonb;
    prev record;
    present boolean;
    version integer;
    new_value jsonb;
    who text := left(current_user || ' (' || coalesce(nullif(current_setting('application_name', true), ''),
                                                      'no application_name') || ')', 200);
    why text := 'written through the platform''s ' || p_via || ' table';
BEGIN
    SELECT revision INTO head FROM settings_head WHERE id = 1 FOR UPDATE;
    at := clock_timestamp();  -- read after the head lock: recorded_at follows revision order
    FOR o IN SELECT * FROM jsonb_array_elements(p_ops) LOOP
        SELECT e.op, e.value, e.key_version INTO prev FROM settings_events e
        WHERE e.scope_type = o->>'t' AND e.scope_id = o->>'i' AND e.key = o->>'k'
        ORDER BY e.revision DESC LIMIT 1;
        present := FOUND AND prev.op = 'set';
        version := CASE WHEN FOUND THEN prev.key_version ELSE 0 END;
        new_value := NULL;
        IF o->>'op' = 'set' THEN
            new_value := NULLIF(o->'v', 'null'::jsonb);  -- a JSON null is stored as SQL NULL
            CONTINUE WHEN present AND prev.value IS NOT DISTINCT FROM new_value;
        ELSE
            CONTINUE WHEN NOT present;
        END IF;
        n := n + 1;
        INSERT INTO settings_events (revision, change_id, scope_type, scope_id, key, op, value, previous,
                                     had_previous, key_version, actor, reason, source, recorded_at)
        VALUES (head + n, change, o->>'t', o->>'i', o->>'k', o->>'op', new_value,
                CASE WHEN present THEN prev.value END, present, version + 1, who, why,
                '{Source.PLATFORM_TABLE.value}', at);
        IF o->>'op' = 'set' THEN
            INSERT INTO settings_current (scope_type, scope_id, key, value, key_version, revision, updated_at,
                                          updated_by)
            VALUES (o->>'t', o->>'i', o->>'k', new_value, version + 1, head + n, at, who)
            ON CONFLICT (scope_type, scope_id, key) DO UPDATE SET value = EXCLUDED.value,
                key_version = EXCLUDED.key_version, revision = EXCLUDED.revision,
                updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by;
        ELSE
            DELETE FROM settings_current WHERE scope_type = o->>'t' AND scope_id = o->>'i' AND key = o->>'k';
        END IF;
    END LOOP;
    IF n = 0 THEN
        RETURN;
    END IF;
    INSERT INTO settings_changes (id, first_revision, last_revision, event_count, actor, reason, source,
                                  recorded_at)
    VALUES (change, head + 1, head + n, n, who, why, '{Source.PLATFORM_TABLE.value}', at);
    UPDATE settings_head SET revision = head + n WHERE id = 1;
    PERFORM pg_notify('{NOTIFY_CHANNEL}',
                      json_build_object('first', head + 1, 'last', head + n, 'change_id', change::text)::text);
END $fn$;
"""

DROP = f"""
DROP TRIGGER IF EXISTS botsettings_platform_sync ON settings_current;
DROP TRIGGER IF EXISTS botsettings_platform_write ON runtime_settings;
DROP TRIGGER IF EXISTS botsettings_platform_write ON bot_profiles;
DROP TRIGGER IF EXISTS botsettings_platform_lock ON runtime_settings;
DROP TRIGGER IF EXISTS botsettings_platform_lock ON bot_profiles;
DROP FUNCTION IF EXISTS botsettings_platform_lock_head();
DROP FUNCTION IF EXISTS botsettings_platform_sync();
DROP FUNCTION IF EXISTS botsettings_platform_sync_setting(text, text, text);
DROP FUNCTION IF EXISTS botsettings_platform_sync_profile(text);
DROP FUNCTION IF EXISTS botsettings_platform_settings_write();
DROP FUNCTION IF EXISTS botsettings_platform_profiles_write();
DROP FUNCTION IF EXISTS botsettings_platform_apply(jsonb, text);
DROP FUNCTION IF EXISTS botsettings_platform_check(text, text, text, jsonb, text);
DROP FUNCTION IF EXISTS botsettings_platform_refuse(text, text, text, text);
DROP FUNCTION IF EXISTS botsettings_platform_id(text, text, text, text);
DROP TABLE IF EXISTS {RULES}, {IDS};
DROP SEQUENCE IF EXISTS {ID_SEQUENCE};
"""
