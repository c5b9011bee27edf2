"""A real PgBouncer in transaction-pooling mode in front of the test database server,
on a port of its own, with its own configuration in a temporary directory.

PgBouncer refuses to run as root; as root it is started with ``-u nobody``, which
cannot enter the embedded server's socket directory (PostgreSQL keeps it 0700), so it
then reaches that server through a loopback relay (tests/support/proxy.py)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from bench.process import free_port
from tests.support.proxy import relay_in_thread

POOL_SIZE = 2  # server connections per database: fewer than the processes, so they must share
INSTALL = "apt-get update && apt-get install -y pgbouncer (what .ci/run does when it is missing)"


def binary() -> str | None:
    return shutil.which("pgbouncer") or next((p for p in ("/usr/sbin/pgbouncer",) if os.path.exists(p)), None)


@contextlib.contextmanager
def pgbouncer(direct_url: str) -> Iterator[str]:
    """Yield ``direct_url`` rewritten to go through a transaction-pooling PgBouncer."""
    exe = binary()
    assert exe is not None, f"pgbouncer is not installed: {INSTALL}"
    url = sa.make_url(direct_url)
    socket_dir = url.query.get("host")
    with contextlib.ExitStack() as stack:
        if isinstance(socket_dir, str) and socket_dir.startswith("/"):
            relay = stack.enter_context(relay_in_thread(target_socket=f"{socket_dir}/.s.PGSQL.{url.port or 5432}"))
            server_host, server_port = "127.0.0.1", relay.port
        else:
            server_host, server_port = url.host or "127.0.0.1", url.port or 5432
        conf_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bs-pgbouncer-")))
        conf_dir.chmod(0o755)
        port = free_port()
        user = url.username or "postgres"
        (conf_dir / "userlist.txt").write_text(f'"{user}" ""\n')
        (conf_dir / "pgbouncer.ini").write_text(f"""[databases]
* = host={server_host} port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {conf_dir}/userlist.txt
admin_users = {user}
pool_mode = transaction
default_pool_size = {POOL_SIZE}
max_client_conn = 1000
server_reset_query =
ignore_startup_parameters = extra_float_digits
""")
        for name in ("userlist.txt", "pgbouncer.ini"):
            (conf_dir / name).chmod(0o644)
        as_root = ["-u", "nobody"] if os.geteuid() == 0 else []
        log = (conf_dir / "stderr").open("w")
        proc = subprocess.Popen([exe, *as_root, str(conf_dir / "pgbouncer.ini")], stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 10
            while True:
                with contextlib.suppress(OSError):
                    import socket

                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                assert proc.poll() is None, (conf_dir / "stderr").read_text()
                assert time.monotonic() < deadline, "pgbouncer did not start listening"
                time.sleep(0.05)
            pooled = url.set(host="127.0.0.1", port=port, query={k: v for k, v in url.query.items() if k != "host"})
            yield pooled.render_as_string(hide_password=False)
        finally:
            proc.terminate()
            proc.wait(10)
            log.close()
