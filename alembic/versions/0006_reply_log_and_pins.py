"""The reply log (one row per request the chat gateway forwarded: bot, time, the
settings revision and values it used, overrides, model, status, latency, finish
reason, token usage; messages only when BOTSETTINGS_REPLY_LOG=full) and the
conversations pinned to a settings revision.

``reply_log`` is indexed by (bot, at): per-bot figures over a time window (error
rate, p95 latency, truncations) read a range of that index. Retention (by age and
count) is a housekeeping job, so the table never grows without bound.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reply_log",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        # The caller's X-Request-Id (or ours); not unique: a client may retry with the same id.
        sa.Column("request_id", sa.Text, nullable=False),
        sa.Column("bot", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.Column("conversation_id", sa.Text),
        sa.Column("pinned", sa.Boolean, nullable=False, server_default=sa.false()),
        # {key: [value, source]} of every setting the request used, and the request's overrides.
        sa.Column("settings", JSONB, nullable=False),
        sa.Column("overrides", JSONB, nullable=False),
        # The upstream body without its messages (model, parameters, passthrough fields).
        sa.Column("params", JSONB, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("model_source", sa.Text, nullable=False),
        sa.Column("upstream_model", sa.Text),  # what the request asked for, if anything
        sa.Column("stream", sa.Boolean, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("upstream_status", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("finish_reason", sa.Text),
        sa.Column("prompt_tokens", sa.Integer),
        sa.Column("completion_tokens", sa.Integer),
        sa.Column("total_tokens", sa.Integer),
        sa.Column("context", JSONB, nullable=False),  # what the window and the budget did
        sa.Column("messages", JSONB),  # the request's messages as received: only in `full` mode
        sa.Column("replay_of", sa.Text),  # a forwarded replay: the request id it replayed
    )
    op.create_index("ix_reply_log_bot_at", "reply_log", ["bot", "at"])
    op.create_index("ix_reply_log_at", "reply_log", ["at"])
    op.create_index("ix_reply_log_request_id", "reply_log", ["request_id"])

    op.create_table(
        "conversation_pins",
        sa.Column("bot", sa.Text, primary_key=True),
        sa.Column("conversation_id", sa.Text, primary_key=True),
        sa.Column("revision", sa.BigInteger),  # NULL: released, the conversation follows the latest settings
        sa.Column("explicit", sa.Boolean, nullable=False),  # X-Settings-Pin chose it (else the first request)
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_conversation_pins_last_used_at", "conversation_pins", ["last_used_at"])


def downgrade() -> None:
    op.drop_table("conversation_pins")
    op.drop_table("reply_log")
