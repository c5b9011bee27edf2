"""Change requests (four eyes) and guarded changes that revert themselves.

Revision ID: 0007
Revises: 0006 (0004 on its own branch; the integrator re-chains)
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "change_requests",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("patches", JSONB, nullable=False),  # scope → merge-patch
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("apply_at", sa.DateTime(timezone=True)),
        sa.Column("guard_seconds", sa.Float),
        sa.Column("decided_by", sa.Text),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decision_note", sa.Text),
        sa.Column("applied_at", sa.DateTime(timezone=True)),
        sa.Column("change_id", UUID(as_uuid=True)),
        sa.Column("first_revision", sa.BigInteger),
        sa.Column("last_revision", sa.BigInteger),
        sa.Column("error", sa.Text),
        sa.CheckConstraint("status IN ('pending', 'approved', 'applied', 'failed', 'rejected', 'cancelled')",
                           name="ck_change_requests_status"),
    )
    op.create_index("ix_change_requests_status", "change_requests", ["status", "created_at"])
    # What the leader looks for: approved and not yet applied.
    op.create_index("ix_change_requests_due", "change_requests", ["apply_at"],
                    postgresql_where=sa.text("status = 'approved'"))

    # A change applied with a guard: the bots' figures are watched for guard_seconds
    # after it and compared with the same span before it; the leader evaluates them.
    op.create_table(
        "change_guards",
        sa.Column("change_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("bots", JSONB, nullable=False),  # the bots the change affects (all, for the global scope)
        sa.Column("keys", JSONB, nullable=False),  # [[scope, key], …] the change set or deleted
        sa.Column("first_revision", sa.BigInteger, nullable=False),
        sa.Column("last_revision", sa.BigInteger, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_seconds", sa.Float, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("figures", JSONB),  # the last evaluation: before and after, per figure
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("revert_change_id", UUID(as_uuid=True)),
        sa.Column("note", sa.Text),
        sa.CheckConstraint("status IN ('watching', 'passed', 'reverted', 'ended')", name="ck_change_guards_status"),
    )
    op.create_index("ix_change_guards_watching", "change_guards", ["started_at"],
                    postgresql_where=sa.text("status = 'watching'"))


def downgrade() -> None:
    op.drop_table("change_guards")
    op.drop_table("change_requests")
