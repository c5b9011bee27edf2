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

NOTIFY_CHANNEL = "botsettings_changes"
