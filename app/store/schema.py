"""The tables, as SQLAlchemy Core objects. Alembic owns the DDL (alembic/versions);
these definitions are what the store's statements are written against."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = sa.MetaData()

# none_as_null: Python None becomes SQL NULL. A JSON null value is still told apart
# where it matters: `op = 'set'` with a NULL value, and `had_previous`.
_json = JSONB(none_as_null=True)

events = sa.Table(
    "settings_events", metadata,
    sa.Column("revision", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("change_id", UUID(as_uuid=True), nullable=False),
    sa.Column("scope_type", sa.Text, nullable=False),
    sa.Column("scope_id", sa.Text, nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("op", sa.Text, nullable=False),
    sa.Column("value", _json),
    sa.Column("previous", _json),
    sa.Column("had_previous", sa.Boolean, nullable=False),
    sa.Column("key_version", sa.Integer, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)

changes = sa.Table(
    "settings_changes", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("first_revision", sa.BigInteger, nullable=False),
    sa.Column("last_revision", sa.BigInteger, nullable=False),
    sa.Column("event_count", sa.Integer, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reverts", UUID(as_uuid=True)),
    sa.Column("rollback_to", sa.BigInteger),
)

current = sa.Table(
    "settings_current", metadata,
    sa.Column("scope_type", sa.Text, primary_key=True),
    sa.Column("scope_id", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", _json),
    sa.Column("key_version", sa.Integer, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_by", sa.Text, nullable=False),
)

head = sa.Table(
    "settings_head", metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True),
    sa.Column("revision", sa.BigInteger, nullable=False),
)

snapshots = sa.Table(
    "settings_snapshots", metadata,
    sa.Column("revision", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("state", JSONB, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# -- the scheduler (migration 0002) ----------------------------------------------------
job_runs = sa.Table(
    "job_runs", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("job_id", sa.Text, nullable=False),
    sa.Column("job", sa.Text, nullable=False),
    sa.Column("bot", sa.Text),
    sa.Column("trigger", sa.Text, nullable=False),
    sa.Column("scheduled_for", sa.DateTime(timezone=True)),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("handler", sa.Text, nullable=False),
    sa.Column("runner", sa.Text, nullable=False),
    sa.Column("settings_revision", sa.BigInteger, nullable=False),
    sa.Column("parameters", _json, nullable=False),
)

job_schedule = sa.Table(
    "job_schedule", metadata,
    sa.Column("job_id", sa.Text, primary_key=True),
    sa.Column("next_run_at", sa.DateTime(timezone=True)),
    sa.Column("interval_seconds", sa.Float, nullable=False),
    sa.Column("settings_revision", sa.BigInteger, nullable=False),
    sa.Column("handler", sa.Text, nullable=False),
    sa.Column("leader", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

scheduled_changes = sa.Table(
    "scheduled_changes", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("scope_type", sa.Text, nullable=False),
    sa.Column("scope_id", sa.Text, nullable=False),
    sa.Column("patch", _json, nullable=False),
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
)

NOTIFY_CHANNEL = "botsettings_changes"
SCHEDULED_CHANNEL = "botsettings_scheduled"  # NOTIFYed when a change is scheduled: wakes the leader

# The operators' page's sign-in sessions (migration 0003): looked up by a hash of the
# cookie's random id; the row names the token the session was opened with.
web_sessions = sa.Table(
    "web_sessions", metadata,
    sa.Column("id_hash", sa.LargeBinary, primary_key=True),
    sa.Column("token_name", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

# -- the chat gateway's reply log and conversation pins (migration 0006) ---------------
reply_log = sa.Table(
    "reply_log", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("request_id", sa.Text, nullable=False),
    sa.Column("bot", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("conversation_id", sa.Text),
    sa.Column("pinned", sa.Boolean, nullable=False),
    sa.Column("settings", JSONB, nullable=False),
    sa.Column("overrides", JSONB, nullable=False),
    sa.Column("params", JSONB, nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("model_source", sa.Text, nullable=False),
    sa.Column("upstream_model", sa.Text),
    sa.Column("stream", sa.Boolean, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("upstream_status", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("finish_reason", sa.Text),
    sa.Column("prompt_tokens", sa.Integer),
    sa.Column("completion_tokens", sa.Integer),
    sa.Column("total_tokens", sa.Integer),
    sa.Column("context", JSONB, nullable=False),
    sa.Column("messages", JSONB(none_as_null=True)),
    sa.Column("replay_of", sa.Text),
)

conversation_pins = sa.Table(
    "conversation_pins", metadata,
    sa.Column("bot", sa.Text, primary_key=True),
    sa.Column("conversation_id", sa.Text, primary_key=True),
    sa.Column("revision", sa.BigInteger),
    sa.Column("explicit", sa.Boolean, nullable=False),
    sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
)

# Change requests (four eyes) and guarded changes (migration 0007).
change_requests = sa.Table(
    "change_requests", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("patches", _json, nullable=False),
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
)

change_guards = sa.Table(
    "change_guards", metadata,
    sa.Column("change_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("bots", _json, nullable=False),
    sa.Column("keys", _json, nullable=False),
    sa.Column("first_revision", sa.BigInteger, nullable=False),
    sa.Column("last_revision", sa.BigInteger, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("window_seconds", sa.Float, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("figures", _json),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("revert_change_id", UUID(as_uuid=True)),
    sa.Column("note", sa.Text),
)
