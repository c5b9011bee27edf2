"""prepare: what the chat gateway would send upstream for a request, and why."""

from __future__ import annotations

from typing import Any

import click

from app.cli.output import emit_json, run, show, table
from app.pipeline.prepare import Prepared
from app.runtime import Runtime


@click.command("prepare")
@click.option("--bot", "bot", metavar="SLUG", required=True, help="The bot the request is for, e.g. --bot mira.")
@click.option("--file", "source", type=click.File("rb"), default="-", show_default="stdin",
              help="The chat request: an OpenAI /v1/chat/completions JSON body.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts: {request, provenance}.")
def prepare_cmd(bot: str, source: Any, as_json: bool) -> None:
    """Apply a bot's settings to a chat request and print the exact upstream request,
    with where each value came from. Nothing is sent.

    \b
    botsettings prepare --bot mira < request.json
    """
    body = source.read()

    async def work(rt: Runtime) -> Prepared:
        return rt.services.chat.prepare(body, bot=bot)
    prepared = run(work)
    if as_json:
        emit_json({"bot": prepared.bot, "revision": prepared.revision, "stale": prepared.stale,
                   "request": prepared.request, "provenance": prepared.provenance})
        return
    prov, ctx = prepared.provenance, prepared.provenance.context
    click.echo(f"{bot} at revision {prepared.revision}: model {prov.model} (from {prov.model_source}), "
               f"{ctx.prompt_tokens}/{ctx.budget_tokens} prompt tokens ({ctx.budget_rule}, {ctx.token_counter})")
    click.echo(f"messages: {ctx.messages_received} received, {ctx.messages_sent} sent; dropped "
               f"{ctx.dropped_by_window} by the history window, {ctx.dropped_by_budget} by the budget, "
               f"{ctx.dropped_system_messages} request system message(s); system prompt: {ctx.system_prompt}; "
               f"{ctx.protected_turns} of {ctx.turns} turn(s) protected\n")
    table(["key", "value", "source"], [(k, show(u.value), u.source) for k, u in prov.settings.items()])
    click.echo()
    table(["#", "role", "content"], [(i, m.get("role", ""), show(m.get("content")))
                                     for i, m in enumerate(prepared.request["messages"])])


COMMANDS = [prepare_cmd]
