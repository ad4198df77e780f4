"""The platform sync state of a case, and retrying what failed (registered in api/api.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from aftersales.api.schemas import ErrorOut
from aftersales.cases.fetch import get_case_for_actor

from .outbox import retry_failed_operations, sync_state

router = Router(tags=["platform sync"])


class OperationOut(Schema):
    id: int
    kind: str
    status: str
    attempts: int
    last_error: str
    created_at: datetime
    synced_at: datetime | None
    next_attempt_at: datetime | None


class SyncStateOut(Schema):
    state: str  # none | pending | synced | failed
    reason: str
    operations: list[OperationOut]


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


@router.get(
    "/cases/{case_id}/sync",
    response={200: SyncStateOut, **ERRORS},
    summary="What the platform has been told about this case: pending / synced / failed",
)
def get_sync_state(request: HttpRequest, case_id: int) -> dict[str, Any]:
    case = get_case_for_actor(request.auth, case_id)  # type: ignore[attr-defined]
    return sync_state(case)


@router.post(
    "/cases/{case_id}/sync/retry",
    response={200: SyncStateOut, **ERRORS},
    summary="Send the case's failed platform operations again",
)
def retry_sync(request: HttpRequest, case_id: int) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    case = get_case_for_actor(actor, case_id, write=True)
    retry_failed_operations(case=case, by=actor)
    return sync_state(case)
