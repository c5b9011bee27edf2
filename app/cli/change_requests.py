"""propose; requests list|show|approve|reject|cancel: change requests (four eyes).

The CLI works on the database directly, so the person is whoever ``--actor`` names
(default $USER@host): four eyes between people who share database access is a
convention the log records; between API tokens it is enforced (docs/change-requests.md).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import click

from app.cli.jobs import apply_time, when
from app.cli.output import default_actor, emit_json, run, show, table
from app.cli.scope_option import chosen_scope, scope_options
from app.domain.access import Principal, Role
from app.domain.proposals import Proposal, parse_duration
from app.domain.registry import REGISTRY, canonical_key
from app.domain.values import parse_text
from app.services.proposals import ProposalView


def _me(actor: str | None) -> Principal:
    return Principal(name=actor or default_actor(), role=Role.ADMIN)


def _assignments(pairs: tuple[str, ...], unset: tuple[str, ...]) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="KEY=VALUE")
        defn = REGISTRY.get(canonical_key(key)[0])
        patch[key] = parse_text(defn, text) if defn else text
    patch.update(dict.fromkeys(unset))
    return patch


@click.command("propose")
@click.argument("assignments", nargs=-1, metavar="KEY=VALUE…")
@scope_options
@click.option("--unset", multiple=True, metavar="KEY", help="Delete KEY from the scope (it inherits again).")
@click.option("--patches", default=None, metavar="JSON",
              help='Several scopes at once: {"global": {…}, "bots/mira": {…}} (instead of --bot/--global).')
@click.option("--reason", required=True, help="Why: the approver reads it, and the log keeps it.")
@click.option("--at", default=None, metavar="TIME", help="Apply at this time once approved (ISO 8601 with a zone).")
@click.option("--in", "in_", default=None, metavar="DURATION", help="Apply this long from now once approved.")
@click.option("--guard", default=None, metavar="DURATION",
              help="Watch the bots' figures this long after it is applied; revert if they worsen (e.g. 15m).")
@click.option("--actor", default=None, help="Who proposes (default: $USER@host).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def propose_cmd(assignments: tuple[str, ...], bot: str | None, global_: bool, unset: tuple[str, ...],
                patches: str | None, reason: str, at: str | None, in_: str | None, guard: str | None,
                actor: str | None, as_json: bool) -> None:
    """Propose a change for another person to approve: KEY=VALUE sets, --unset KEY deletes."""
    if patches is not None:
        if assignments or unset or bot or global_:
            raise click.UsageError("--patches replaces --bot/--global and KEY=VALUE; give one or the other")
        try:
            document = json.loads(patches)
        except ValueError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--patches") from None
        if not isinstance(document, dict) or not all(isinstance(v, dict) for v in document.values()):
            raise click.BadParameter('expected {"scope": {"key": value}}', param_hint="--patches")
    else:
        document = {str(chosen_scope(bot, global_)): _assignments(assignments, unset)}
    apply_at = apply_time(at, in_) if at is not None or in_ is not None else None
    seconds = parse_duration(guard) if guard is not None else None
    proposal: Proposal = run(lambda rt: rt.services.proposals.propose(
        _me(actor), document, reason=reason, apply_at=apply_at, guard_seconds=seconds))
    if as_json:
        emit_json(proposal)
        return
    click.echo(f"proposed change request {proposal.id}: {_summary(proposal)}")
    click.echo(f"another person approves it with: botsettings requests approve {proposal.id}")


def _summary(p: Proposal) -> str:
    return "; ".join(f"{scope} {show(patch)}" for scope, patch in p.patches.items())


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a change request id (a UUID)", param_hint="ID") from None


@click.group("requests")
def requests_group() -> None:
    """Change requests: list, show (with the diff against now), approve, reject, cancel."""


@requests_group.command("list")
@click.option("--status", type=click.Choice(["pending", "approved", "applied", "failed", "rejected", "cancelled"]),
              default=None)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def list_cmd(status: str | None, as_json: bool) -> None:
    """Change requests, newest first."""
    found: list[Proposal] = run(lambda rt: rt.services.proposals.list_requests(_me(None), status))
    if as_json:
        emit_json(found)
    elif not found:
        click.echo("no change requests" + (f" with status {status}" if status else ""))
    else:
        table(["id", "status", "author", "decided by", "apply at", "change", "reason"],
              [(p.id, p.status, p.author, p.decided_by or "-", when(p.apply_at) if p.apply_at else "on approval",
                _summary(p)[:50], p.reason[:40]) for p in found])


@requests_group.command("show")
@click.argument("request_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def show_cmd(request_id: str, as_json: bool) -> None:
    """One change request, and what it would change now."""
    view: ProposalView = run(lambda rt: rt.services.proposals.show(_me(None), _uuid(request_id)))
    if as_json:
        emit_json(view)
        return
    p = view.request
    click.echo(f"change request {p.id}: {p.status}, proposed by {p.author}: {p.reason}")
    if p.decided_by:
        click.echo(f"  {p.status if p.status in ('rejected', 'cancelled') else 'approved'} by {p.decided_by}"
                   + (f": {p.decision_note}" if p.decision_note else ""))
    if p.error:
        click.secho(f"  error: {p.error}", fg="red")
    table(["scope", "key", "now", "proposed", "changes"],
          [(d.scope, d.key, show(d.now) if d.present else "(inherits)",
            "(delete)" if d.op == "delete" else show(d.proposed), "yes" if d.changes else "no") for d in view.diff])


def _decision(name: str, verb: str) -> click.Command:
    @click.command(name)
    @click.argument("request_id")
    @click.option("--note", default=None, help="Why (kept with the decision).")
    @click.option("--actor", default=None, help="Who decides (default: $USER@host).")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
    def command(request_id: str, note: str | None, actor: str | None, as_json: bool) -> None:
        p: Proposal = run(lambda rt: getattr(rt.services.proposals, name)(_me(actor), _uuid(request_id), note))
        if as_json:
            emit_json(p)
        else:
            click.echo(f"change request {p.id}: {p.status}"
                       + (f" (change {p.change_id}, revisions {p.first_revision}…{p.last_revision})"
                          if p.change_id else "") + (f"; error: {p.error}" if p.error else ""))

    command.help = verb
    return command


requests_group.add_command(_decision("approve", "Approve a change request (not your own): applied at once, "
                                                "or at its time."))
requests_group.add_command(_decision("reject", "Reject a pending change request."))
requests_group.add_command(_decision("cancel", "Withdraw a pending or approved (not yet applied) change request."))

COMMANDS = [propose_cmd, requests_group]
