"""The settings store: event log, changes, projection, head, snapshots.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settings_events",
        sa.Column("revision", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("change_id", UUID(as_uuid=True), nullable=False),
        sa.Column("scope_type", sa.Text, nullable=False),
        sa.Column("scope_id", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("op", sa.Text, nullable=False),
        sa.Column("value", JSONB),
        sa.Column("previous", JSONB),
        sa.Column("had_previous", sa.Boolean, nullable=False),
        sa.Column("key_version", sa.Integer, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("scope_type IN ('global', 'bot')", name="ck_events_scope_type"),
        sa.CheckConstraint("op IN ('set', 'delete')", name="ck_events_op"),
        sa.CheckConstraint("op = 'set' OR value IS NULL", name="ck_events_delete_has_no_value"),
        sa.CheckConstraint("key_version > 0", name="ck_events_key_version"),
    )
    # Audit queries: one key's history, one scope's history, by time, actor, change.
    op.create_index("ix_events_scope_key_rev", "settings_events", ["scope_type", "scope_id", "key", "revision"])
    op.create_index("ix_events_scope_rev", "settings_events", ["scope_type", "scope_id", "revision"])
    op.create_index("ix_events_recorded_at", "settings_events", ["recorded_at"])
    op.create_index("ix_events_actor_rev", "settings_events", ["actor", "revision"])
    op.create_index("ix_events_change", "settings_events", ["change_id"])

    op.create_table(
        "settings_changes",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("first_revision", sa.BigInteger, nullable=False, unique=True),
        sa.Column("last_revision", sa.BigInteger, nullable=False),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reverts", UUID(as_uuid=True)),
        sa.Column("rollback_to", sa.BigInteger),
    )
    op.create_index("ix_changes_recorded_at", "settings_changes", ["recorded_at"])

    op.create_table(
        "settings_current",
        sa.Column("scope_type", sa.Text, primary_key=True),
        sa.Column("scope_id", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", JSONB),
        sa.Column("key_version", sa.Integer, nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text, nullable=False),
    )

    op.create_table(
        "settings_head",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_head_single_row"),
    )
    op.execute("INSERT INTO settings_head (id, revision) VALUES (1, 0)")

    op.create_table(
        "settings_snapshots",
        sa.Column("revision", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("state", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )

    # Invariant 3: history is never rewritten, whoever holds the connection.
    op.execute("""
        CREATE FUNCTION settings_refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
    """)
    for table in ("settings_events", "settings_changes"):
        op.execute(f"""
            CREATE TRIGGER {table}_no_rewrite BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION settings_refuse_rewrite()
        """)
        op.execute(f"""
            CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION settings_refuse_rewrite()
        """)


def downgrade() -> None:
    raise RuntimeError("the settings log is append-only; downgrading would destroy history")
