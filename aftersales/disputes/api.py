"""Disputes in the REST API (`/api/v1/cases/{id}/dispute`, offers, evidence packages, the
appeal; `/api/v1/disputes/…` for the shop's week), mounted by `api/api.py`.

Every case is fetched through `get_case_for_actor` (another shop's case is a 404; writing
needs a writing role); money is integer fen; times are ISO 8601 with their zone.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import FileResponse, HttpRequest
from ninja import Field, Query, Router, Schema

from aftersales.cases.fetch import get_case_for_actor
from aftersales.cases.models import Case
from aftersales.core.actors import Actor
from aftersales.core.errors import NotFound
from aftersales.core.limits import NOTE_MAX_LENGTH, PLATFORM_REMARK_MAX_LENGTH, REASON_MAX_LENGTH
from aftersales.platforms.adapter import adapter_for_case

from . import services
from .choices import OfferKind
from .models import EvidencePackage, Intervention, Offer

router = Router(tags=["disputes"])


def _actor(request: HttpRequest) -> Actor:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def offer_body(offer: Offer) -> dict[str, Any]:
    return {
        "id": offer.pk,
        "number": offer.number,
        "side": offer.side,
        "kind": offer.kind,
        "amount_fen": offer.amount_fen,
        "note": offer.note,
        "counter_to": offer.counter_to_id,
        "made_by": offer.made_by,
        "made_at": _iso(offer.made_at),
        "status": offer.status,
        "answer": offer.answer_note,
        "answered_by": offer.answered_by,
        "answered_at": _iso(offer.answered_at),
        "outcome": offer.outcome,
    }


def intervention_body(ticket: Intervention) -> dict[str, Any]:
    return {
        "id": ticket.pk,
        "platform_ref": ticket.platform_ref,
        "status": ticket.status,
        "opened_at": _iso(ticket.opened_at),
        "evidence_due_at": _iso(ticket.evidence_due_at),
        "evidence_submitted_at": _iso(ticket.evidence_submitted_at),
        "handler": ticket.handler_id,
        "ruling": ticket.ruling or None,
        "responsible": ticket.responsible or None,
        "ruling_refund_fen": ticket.ruling_refund_fen,
        "ruled_at": _iso(ticket.ruled_at),
        "ruling_executed_at": _iso(ticket.ruling_executed_at),
        "ruling_outcome": ticket.ruling_outcome,
    }


def package_body(case: Case, package: EvidencePackage) -> dict[str, Any]:
    base = f"/api/v1/cases/{case.pk}/evidence-packages/{package.pk}"
    return {
        "id": package.pk,
        "number": package.number,
        "built_by": package.built_by,
        "built_at": _iso(package.built_at),
        "pdf_sha256": package.pdf_sha256,
        "archive_sha256": package.archive_sha256,
        "pdf_url": base + "/pdf",
        "archive_url": base + "/zip",
        "files": package.manifest,
        "submitted_at": _iso(package.submitted_at),
        "submitted_evidence": package.submitted_evidence,
        "comment": package.comment,
    }


def dispute_body(case: Case) -> dict[str, Any]:
    appeal = services.latest_appeal(case)
    platform = adapter_for_case(case)
    deadline = platform.sync_state(case).platform_deadline if case.platform_case_id else None
    return {
        "case": case.pk,
        "dispute_status": case.dispute_status,
        "platform_deadline": _iso(deadline),
        "suggest_time_extension": services.suggests_extension(case, deadline),
        "offers": [offer_body(o) for o in case.offers.order_by("number")],
        "interventions": [intervention_body(t) for t in case.interventions.order_by("pk")],
        "packages": [package_body(case, p) for p in case.evidence_packages.order_by("number")],
        "appeal": None
        if appeal is None
        else {
            "id": appeal.pk,
            "statement": appeal.statement,
            "filed_by": appeal.filed_by,
            "filed_at": _iso(appeal.filed_at),
            "due_at": _iso(appeal.due_at),
            "outcome": appeal.outcome,
            "outcome_note": appeal.outcome_note,
            "decided_at": _iso(appeal.decided_at),
        },
    }


class OfferIn(Schema):
    kind: Literal["full_refund", "partial_refund", "exchange", "resend", "compensation"] = Field(
        description="; ".join(OfferKind.values)
    )
    amount_fen: int = Field(0, ge=0, description="for a partial refund or compensation")
    note: str = Field("", max_length=REASON_MAX_LENGTH)
    side: Literal["merchant", "buyer"] = Field(
        "merchant", description="buyer: a counter-offer the buyer made, as recorded"
    )
    counter_to: int | None = None


class AnswerIn(Schema):
    accepted: bool
    note: str = Field("", max_length=REASON_MAX_LENGTH)


class SubmitIn(Schema):
    evidence_ids: list[int] = Field(..., max_length=50)
    comment: str = Field(..., max_length=PLATFORM_REMARK_MAX_LENGTH)


class AppealIn(Schema):
    statement: str = Field(..., max_length=NOTE_MAX_LENGTH)


class AppealOutcomeIn(Schema):
    outcome: Literal["upheld", "rejected"]
    note: str = Field("", max_length=REASON_MAX_LENGTH)


class ShopQuery(Schema):
    shop: int


@router.get(
    "/cases/{case_id}/dispute", summary="The case's negotiation, intervention, ruling, appeal (R5)"
)
def get_dispute(request: HttpRequest, case_id: int) -> dict[str, Any]:
    return dispute_body(get_case_for_actor(_actor(request), case_id))


@router.post("/cases/{case_id}/offers", summary="Make an offer or record a counter-offer (R5.1)")
def post_offer(request: HttpRequest, case_id: int, payload: OfferIn) -> dict[str, Any]:
    actor = _actor(request)
    case = get_case_for_actor(actor, case_id, write=True)
    counter = services.get_offer_for_case(case, payload.counter_to) if payload.counter_to else None
    offer = services.make_offer(
        case=case,
        kind=payload.kind,
        amount_fen=payload.amount_fen,
        note=payload.note,
        side=payload.side,
        counter_to=counter,
        by=actor,
    )
    return offer_body(offer)


@router.post(
    "/cases/{case_id}/offers/{offer_id}/answer",
    summary="Record the answer to an offer; accepted, it is carried out (R5.1)",
)
def post_answer(
    request: HttpRequest, case_id: int, offer_id: int, payload: AnswerIn
) -> dict[str, Any]:
    actor = _actor(request)
    case = get_case_for_actor(actor, case_id, write=True)
    offer = services.answer_offer(
        offer=services.get_offer_for_case(case, offer_id),
        accepted=payload.accepted,
        note=payload.note,
        by=actor,
    )
    return offer_body(offer)


@router.post("/cases/{case_id}/evidence-packages", summary="Build the evidence package (R5.2)")
def post_package(request: HttpRequest, case_id: int) -> dict[str, Any]:
    actor = _actor(request)
    case = get_case_for_actor(actor, case_id, write=True)
    return package_body(case, services.build_package(case=case, by=actor))


def _file(package: EvidencePackage, which: str) -> FileResponse:
    field = package.pdf if which == "pdf" else package.archive
    content_type = "application/pdf" if which == "pdf" else "application/zip"
    response = FileResponse(field.open("rb"), content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = (
        f'attachment; filename="case-{package.case_id}-package-{package.number}.{which}"'
    )
    return response


@router.get("/cases/{case_id}/evidence-packages/{package_id}/pdf", summary="Download the PDF")
def get_package_pdf(request: HttpRequest, case_id: int, package_id: int) -> FileResponse:
    case = get_case_for_actor(_actor(request), case_id)
    return _file(services.get_package_for_case(case, package_id), "pdf")


@router.get(
    "/cases/{case_id}/evidence-packages/{package_id}/zip",
    summary="Download the zip of the original files with their SHA-256",
)
def get_package_zip(request: HttpRequest, case_id: int, package_id: int) -> FileResponse:
    case = get_case_for_actor(_actor(request), case_id)
    return _file(services.get_package_for_case(case, package_id), "zip")


@router.post(
    "/cases/{case_id}/evidence-packages/{package_id}/submit",
    summary="Submit the chosen photos to the platform's intervention (R5.2)",
)
def post_submit(
    request: HttpRequest, case_id: int, package_id: int, payload: SubmitIn
) -> dict[str, Any]:
    actor = _actor(request)
    case = get_case_for_actor(actor, case_id, write=True)
    package = services.submit_package(
        package=services.get_package_for_case(case, package_id),
        evidence_ids=payload.evidence_ids,
        comment=payload.comment,
        by=actor,
    )
    return package_body(case, package)


@router.post("/cases/{case_id}/appeal", summary="Appeal the ruling within 7 days (R5.3)")
def post_appeal(request: HttpRequest, case_id: int, payload: AppealIn) -> dict[str, Any]:
    actor = _actor(request)
    case = get_case_for_actor(actor, case_id, write=True)
    services.file_appeal(case=case, statement=payload.statement, by=actor)
    return dispute_body(case)


@router.post("/cases/{case_id}/appeal/outcome", summary="Record the appeal's outcome (R5.3)")
def post_appeal_outcome(
    request: HttpRequest, case_id: int, payload: AppealOutcomeIn
) -> dict[str, Any]:
    actor = _actor(request)
    case = get_case_for_actor(actor, case_id, write=True)
    appeal = services.latest_appeal(case)
    if appeal is None:
        raise NotFound()
    services.record_appeal_outcome(
        appeal=appeal, outcome=payload.outcome, note=payload.note, by=actor
    )
    return dispute_body(case)


def _shop(actor: Actor, shop_id: int) -> int:
    if not actor.is_unscoped and shop_id not in actor.shop_roles:
        raise NotFound()
    return shop_id


@router.get("/disputes/week", summary="This week's intervention tickets on time and late")
def get_week(request: HttpRequest, query: Query[ShopQuery]) -> dict[str, Any]:
    week = services.week_tickets(_shop(_actor(request), query.shop))
    return {
        "start": _iso(week.start),
        "end": _iso(week.end),
        "total": week.total,
        "on_time": week.on_time,
        "late": week.late,
        "waiting": week.waiting,
        "late_share": week.late_share,
        "level": week.level,
        "warning_share": services.LATE_WARNING_SHARE,
        "fine_share": services.LATE_FINE_SHARE,
    }


@router.get("/disputes/rejections", summary="Rejection rate by reason against the baseline")
def get_rejections(request: HttpRequest, query: Query[ShopQuery]) -> dict[str, Any]:
    rows = services.rejection_guard(_shop(_actor(request), query.shop))
    return {
        "reasons": [
            {
                "reason": r.reason_code,
                "label": r.label,
                "needs_proof": r.needs_proof,
                "rejected": r.rejected,
                "rate_per_mille": r.rate_per_mille,
                "baseline_per_mille": r.baseline_per_mille,
                "warn": r.warn,
            }
            for r in rows
        ]
    }
