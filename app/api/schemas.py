"""The API's request and response bodies that more than one handler module uses
(the others live beside their one handler). Handler modules import these, never
each other."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Response

from app.domain.events import ChangeResult, ItemResult
from app.services.bots import BatchItem


class StoredSetting(msgspec.Struct, kw_only=True):
    value: Any
    key_version: int
    revision: int
    updated_at: datetime
    updated_by: str


class ScopeSettings(msgspec.Struct, kw_only=True):
    scope: str
    revision: int  # of the scope's last event; also the ETag
    head: int
    settings: dict[str, StoredSetting]


class ChangeResponse(msgspec.Struct, kw_only=True):
    changed: bool
    message: str
    change_id: str | None
    first_revision: int | None
    last_revision: int | None
    head: int
    items: list[ItemResult]
    warnings: list[str]


class PutBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    value: Any
    reason: str | None = None


def change_response(result: ChangeResult) -> Response[ChangeResponse]:
    if result.changed:
        message = (f"applied change {result.change_id}: revisions {result.first_revision}…{result.last_revision}"
                   if result.first_revision != result.last_revision
                   else f"applied change {result.change_id} at revision {result.first_revision}")
    else:
        message = "nothing changed: the stored values already match; no event was appended"
    body = ChangeResponse(changed=result.changed, message=message,
                          change_id=str(result.change_id) if result.change_id else None,
                          first_revision=result.first_revision, last_revision=result.last_revision,
                          head=result.head, items=result.items, warnings=result.warnings)
    return Response(body, headers={"X-Settings-Revision": str(result.head)})


class CompatSetting(msgspec.Struct, kw_only=True):
    key: str
    value: Any


class CompatScope(msgspec.Struct, kw_only=True):
    scope_type: str
    scope_id: str  # "*" for the global scope, as the platform answers
    settings: list[CompatSetting]


class CompatWrite(msgspec.Struct, kw_only=True, omit_defaults=True):
    success: bool
    scope_type: str
    scope_id: str
    key: str
    value: Any  # no default: a null value is answered, not left out
    warnings: list[str] = []  # e.g. a legacy key name that was mapped


class CompatDelete(msgspec.Struct, kw_only=True, omit_defaults=True):
    success: bool
    scope_type: str
    scope_id: str
    key: str
    deleted: bool
    warnings: list[str] = []


class CompatBatchItem(msgspec.Struct, kw_only=True):
    scope_type: str
    scope_id: str
    key: str
    value: Any


class CompatBatch(msgspec.Struct, kw_only=True, omit_defaults=True):
    success: bool
    applied_count: int
    applied: list[CompatBatchItem]
    changed_count: int = 0  # items whose value actually changed (the others were already so)
    warnings: list[str] = []


class CompatRecord(msgspec.Struct, kw_only=True):
    scope_type: str
    scope_id: str
    key: str
    value: Any
    updated_at: datetime | None


class CompatList(msgspec.Struct, kw_only=True):
    settings: list[CompatRecord]
    total_count: int
    filters: dict[str, Any]


class BatchBody(msgspec.Struct, kw_only=True):
    items: list[BatchItem]
