"""The triggers of an attached platform's tables (installed by app/store/platform_attach.py,
dropped by detach): the platform's writes go through the log, and botsettings' changes
are copied into the platform's rows. The functions they call (validation, the change
transaction, stable ids) are in app/store/platform_sql.py.

Two directions, kept apart by a transaction-local flag (``botsettings.platform_sync``):
a platform statement is validated and appended before its row lands; a copy made by
the sync passes the platform's triggers untouched.
"""

from __future__ import annotations

from app.store.platform_sql import RULES

TRIGGER_FUNCTIONS = f"""
-- BEFORE each statement on the platform's tables: take the head lock before the statement
-- locks any row. Every writer then locks head → rows: a botsettings change copying itself
-- into a row at commit (holding the head) never waits on a platform statement that holds
-- that row and waits for the head (a deadlock otherwise).
CREATE FUNCTION botsettings_platform_lock_head() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM 1 FROM settings_head WHERE id = 1 FOR UPDATE;
    RETURN NULL;
END $fn$;

-- BEFORE INSERT/UPDATE/DELETE on the platform's runtime_settings: the platform's own write
-- is validated and appended to the log first, then lands in the table as normalised. A
-- write made by the sync below (flag botsettings.platform_sync) passes through.
CREATE FUNCTION botsettings_platform_settings_write() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    v jsonb;
    chk record;
BEGIN
    IF current_setting('botsettings.platform_sync', true) = 'on' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'DELETE' THEN
        PERFORM botsettings_platform_apply(jsonb_build_array(jsonb_build_object(
            't', OLD.scope_type, 'i', OLD.scope_id, 'k', OLD.key, 'op', 'delete')), 'runtime_settings');
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.scope_type, NEW.scope_id, NEW.key)
                            IS DISTINCT FROM (OLD.scope_type, OLD.scope_id, OLD.key) THEN
        PERFORM botsettings_platform_refuse(OLD.key, OLD.scope_type, OLD.scope_id,
            'an UPDATE may not move a row to another scope or key; delete it and insert the new one');
    END IF;
    BEGIN
        v := NEW.value_json::jsonb;
    EXCEPTION WHEN others THEN
        PERFORM botsettings_platform_refuse(NEW.key, NEW.scope_type, NEW.scope_id,
                                            format('value_json is not valid JSON (%s)', SQLERRM));
    END;
    SELECT * INTO chk FROM botsettings_platform_check(NEW.scope_type, NEW.scope_id, NEW.key, v,
                                                      'runtime_settings');
    PERFORM botsettings_platform_apply(jsonb_build_array(jsonb_build_object(
        't', NEW.scope_type, 'i', NEW.scope_id, 'k', chk.key, 'op', 'set', 'v', chk.value)), 'runtime_settings');
    NEW.id := botsettings_platform_id('setting', NEW.scope_type, NEW.scope_id, chk.key);
    NEW.key := chk.key;
    NEW.value_json := chk.value::text;
    RETURN NEW;
END $fn$;

-- The platform's runtime_settings row of one (scope, key), made what the projection says.
CREATE FUNCTION botsettings_platform_sync_setting(p_type text, p_id text, p_key text) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    cur record;
BEGIN
    PERFORM set_config('botsettings.platform_sync', 'on', true);
    SELECT value, updated_at INTO cur FROM settings_current
    WHERE scope_type = p_type AND scope_id = p_id AND key = p_key;
    IF FOUND THEN
        INSERT INTO runtime_settings AS r (id, scope_type, scope_id, key, value_json, updated_at)
        VALUES (botsettings_platform_id('setting', p_type, p_id, p_key), p_type, p_id, p_key,
                coalesce(cur.value::text, 'null'), cur.updated_at)
        ON CONFLICT (scope_type, scope_id, key) DO UPDATE
            SET value_json = EXCLUDED.value_json, updated_at = EXCLUDED.updated_at
            WHERE r.value_json IS DISTINCT FROM EXCLUDED.value_json;
    ELSE
        DELETE FROM runtime_settings WHERE scope_type = p_type AND scope_id = p_id AND key = p_key;
    END IF;
    PERFORM set_config('botsettings.platform_sync', '', true);
END $fn$;

-- Deferred to commit, so it sees the change whole (a rebuild's delete-then-insert is a no-op
-- for the platform's rows) and never touches a row the platform's statement is writing.
CREATE FUNCTION botsettings_platform_sync() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    t text;
    i text;
    k text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        t := OLD.scope_type; i := OLD.scope_id; k := OLD.key;
    ELSE
        t := NEW.scope_type; i := NEW.scope_id; k := NEW.key;
    END IF;
    IF EXISTS (SELECT 1 FROM {RULES} r WHERE r.name = k AND r.category = 'profile') THEN
        IF t = 'bot' THEN
            PERFORM botsettings_platform_sync_profile(i);
        END IF;
    ELSE
        PERFORM botsettings_platform_sync_setting(t, i, k);
    END IF;
    RETURN NULL;
END $fn$;
"""
