"""/v1/change-requests: changes proposed by one person and applied once another has
approved them (four eyes); see docs/change-requests.md."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from app.domain.errors import FieldError, ValidationFailed
from app.domain.history import parse_time
from app.domain.proposals import Proposal, parse_duration
from app.domain.scopes import parse_scope
from app.http.auth import principal_of
from app.http.deps import Proposals
from app.http.request import query_int
from app.services.proposals import ProposalView

TAGS = ["change requests"]


class ProposeBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: str
    # One scope: scope + patch; several: patches {scope: patch}.
    scope: str | None = None
    patch: dict[str, Any] | None = None
    patches: dict[str, dict[str, Any]] | None = None
    apply_at: str | None = None  # ISO 8601 with a zone; none: as soon as it is approved
    guard: str | None = None  # e.g. "15m": watch the bots' figures this long after it is applied


class DecisionBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    note: str | None = None


class ProposalList(msgspec.Struct, kw_only=True):
    change_requests: list[Proposal]


def _patches(data: ProposeBody) -> dict[str, dict[str, Any]]:
    if (data.patches is None) == (data.scope is None and data.patch is None):
        raise ValidationFailed([FieldError(key="patches", code="invalid_request", message=(
            "give either scope and patch (one scope) or patches {scope: patch} (several), not both"
            if data.patches is not None else "give scope and patch, or patches {scope: patch}"))])
    if data.patches is not None:
        return {str(parse_scope(s)): p for s, p in data.patches.items()}
    if data.scope is None or data.patch is None:
        raise ValidationFailed([FieldError(key="scope" if data.scope is None else "patch", code="required",
                                           message="a one-scope change request needs both scope and patch")])
    return {str(parse_scope(data.scope)): data.patch}


@post("/v1/change-requests", summary="Propose a change of one or several scopes, for another person to approve",
      tags=TAGS, status_code=201, opt={"scope_in_body": True})
async def propose(request: Request[Any, Any, Any], proposals: Proposals, data: JSONBody[ProposeBody]) -> Proposal:
    apply_at = parse_time(data.apply_at, "apply_at", naive_is_utc=False) if data.apply_at is not None else None
    guard = parse_duration(data.guard) if data.guard is not None else None
    return await proposals.propose(principal_of(request), _patches(data), reason=data.reason, apply_at=apply_at,
                                   guard_seconds=guard)


@get("/v1/change-requests", summary="Change requests, newest first (?status=pending|approved|applied|…)",
     tags=TAGS)
async def list_requests(request: Request[Any, Any, Any], proposals: Proposals, status: FromQuery[str | None] = None,
                        limit: FromQuery[str | None] = None) -> ProposalList:
    found = await proposals.list_requests(principal_of(request), status, query_int(limit, "limit", 100, 1, 1000))
    return ProposalList(change_requests=found)


@get("/v1/change-requests/{request_id:uuid}", summary="One change request, with its diff against the state now",
     tags=TAGS)
async def show_request(request: Request[Any, Any, Any], proposals: Proposals,
                       request_id: FromPath[uuid.UUID]) -> ProposalView:
    return await proposals.show(principal_of(request), request_id)


_DECIDE: dict[str, Any] = {"tags": TAGS, "status_code": 200, "opt": {"scope_in_body": True}}


@post("/v1/change-requests/{request_id:uuid}/approve", summary="Approve (not your own): applied at once or at "
      "its apply_at", **_DECIDE)
async def approve(request: Request[Any, Any, Any], proposals: Proposals, request_id: FromPath[uuid.UUID],
                  data: JSONBody[DecisionBody | None] = None) -> Proposal:
    return await proposals.approve(principal_of(request), request_id, data.note if data else None)


@post("/v1/change-requests/{request_id:uuid}/reject", summary="Reject a pending change request", **_DECIDE)
async def reject(request: Request[Any, Any, Any], proposals: Proposals, request_id: FromPath[uuid.UUID],
                 data: JSONBody[DecisionBody | None] = None) -> Proposal:
    return await proposals.reject(principal_of(request), request_id, data.note if data else None)


@post("/v1/change-requests/{request_id:uuid}/cancel", summary="Withdraw a pending or approved (not yet applied) "
      "change request", **_DECIDE)
async def cancel(request: Request[Any, Any, Any], proposals: Proposals, request_id: FromPath[uuid.UUID],
                 data: JSONBody[DecisionBody | None] = None) -> Proposal:
    return await proposals.cancel(principal_of(request), request_id, data.note if data else None)


HANDLERS = [propose, list_requests, show_request, approve, reject, cancel]
