"""Change requests on the page: propose from a bot's page, the list, one request with
its diff against now, and approve / reject / cancel (the same rules as the API:
app/services/proposals.py)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.domain import scopes
from app.domain.access import Forbidden
from app.domain.errors import BadRequest, FieldError, ValidationFailed
from app.domain.history import parse_time
from app.domain.proposals import ProposalStatus, check_may_approve, check_may_cancel, parse_duration
from app.http.deps import Proposals, Service
from app.web.render import current_principal, page


def _request_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise BadRequest(f"{text!r} is not a change request id") from None


@get("/requests", name="web.requests")
async def requests_page(request: Request[Any, Any, Any], service: Service, proposals: Proposals,
                        status: FromQuery[str | None] = None) -> Template:
    chosen = status if status in set(ProposalStatus) else None
    found = await proposals.list_requests(current_principal(request), chosen)
    return page(request, "requests.html", requests=found, chosen=chosen, statuses=list(ProposalStatus),
                revision=service.revision)


def _allowed(check: Any, principal: Any, proposal: Any) -> bool:
    try:
        check(principal, proposal)
    except Forbidden:
        return False
    return True


@get("/requests/{request_id:str}", name="web.request")
async def request_page(request: Request[Any, Any, Any], service: Service, proposals: Proposals,
                       request_id: FromPath[str]) -> Template:
    principal = current_principal(request)
    view = await proposals.show(principal, _request_id(request_id))
    return page(request, "request.html", view=view, p=view.request,
                can_approve=_allowed(check_may_approve, principal, view.request),
                can_cancel=_allowed(check_may_cancel, principal, view.request),
                done=request.query_params.get("done"), revision=service.revision)


@post("/requests/{request_id:str}/{decision:str}", name="web.decide", opt={"scope_in_body": True})
async def decide(request: Request[Any, Any, Any], proposals: Proposals, request_id: FromPath[str],
                 decision: FromPath[str]) -> Redirect:
    rid = _request_id(request_id)
    form = await request.form()
    note = str(form.get("note", "")).strip() or None
    principal = current_principal(request)
    if decision == "approve":
        await proposals.approve(principal, rid, note)
    elif decision == "reject":
        await proposals.reject(principal, rid, note)
    elif decision == "cancel":
        await proposals.cancel(principal, rid, note)
    else:
        raise BadRequest(f"no decision {decision!r}: approve, reject or cancel")
    return Redirect(f"/requests/{rid}?done={decision}", status_code=303)


@post("/bots/{slug:str}/propose", name="web.propose")
async def propose(request: Request[Any, Any, Any], proposals: Proposals, slug: FromPath[str]) -> Redirect:
    """Propose a change of this bot: a JSON merge-patch (null deletes a key)."""
    form = await request.form()
    text = str(form.get("patch", "")).strip()
    try:
        patch = json.loads(text) if text else None
    except ValueError as exc:
        raise ValidationFailed([FieldError(key="patch", message=f"the patch is not JSON: {exc}")]) from None
    if not isinstance(patch, dict):
        raise ValidationFailed([FieldError(key="patch", message='the patch must be a JSON object like '
                                                               '{"temperature": 0.5}')])
    apply_at = str(form.get("apply_at", "")).strip()
    guard = str(form.get("guard", "")).strip()
    proposal = await proposals.propose(
        current_principal(request), {str(scopes.bot(slug)): patch}, reason=str(form.get("reason", "")).strip(),
        apply_at=parse_time(apply_at, "apply_at", naive_is_utc=False) if apply_at else None,
        guard_seconds=parse_duration(guard) if guard else None)
    return Redirect(f"/requests/{proposal.id}?done=proposed", status_code=303)


HANDLERS = [requests_page, request_page, decide, propose]
