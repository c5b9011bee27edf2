"""jobs, jobs run, jobs runs; schedule set|unset|list|show|cancel."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from app.cli.output import default_actor, emit_json, run, show, table
from app.cli.scope_option import chosen_scope, scope_options
from app.domain.jobs import JobRun
from app.domain.registry import REGISTRY, canonical_key
from app.domain.scheduled import ScheduledChange
from app.domain.values import parse_text
from app.runtime import Runtime

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def when(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return "-"
    now = now or datetime.now(UTC)
    seconds = int((moment - now).total_seconds())
    rel = f"in {_span(seconds)}" if seconds >= 0 else f"{_span(-seconds)} ago"
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z ({rel})"


def _span(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def _minutes(value: float) -> str:
    return f"{value:g} min"


def _last(r: JobRun | None) -> str:
    if r is None:
        return "-"
    return f"{r.status} {when(r.finished_at or r.started_at)}"


@click.group("jobs", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def jobs_group(ctx: click.Context, as_json: bool) -> None:
    """Maintenance and housekeeping jobs: interval (and the layer it comes from), handler,
    next run, last run. Intervals follow the settings: a change moves the next run at once."""
    if ctx.invoked_subcommand is not None:
        return
    view = run(lambda rt: rt.jobs.jobs())
    if as_json:
        emit_json(view)
        return
    table(["job", "interval", "from", "handler", "next run", "last run"],
          [(j.id, _minutes(j.interval_minutes), j.interval_source, j.handler, when(j.next_run), _last(j.last_run))
           for j in view.jobs])
    leader = view.leader_identity or "none has published a schedule yet"
    click.echo(f"\nsettings revision {view.revision}; leader: {leader}")


def _print_run(r: JobRun) -> None:
    click.echo(f"run {r.id} of {r.job_id}: {r.status} after {r.attempts} attempt(s), handler {r.handler}, "
               f"settings revision {r.settings_revision}")
    if r.error:
        click.secho(f"  error: {r.error}", fg="red")


@jobs_group.command("run")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def run_cmd(job_id: str, as_json: bool) -> None:
    """Run JOB_ID now, in this process, and wait for it (exit 1 if the run failed)."""
    result: JobRun = run(lambda rt: rt.jobs.run_now(job_id, wait=True))
    emit_json(result) if as_json else _print_run(result)
    if result.status != "succeeded":
        raise SystemExit(1)


@jobs_group.command("runs")
@click.argument("job_id")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def runs_cmd(job_id: str, limit: int, as_json: bool) -> None:
    """The last runs of JOB_ID, newest first."""
    runs: list[JobRun] = run(lambda rt: rt.jobs.runs(job_id, limit))
    if as_json:
        emit_json(runs)
        return
    if not runs:
        click.echo(f"{job_id} has not run yet")
    table(["run", "trigger", "started", "status", "attempts", "revision", "error"],
          [(r.id, r.trigger, when(r.started_at), r.status, r.attempts, r.settings_revision,
            (r.error or "")[:60]) for r in runs])


# -- scheduled changes -----------------------------------------------------------------
def apply_time(at: str | None, in_: str | None) -> datetime:
    if (at is None) == (in_ is None):
        raise click.UsageError("say when: --at 2026-12-01T00:00Z or --in 2m (one of them)")
    if in_ is not None:
        match = _DURATION.match(in_.strip())
        if not match:
            raise click.BadParameter(f"{in_!r} is not a duration like 90s, 2m, 1h or 7d", param_hint="--in")
        return datetime.now(UTC) + timedelta(seconds=float(match[1]) * _UNITS[match[2]])
    assert at is not None
    try:
        moment = datetime.fromisoformat(at.strip())
    except ValueError:
        raise click.BadParameter(f"{at!r} is not an ISO 8601 time like 2026-12-01T00:00Z",
                                 param_hint="--at") from None
    if moment.tzinfo is None:
        raise click.BadParameter(f"{at!r} has no time zone: add Z (UTC) or an offset like +01:00",
                                 param_hint="--at")
    return moment


def _when_options(func: Any) -> Any:
    func = click.option("--in", "in_", metavar="DURATION", help="Apply after this long: 90s, 2m, 1h, 7d.")(func)
    return click.option("--at", metavar="TIME", help="Apply at this time, ISO 8601 with a zone: "
                        "2026-12-01T00:00Z.")(func)


def _print_scheduled(changes: list[ScheduledChange]) -> None:
    table(["id", "scope", "patch", "apply at", "status", "reason", "change"],
          [(c.id, c.scope, show(c.patch), when(c.apply_at), c.status + (f" (+{c.delay_seconds:.1f}s)"
            if c.status == "applied" and c.delay_seconds is not None else ""), c.reason[:40] or "-",
            c.error[:60] if c.error else (f"r{c.first_revision}" if c.first_revision else "-")) for c in changes])


def _schedule(scope_args: tuple[str | None, bool], patch: dict[str, Any], at: str | None, in_: str | None,
              reason: str, actor: str | None, as_json: bool) -> None:
    scope = chosen_scope(*scope_args)
    moment = apply_time(at, in_)
    change: ScheduledChange = run(lambda rt: rt.jobs.schedule_change(
        scope, patch, apply_at=moment, reason=reason, actor=actor or default_actor()))
    if as_json:
        emit_json(change)
    else:
        click.echo(f"scheduled {change.id}: {change.scope} {show(change.patch)} at {when(change.apply_at)}")


@click.group("schedule")
def schedule_group() -> None:
    """Setting changes applied at a given time, by the scheduler's leader (source
    `scheduler`, your reason kept). Validated now and again when applied."""


@schedule_group.command("set")
@click.argument("key")
@click.argument("value")
@scope_options
@_when_options
@click.option("--reason", default="", help="Why: kept in the audit log when it is applied.")
@click.option("--actor", default=None, help="Who (default: $USER@host).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def schedule_set(key: str, value: str, bot: str | None, global_: bool, at: str | None, in_: str | None,
                 reason: str, actor: str | None, as_json: bool) -> None:
    """Set KEY to VALUE in a scope at a given time."""
    defn = REGISTRY.get(canonical_key(key)[0])
    _schedule((bot, global_), {key: parse_text(defn, value) if defn else value}, at, in_, reason, actor, as_json)


@schedule_group.command("unset")
@click.argument("key")
@scope_options
@_when_options
@click.option("--reason", default="", help="Why: kept in the audit log when it is applied.")
@click.option("--actor", default=None, help="Who (default: $USER@host).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def schedule_unset(key: str, bot: str | None, global_: bool, at: str | None, in_: str | None, reason: str,
                   actor: str | None, as_json: bool) -> None:
    """Delete KEY from a scope at a given time (it inherits again)."""
    _schedule((bot, global_), {key: None}, at, in_, reason, actor, as_json)


@schedule_group.command("list")
@click.option("--status", type=click.Choice(["pending", "applied", "failed", "cancelled"]), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def schedule_list(status: str | None, as_json: bool) -> None:
    """Scheduled changes, by time."""
    changes: list[ScheduledChange] = run(lambda rt: rt.jobs.scheduled_changes(status))
    if as_json:
        emit_json(changes)
    elif not changes:
        click.echo("no scheduled changes" + (f" with status {status}" if status else ""))
    else:
        _print_scheduled(changes)


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a scheduled change id (a UUID)", param_hint="ID") from None


@schedule_group.command("show")
@click.argument("change_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def schedule_show(change_id: str, as_json: bool) -> None:
    """One scheduled change."""
    wanted = _uuid(change_id)
    change: ScheduledChange = run(lambda rt: rt.jobs.scheduled_change(wanted))
    if as_json:
        emit_json(change)
    else:
        _print_scheduled([change])


@schedule_group.command("cancel")
@click.argument("change_id", metavar="ID")
@click.option("--actor", default=None, help="Who (default: $USER@host).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def schedule_cancel(change_id: str, actor: str | None, as_json: bool) -> None:
    """Cancel a pending scheduled change (exit 4 if it is no longer pending)."""
    wanted = _uuid(change_id)

    async def work(rt: Runtime) -> ScheduledChange:
        return await rt.jobs.cancel_scheduled(wanted, actor or default_actor())
    change = run(work)
    emit_json(change) if as_json else click.echo(f"cancelled {change.id}")


COMMANDS = [jobs_group, schedule_group]
