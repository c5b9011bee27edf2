"""ProposalsService: change requests (four eyes) — propose, list, show with the diff
against now, approve, reject, cancel, and apply an approved one at once or at its
``apply_at`` (the scheduler's leader does the latter, in the loop that applies
scheduled changes). Applied through SettingsService.apply, with the claim of the
request in the change's own transaction: exactly once."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import msgspec
import structlog

from app.domain import proposals as domain
from app.domain.access import Principal, sees_scope
from app.domain.errors import BotSettingsError, Conflict, FieldError, NotFound, ValidationFailed
from app.domain.events import ChangeResult
from app.domain.proposals import AlreadyDecided, DiffLine, Proposal, ProposalStatus
from app.domain.scopes import parse_scope
from app.services.settings import SettingsService
from app.store import proposals as store
from app.store import reader
from app.store.database import Connection, Database
from app.store.scheduling import now as db_now

log = structlog.get_logger("botsettings.change_requests")
MAX_LIST = 1000

# Called inside the change transaction of an applied proposal with a guard (the
# guards service registers the guard there, so it exists exactly when the change does).
GuardStart = Callable[[Connection, ChangeResult, float, str], Awaitable[None]]


class ProposalView(msgspec.Struct, frozen=True, kw_only=True):
    """A change request with its diff against the stored state now."""

    request: Proposal
    diff: list[DiffLine]
    head: int


class ProposalsService:
    """Owns: change requests — their life (pending → approved → applied | failed;
    pending → rejected | cancelled; approved → cancelled) and their application."""

    def __init__(self, db: Database, settings: SettingsService) -> None:
        self._db = db
        self.settings = settings
        self.on_guarded: GuardStart | None = None  # set by the runtime (app/services/guards.py)
        self.wake: Callable[[], None] | None = None  # the leader's applier, when this process runs it

    async def propose(self, principal: Principal, patches: dict[str, dict[str, Any]], *, reason: str,
                      apply_at: datetime | None = None, guard_seconds: float | None = None) -> Proposal:
        domain.check_may_propose(principal, [parse_scope(s) for s in patches])
        async with self._db.write() as conn:
            canonical = domain.validate(patches, author=principal.name, reason=reason, apply_at=apply_at,
                                        now=await db_now(conn))
            proposal = await store.insert(conn, patches=canonical, reason=reason, author=principal.name,
                                          apply_at=apply_at, guard_seconds=guard_seconds)
        log.info("change_request.proposed", id=str(proposal.id), author=proposal.author,
                 scopes=list(proposal.patches))
        return proposal

    async def list_requests(self, principal: Principal, status: str | None = None, limit: int = 100) -> list[Proposal]:
        if status is not None and status not in set(ProposalStatus):
            raise ValidationFailed([FieldError(key="status", message=f"no status '{status}': use one of "
                                                                     f"{', '.join(ProposalStatus)}")])
        async with self._db.read() as conn:
            found = await store.list_(conn, status, max(1, min(limit, MAX_LIST)))
        return [p for p in found if _visible(principal, p)]

    async def get(self, principal: Principal, proposal_id: uuid.UUID) -> Proposal:
        async with self._db.read() as conn:
            proposal = await store.get(conn, proposal_id)
        if proposal is None or not _visible(principal, proposal):
            raise NotFound(f"no change request {proposal_id}", id=str(proposal_id))
        return proposal

    async def show(self, principal: Principal, proposal_id: uuid.UUID) -> ProposalView:
        proposal = await self.get(principal, proposal_id)
        async with self._db.snapshot() as conn:
            stored = {str(s): {v.key: v.value for v in await reader.scope_values(conn, s)} for s in proposal.scopes}
            head = await reader.head(conn)
        return ProposalView(request=proposal, diff=domain.diff(proposal, stored), head=head)

    async def of_change(self, change_id: uuid.UUID) -> Proposal | None:
        """The change request a change applied, if it was one."""
        async with self._db.read() as conn:
            return await store.of_change(conn, change_id)

    async def approve(self, principal: Principal, proposal_id: uuid.UUID, note: str | None = None) -> Proposal:
        proposal = await self.get(principal, proposal_id)
        domain.check_may_approve(principal, proposal)
        approved = await self._decide(proposal, "approved", principal.name, note, ("pending",))
        log.info("change_request.approved", id=str(proposal_id), author=proposal.author, approver=principal.name)
        async with self._db.read() as conn:
            now = await db_now(conn)
        if approved.apply_at is None or approved.apply_at <= now:
            await self.apply(approved)
            return await self.get(principal, proposal_id)
        if self.wake is not None:
            self.wake()
        return approved

    async def reject(self, principal: Principal, proposal_id: uuid.UUID, note: str | None = None) -> Proposal:
        proposal = await self.get(principal, proposal_id)
        domain.check_may_approve(principal, proposal)  # the same people who could approve it
        return await self._decide(proposal, "rejected", principal.name, note, ("pending",))

    async def cancel(self, principal: Principal, proposal_id: uuid.UUID, note: str | None = None) -> Proposal:
        proposal = await self.get(principal, proposal_id)
        domain.check_may_cancel(principal, proposal)
        return await self._decide(proposal, "cancelled", principal.name, note, ("pending", "approved"))

    async def _decide(self, proposal: Proposal, status: str, by: str, note: str | None,
                      from_: tuple[str, ...]) -> Proposal:
        async with self._db.write() as conn:
            decided = await store.decide(conn, proposal.id, status=status, by=by, note=note, from_=from_)
            current = decided or await store.get(conn, proposal.id)
        if decided is None:
            state = current.status if current else "gone"
            raise Conflict(f"change request {proposal.id} is {state}, not {' or '.join(from_)}: it cannot be "
                           f"{status}", id=str(proposal.id), state=state)
        return decided

    # -- application: at approval, or by the leader when its apply_at comes ---------------
    async def due(self) -> tuple[list[Proposal], float | None]:
        async with self._db.read() as conn:
            return await store.due(conn)

    async def apply(self, proposal: Proposal) -> bool:
        """Apply an approved proposal; True if this call applied it (False: someone
        else had, it was cancelled, or it is no longer valid and was marked failed)."""
        guard, on_guarded = proposal.guard_seconds, self.on_guarded

        async def claim(conn: Connection, result: ChangeResult) -> None:
            await store.claim_applied(conn, proposal.id, result)
            if guard is not None and on_guarded is not None and result.changed:
                await on_guarded(conn, result, guard, proposal.author)

        try:
            result = await self.settings.apply(domain.change_request(proposal, proposal.decided_by or "?"),
                                               in_transaction=claim)
        except AlreadyDecided:
            return False
        except BotSettingsError as exc:
            error = "; ".join([exc.message, *(f"{e.key}: {e.message}" for e in exc.errors
                                              if e.message != exc.message)])
            async with self._db.write() as conn:
                failed = await store.fail(conn, proposal.id, error)
            if failed:
                log.warning("change_request.failed", id=str(proposal.id), error=error)
            return False
        log.info("change_request.applied", id=str(proposal.id), changed=result.changed,
                 change_id=str(result.change_id) if result.change_id else None)
        return True


def _visible(principal: Principal, proposal: Proposal) -> bool:
    """A token limited to some bots sees only requests all of whose scopes it sees."""
    return all(sees_scope(principal, s) for s in proposal.patches)


__all__ = ["AlreadyDecided", "ProposalView", "ProposalsService"]
