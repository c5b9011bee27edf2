"""The scheduler: job runs, the leader's published schedule, scheduled setting changes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("job_id", sa.Text, nullable=False),
        sa.Column("job", sa.Text, nullable=False),
        sa.Column("bot", sa.Text),
        sa.Column("trigger", sa.Text, nullable=False),  # schedule | manual
        sa.Column("scheduled_for", sa.DateTime(timezone=True)),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text),
        sa.Column("handler", sa.Text, nullable=False),
        sa.Column("runner", sa.Text, nullable=False),
        sa.Column("settings_revision", sa.BigInteger, nullable=False),
        sa.Column("parameters", JSONB, nullable=False),
        sa.CheckConstraint("status IN ('running', 'succeeded', 'failed')", name="ck_job_runs_status"),
    )
    op.create_index("ix_job_runs_job_id", "job_runs", ["job_id", "id"])

    # What the leader has scheduled, so every process (and the CLI) can show next runs,
    # and a new leader continues the previous one's schedule instead of restarting it.
    op.create_table(
        "job_schedule",
        sa.Column("job_id", sa.Text, primary_key=True),
        sa.Column("next_run_at", sa.DateTime(timezone=True)),
        sa.Column("interval_seconds", sa.Float, nullable=False),
        sa.Column("settings_revision", sa.BigInteger, nullable=False),
        sa.Column("handler", sa.Text, nullable=False),
        sa.Column("leader", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )

    op.create_table(
        "scheduled_changes",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("scope_type", sa.Text, nullable=False),
        sa.Column("scope_id", sa.Text, nullable=False),
        sa.Column("patch", JSONB, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("apply_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("delay_seconds", sa.Float),
        sa.Column("change_id", UUID(as_uuid=True)),
        sa.Column("first_revision", sa.BigInteger),
        sa.Column("last_revision", sa.BigInteger),
        sa.Column("applied_by", sa.Text),
        sa.Column("error", sa.Text),
        sa.CheckConstraint("status IN ('pending', 'applied', 'failed', 'cancelled')",
                           name="ck_scheduled_changes_status"),
        sa.CheckConstraint("scope_type IN ('global', 'bot')", name="ck_scheduled_changes_scope_type"),
    )
    op.create_index("ix_scheduled_changes_due", "scheduled_changes", ["apply_at"],
                    postgresql_where=sa.text("status = 'pending'"))
    op.create_index("ix_scheduled_changes_created", "scheduled_changes", ["created_at"])


def downgrade() -> None:
    op.drop_table("scheduled_changes")
    op.drop_table("job_schedule")
    op.drop_table("job_runs")
