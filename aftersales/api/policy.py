"""Policy decisions, what-if checks, SLA clocks and deadline extensions (R2, R6.3)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Body, Field, P, PathEx, Router, Schema
from pydantic import ValidationError as PydanticValidationError

from aftersales.cases.fetch import get_case_for_actor
from aftersales.core.errors import InvalidInput, NotFound
from aftersales.core.limits import CODE_MAX_LENGTH, MESSAGE_MAX_LENGTH, REASON_MAX_LENGTH
from aftersales.policy.engine import decide
from aftersales.policy.facts import CaseIn
from aftersales.policy.services import decide_case, latest_decision, policy_for
from aftersales.sla.models import ClockKind
from aftersales.sla.services import extend_deadline
from aftersales.workdays.calendar import get_calendar

from .schemas import ClockOut, DecisionOut, ErrorOut
from .serializers import clock_out, decision_out

router = Router(tags=["policy and time limits"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


class ExtendIn(Schema):
    hours: int = Field(gt=0, le=360)
    reason: str = Field(min_length=1, max_length=REASON_MAX_LENGTH)
    message_to_buyer: str = Field(min_length=1, max_length=MESSAGE_MAX_LENGTH)


@router.post(
    "/policy/check",
    response={200: dict, **ERRORS},
    summary="Decide a case described in JSON (nothing is written)",
)
def check(request: HttpRequest, payload: Body[dict[str, Any]]) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    try:
        case_in = CaseIn.model_validate(payload)
        facts = case_in.to_facts()
    except (PydanticValidationError, ValueError) as exc:
        raise InvalidInput(
            _("The case description is not valid: %(error)s"), error=str(exc)
        ) from exc
    shop_id = case_in.shop_id
    if shop_id is not None and shop_id not in actor.shop_roles:
        raise NotFound(_("Shop not found."))
    if shop_id is None and len(actor.shop_roles) == 1:
        shop_id = next(iter(actor.shop_roles))
    return decide(facts, policy_for(shop_id, facts.applied_at)).as_json()


@router.get("/cases/{case_id}/decision", response={200: DecisionOut, **ERRORS})
def get_decision(request: HttpRequest, case_id: int) -> dict[str, Any]:
    case = get_case_for_actor(request.auth, case_id)  # type: ignore[attr-defined]
    stored = latest_decision(case)
    if stored is None:
        raise NotFound(_("The policy has not decided this case yet."))
    return decision_out(stored)


@router.post("/cases/{case_id}/decide", response={200: DecisionOut, **ERRORS})
def redecide(request: HttpRequest, case_id: int) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    case = get_case_for_actor(actor, case_id, write=True)
    return decision_out(decide_case(case=case, by=actor))


@router.get("/cases/{case_id}/clocks", response={200: list[ClockOut], **ERRORS})
def clocks(request: HttpRequest, case_id: int) -> list[dict[str, Any]]:
    case = get_case_for_actor(request.auth, case_id)  # type: ignore[attr-defined]
    now = timezone.now()
    return [clock_out(c, now) for c in case.clocks.order_by("started_at", "pk")]


@router.post(
    "/cases/{case_id}/clocks/{kind}/extend",
    response={200: ClockOut, **ERRORS},
    summary="Extend a deadline, with a reason and a message to the buyer (R2.6)",
)
def extend(
    request: HttpRequest,
    case_id: int,
    kind: PathEx[str, P(max_length=CODE_MAX_LENGTH)],
    payload: ExtendIn,
) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    case = get_case_for_actor(actor, case_id, write=True)
    if kind not in ClockKind.values:
        raise InvalidInput(_("Unknown clock."))
    clock = case.clocks.exclude(state="stopped").filter(kind=kind).first()
    if clock is None:
        raise NotFound(_("This clock is not running for the case."))
    clock = extend_deadline(
        clock=clock,
        hours=payload.hours,
        reason=payload.reason,
        message_to_buyer=payload.message_to_buyer,
        by=actor,
    )
    return clock_out(clock, timezone.now())


@router.get("/calendar/warnings", response=list[str], summary="Years without holiday data")
def calendar_warnings(request: HttpRequest) -> list[str]:
    year = timezone.localdate().year
    return get_calendar().warnings([year, year + 1])
