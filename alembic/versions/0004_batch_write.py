"""The batch write's first statement as a server-side function: take the head lock,
then read the state of every key and scope the batch touches — one round trip.

A function, not one plain statement: in READ COMMITTED a statement reads with the
snapshot taken when it started, which is before it waited for the lock, so a plain
``WITH head AS (... FOR UPDATE) SELECT ...`` could miss the events of the writer it
waited for. Each statement inside a VOLATILE function takes a fresh snapshot, so the
reads below see everything committed before the lock was granted.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION settings_lock_batch(key_types text[], key_ids text[], key_names text[],
                                            scope_types text[], scope_ids text[])
        RETURNS TABLE (kind text, scope_type text, scope_id text, key text, op text, value jsonb,
                       key_version integer, revision bigint, at timestamptz)
        LANGUAGE plpgsql VOLATILE AS $$
        #variable_conflict use_column
        DECLARE
            head bigint;
            stamp timestamptz;
        BEGIN
            SELECT h.revision INTO head FROM settings_head h WHERE h.id = 1 FOR UPDATE;
            -- Read after the lock, so recorded_at follows revision order.
            stamp := clock_timestamp();
            RETURN QUERY SELECT 'head'::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::jsonb,
                                NULL::integer, head, stamp;
            -- The last event of each key, from the log (never the projection).
            RETURN QUERY
                SELECT 'key'::text, k.t, k.i, k.k, e.op, e.value, e.key_version, e.revision, stamp
                FROM unnest(key_types, key_ids, key_names) AS k(t, i, k)
                JOIN LATERAL (
                    SELECT ev.op, ev.value, ev.key_version, ev.revision FROM settings_events ev
                    WHERE ev.scope_type = k.t AND ev.scope_id = k.i AND ev.key = k.k
                    ORDER BY ev.revision DESC LIMIT 1
                ) e ON true;
            -- The revision of each scope an If-Match names (0: no event yet).
            RETURN QUERY
                SELECT 'scope'::text, s.t, s.i, NULL::text, NULL::text, NULL::jsonb, NULL::integer,
                       coalesce((SELECT max(ev.revision) FROM settings_events ev
                                 WHERE ev.scope_type = s.t AND ev.scope_id = s.i), 0), stamp
                FROM unnest(scope_types, scope_ids) AS s(t, i);
        END $$
    """)


def downgrade() -> None:
    op.execute("DROP FUNCTION settings_lock_batch(text[], text[], text[], text[], text[])")
