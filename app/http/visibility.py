"""What a token limited to some bots may see of lists that span bots: its bots, the
global scope and platform-wide jobs; nothing of any other bot. Shared by the API and
the operators' page so both filter alike (the rule itself: app/domain/access.py)."""

from __future__ import annotations

import msgspec

from app.domain.access import Principal, sees_bot, sees_scope
from app.domain.scheduled import ScheduledChange
from app.services.jobs import JobsView


def visible_jobs(principal: Principal, view: JobsView) -> JobsView:
    if principal.bots is None:
        return view
    return msgspec.structs.replace(view, jobs=[j for j in view.jobs if sees_bot(principal, j.bot)])


def visible_scheduled(principal: Principal, changes: list[ScheduledChange]) -> list[ScheduledChange]:
    return [c for c in changes if sees_scope(principal, c.scope)]
