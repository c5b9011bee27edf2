"""serve, db upgrade, verify, rebuild: running and looking after the store."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

import click
import msgspec
import structlog

from app.cli.output import emit_json, fail, run, show, table
from app.config import Config, ConfigError, is_loopback, load_tokens
from app.domain.environment import env_layer
from app.domain.errors import BotSettingsError
from app.domain.records import VerifyReport
from app.logging import configure_logging
from app.runtime import Runtime, load_bots_config
from app.store import migrations
from app.version import VERSION


@click.command("serve")
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1, or BOTSETTINGS_HOST).")
@click.option("--port", default=None, type=int, help="Port (default 8642, or BOTSETTINGS_PORT).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes on one port, each with its own listener.")
@click.option("--no-migrate", is_flag=True, help="Do not upgrade the schema on start.")
def serve_cmd(host: str | None, port: int | None, workers: int, no_migrate: bool) -> None:
    """Run the HTTP service (on the embedded PostgreSQL unless DATABASE_URL is set).

    It also stands for scheduler leadership: the one leader among all serving
    processes runs the jobs and applies scheduled changes (BOTSETTINGS_SCHEDULER=off
    keeps this process out).

    SIGTERM or Ctrl-C stops it gracefully: no new connections, in-flight requests
    finish (up to 10 s), then the listener and the database connections close.
    """
    import uvicorn

    from app.api.app import create_app

    try:
        config = Config.from_env()
    except ConfigError as exc:
        fail(str(exc), 2)
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    if no_migrate:
        overrides["migrate_on_start"] = False
    config = msgspec.structs.replace(config, **overrides)
    configure_logging(config.log_format, config.log_level, sys.stdout)  # the service's log goes to stdout
    try:  # refuse to start on a bad bots.yaml, LLM_BAWT_* value or tokens file, before binding
        load_bots_config(config)
        env_layer(config.llm_env)
        tokens = load_tokens(config)
    except (ConfigError, BotSettingsError) as exc:
        fail(str(exc), 2)
    if tokens is None and not is_loopback(config.host):
        fail(f"refusing to listen on {config.host} without API tokens: anyone who can reach it could change "
             "every bot's settings. Set BOTSETTINGS_TOKENS_FILE (see `botsettings token create`), "
             "or bind 127.0.0.1.", 2)
    where = "DATABASE_URL" if config.database_url else f"embedded PostgreSQL in {config.data_dir}"
    structlog.get_logger("botsettings.serve").info(
        "serve.starting", url=f"http://{config.host}:{config.port}/", database=where, workers=workers,
        version=VERSION)
    # uvicorn shuts down gracefully on SIGTERM, then restores the previous handler and
    # re-raises the signal; with this handler that ends in exit 0, which process
    # supervisors read as a clean stop rather than death by signal.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # uvicorn logs through the root handler (log_config=None keeps it from installing its
    # own); its access log is off because app/http/request_log.py logs each request once.
    options = {"host": config.host, "port": config.port, "log_config": None, "log_level": config.log_level,
               "access_log": False,
               "lifespan": "on", "timeout_graceful_shutdown": 10}
    if workers == 1:
        uvicorn.run(create_app(config), **options)  # type: ignore[arg-type]
        return
    # Several workers: this process migrates once and owns the embedded server (if
    # any); the workers, spawned fresh, read their configuration from the environment.
    url = asyncio.run(prepare_database(config))
    os.environ.update(DATABASE_URL=url, BOTSETTINGS_MIGRATE="off")
    from app.cli.workers import run_workers  # each worker its own SO_REUSEPORT listener

    server_config = uvicorn.Config("app.api.app:create_app", factory=True, **options)  # type: ignore[arg-type]
    try:
        run_workers(server_config, config.host, config.port, workers)
    except OSError as exc:
        fail(f"cannot listen on {config.host}:{config.port}: {exc.strerror}", 2)


def tcp_listener(host: str, port: int) -> socket.socket:
    """A listening socket made as IPPROTO_TCP (one worker; each of several workers makes
    its own in app/cli/workers.py). uvicorn makes it with proto 0,
    and asyncio only sets TCP_NODELAY on connections whose socket says IPPROTO_TCP:
    without it, Nagle's algorithm meets the client's delayed ACK and every response
    on a kept-alive connection waits ~40 ms."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror}", 2)
    sock.set_inheritable(True)
    return sock


async def prepare_database(config: Config) -> str:
    runtime = await Runtime.start(config)
    await runtime.close()
    return runtime.url


@click.group("db")
def db_group() -> None:
    """The database schema."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Upgrade the schema to the latest migration (Alembic)."""
    async def nothing(_: object) -> None:
        return None
    run(nothing)  # Runtime.start upgrades, under an advisory lock
    click.echo(f"schema at {migrations.head_revision()}")


@click.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def verify_cmd(as_json: bool) -> None:
    """Replay the log and compare it with the projection; exit 1 on any difference."""
    report: VerifyReport = run(lambda rt: rt.service.verify())
    if as_json:
        emit_json(report)
    else:
        for problem in report.log_problems:
            click.secho(f"log: {problem}", fg="red")
        table(["scope", "key", "problem", "projection", "replay"],
              [(d.scope, d.key, d.problem, show(d.projection), show(d.replay)) for d in report.drift])
        verdict = "OK: the projection equals a replay of the log" if report.ok else "DRIFT: run `botsettings rebuild`"
        click.echo(f"{verdict} ({report.events} events, {report.keys} stored keys, head {report.head})")
    if not report.ok:
        raise SystemExit(1)


@click.command("rebuild")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def rebuild_cmd(as_json: bool) -> None:
    """Rebuild the projection (settings_current) from the log."""
    keys = run(lambda rt: rt.service.rebuild())
    if as_json:
        emit_json({"keys": keys})
    else:
        click.echo(f"projection rebuilt from the log: {keys} stored keys")


COMMANDS = [serve_cmd, db_group, verify_cmd, rebuild_cmd]
