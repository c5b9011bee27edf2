"""replies list | show ID: the chat gateway's reply log, as the API serves it."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from app.cli.output import emit_json, run, show, table
from app.domain.history import parse_point
from app.domain.replies import MAX_PAGE, Reply, ReplyFilter


def _when(reply: Reply) -> str:
    return f"{reply.at.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z"


def _since(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    point = parse_point(text, datetime.now(UTC), name)
    if point.time is None:
        raise click.BadParameter("a time (2026-11-20T10:00Z) or a span back from now (90m, 24h, 2d)",
                                 param_hint=f"--{name}")
    return point.time


@click.group("replies")
def replies_group() -> None:
    """The chat gateway's reply log: each forwarded request's settings revision, the values it
    used and their sources, and what came back (BOTSETTINGS_REPLY_LOG)."""


@replies_group.command("list")
@click.option("--bot", help="Only this bot's replies.")
@click.option("--since", help="From a time or a span back from now (24h, 2d).")
@click.option("--status", help="ok, error or an HTTP status code.")
@click.option("--limit", type=click.IntRange(1, MAX_PAGE), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def list_cmd(bot: str | None, since: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """Replies, newest first."""
    f = ReplyFilter(bot=bot, since=_since(since, "since"), status=status)
    page = run(lambda rt: rt.services.replies.page(f, limit))
    if as_json:
        emit_json(page)
        return
    table(["time", "request id", "bot", "revision", "model", "status", "ms", "finish", "tokens"],
          [(_when(r), r.request_id, r.bot, f"{r.revision}{' pinned' if r.pinned else ''}", r.model, r.status,
            f"{r.latency_ms:.0f}", r.finish_reason or "-", r.usage.total_tokens if r.usage else "-")
           for r in page.replies])


@replies_group.command("show")
@click.argument("request_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def show_cmd(request_id: str, as_json: bool) -> None:
    """One reply's lineage: revision, every value used with its source, outcome."""
    reply = run(lambda rt: rt.services.replies.get(request_id))
    if as_json:
        emit_json(reply)
        return
    click.echo(f"request {reply.request_id}: bot {reply.bot} at {_when(reply)}, settings revision {reply.revision}"
               + (f" (pinned by conversation {reply.conversation_id})" if reply.pinned else ""))
    click.echo(f"model {reply.model} ({reply.model_source}); status {reply.status}"
               + (f" (upstream {reply.upstream_status})" if reply.upstream_status else "")
               + f"; {reply.latency_ms:.1f} ms; finish {reply.finish_reason or '-'}")
    if reply.usage:
        click.echo(f"tokens: prompt {reply.usage.prompt_tokens}, completion {reply.usage.completion_tokens}, "
                   f"total {reply.usage.total_tokens}")
    if reply.error:
        click.secho(f"error: {reply.error}", fg="red")
    table(["key", "value", "source"], [(k, show(v), s) for k, (v, s) in sorted(reply.settings.items())])
    if reply.overrides:
        click.echo("overrides: " + ", ".join(f"{k} (from {o['field']})" for k, o in sorted(reply.overrides.items())))


COMMANDS = [replies_group]
