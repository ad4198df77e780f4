"""The platform sync state of a case, and retrying what failed, for any platform (R13.1)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from aftersales.cases.fetch import get_case_for_actor
from aftersales.platforms.adapter import SyncState, adapter_for_case

from .schemas import ErrorOut

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
    text: str  # what was said: the message to the buyer, the remark
    answer: str  # the platform's answer in words (an interception's result)


class SyncStateOut(Schema):
    state: str  # none | pending | synced | failed
    reason: str
    operations: list[OperationOut]
    out_of_sync: bool  # the platform's state differs from the case's
    drift: list[str]  # how, while nothing of ours is on its way to it
    platform_status: str  # the platform's state in its words
    platform_deadline: datetime | None  # when the platform acts by itself on it


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


@router.get(
    "/cases/{case_id}/sync",
    response={200: SyncStateOut, **ERRORS},
    summary="What the platform has been told about this case: pending / synced / failed",
)
def get_sync_state(request: HttpRequest, case_id: int) -> SyncState:
    case = get_case_for_actor(request.auth, case_id)  # type: ignore[attr-defined]
    return adapter_for_case(case).sync_state(case)


@router.post(
    "/cases/{case_id}/sync/retry",
    response={200: SyncStateOut, **ERRORS},
    summary="Send the case's failed platform operations again",
)
def retry_sync(request: HttpRequest, case_id: int) -> SyncState:
    actor = request.auth  # type: ignore[attr-defined]
    case = get_case_for_actor(actor, case_id, write=True)
    adapter = adapter_for_case(case)
    adapter.retry_failed(case=case, by=actor)
    return adapter.sync_state(case)
