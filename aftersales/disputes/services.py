"""Disputes (争议处理机制, R5): negotiate with the buyer, follow the platform's intervention,
answer it with an evidence package in time, carry out its ruling, appeal.

Every service is one transaction with its case event (on the case's audit trail and handed to
the reactions: the SLA clocks, the platform). An accepted offer and a ruling for the buyer
go through the case services (`settle_with_refund`, `refund_case`): the refund is capped by
what was paid and decided once, whoever asks and however often.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from aftersales.cases import services as cs
from aftersales.cases.choices import (
    RETURNING_TYPES,
    TERMINAL_STATUSES,
    CaseStatus,
    CaseType,
    CostKind,
    CostPayer,
    DisputeStatus,
    RefundStatus,
    ReturnStatus,
)
from aftersales.cases.events import CaseEvent
from aftersales.cases.models import Case, RefundDecision
from aftersales.cases.reasons import REJECT_REASONS
from aftersales.cases.transitions import (
    can_approve,
    can_reopen,
    can_settle_with_refund,
    record_case_event,
)
from aftersales.core.actors import Actor
from aftersales.core.errors import (
    Conflict,
    IllegalTransition,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from aftersales.core.limits import (
    NOTE_MAX_LENGTH,
    PLATFORM_REMARK_MAX_LENGTH,
    REASON_MAX_LENGTH,
    check_length,
)
from aftersales.core.money import fen_to_yuan
from aftersales.platforms.adapter import adapter_for_case
from aftersales.shops.choices import WRITE_ROLES, Role
from aftersales.shops.models import Membership
from aftersales.sla.models import ClockKind
from aftersales.sla.services import start_clock_until, stop_clock
from aftersales.workdays.calendar import SHANGHAI

from .choices import (
    BLAME_TO_RESPONSIBLE,
    KINDS_WITH_AMOUNT,
    AppealOutcome,
    InterventionStatus,
    OfferKind,
    OfferSide,
    OfferStatus,
    Ruling,
)
from .models import Appeal, DisputeSettings, EvidencePackage, Intervention, Offer

logger = logging.getLogger(__name__)

APPEAL_WINDOW = timedelta(days=7)  # 申诉: within 7 days of the ruling (rule-113278)
# With this little left on the platform's deadline and the return parcel still on its way,
# the case suggests asking the platform for more time (R2.6).
EXTENSION_HINT_WINDOW = timedelta(days=2)
# The platform's weekly lines for late intervention tickets (消极服务): a warning from 30 %,
# a fine from 60 %.
LATE_WARNING_SHARE = 0.30
LATE_FINE_SHARE = 0.60

OFFER_TEXT = {
    OfferKind.FULL_REFUND: "商家提出协商方案：全额退款 {amount} 元。",
    OfferKind.PARTIAL_REFUND: "商家提出协商方案：部分退款 {amount} 元，商品无需退回。",
    OfferKind.EXCHANGE: "商家提出协商方案：为您换货。",
    OfferKind.RESEND: "商家提出协商方案：为您补发商品。",
    OfferKind.COMPENSATION: "商家提出协商方案：补偿 {amount} 元。",
}


# --- Settings ---------------------------------------------------------------------------------


def settings_for(shop_id: int) -> DisputeSettings:
    """The shop's dispute settings (the defaults until someone saves them)."""
    found = DisputeSettings.objects.filter(shop_id=shop_id).first()
    return found or DisputeSettings(shop_id=shop_id)


@transaction.atomic
def set_dispute_settings(
    *,
    shop_id: int,
    by: Actor,
    handler_id: int | None,
    baseline_per_mille: int,
    warn_multiple: int,
) -> DisputeSettings:
    """A supervisor or shop admin names the shop's dispute handler and the rejection guard's
    baseline (R5.2, R6.4)."""
    from aftersales.audit.chain import record_event

    if by.role_in(shop_id) not in (Role.SUPERVISOR, Role.ADMIN):
        raise NotFound(_("Shop not found."))
    if handler_id is not None:
        role = Membership.objects.filter(shop_id=shop_id, user_id=handler_id).values_list(
            "role", flat=True
        )
        if not role or role[0] not in WRITE_ROLES:
            raise InvalidInput(_("The handler must be a member of the shop who works cases."))
    if not 0 < baseline_per_mille <= 1000:
        raise InvalidInput(_("The baseline is between 1 and 1000 per mille."))
    if not 1 <= warn_multiple <= 100:
        raise InvalidInput(_("The multiple is between 1 and 100."))
    found, _created = DisputeSettings.objects.select_for_update().get_or_create(shop_id=shop_id)
    found.handler_id = handler_id
    found.baseline_per_mille = baseline_per_mille
    found.warn_multiple = warn_multiple
    found.save()
    record_event(
        shop_id=shop_id,
        type="dispute_settings_changed",
        by=by,
        payload={
            "handler": handler_id,
            "baseline_per_mille": baseline_per_mille,
            "warn_multiple": warn_multiple,
        },
    )
    return found


# --- Fetching ---------------------------------------------------------------------------------


def get_offer_for_case(case: Case, offer_id: int) -> Offer:
    """The case's offer; another case's (or shop's) is not found. The case was fetched with
    the actor's permission check (`get_case_for_actor`)."""
    offer = Offer.objects.filter(case=case, pk=offer_id).first()
    if offer is None:
        raise NotFound(_("Offer not found."))
    return offer


def open_offer_to_buyer(case: Case) -> Offer | None:
    """The shop's offer the buyer has still to answer (at most one is open per case)."""
    return Offer.objects.filter(case=case, side=OfferSide.MERCHANT, status=OfferStatus.OPEN).first()


def offer_words(offer: Offer) -> str:
    """The offer as the buyer reads it: "部分退款 30.00 元……"."""
    return _offer_words(offer.kind, offer.amount_fen)


def get_package_for_case(case: Case, package_id: int) -> EvidencePackage:
    package = EvidencePackage.objects.filter(case=case, pk=package_id).first()
    if package is None:
        raise NotFound(_("Evidence package not found."))
    return package


def live_intervention(case: Case) -> Intervention | None:
    return (
        Intervention.objects.filter(case=case)
        .filter(
            status__in=[
                InterventionStatus.OPEN,
                InterventionStatus.AWAITING_EVIDENCE,
                InterventionStatus.EVIDENCE_SUBMITTED,
            ]
        )
        .first()
    )


def latest_intervention(case: Case) -> Intervention | None:
    return Intervention.objects.filter(case=case).order_by("-pk").first()


# --- Negotiation (R5.1) -----------------------------------------------------------------------


def _offer_words(kind: str, amount_fen: int) -> str:
    return OFFER_TEXT[OfferKind(kind)].format(amount=fen_to_yuan(amount_fen))


def _check_offer(case: Case, kind: str, amount_fen: int) -> int:
    """The offer's amount as it will be recorded; refuses what cannot be carried out."""
    if kind not in OfferKind.values:
        raise InvalidInput(_("Unknown kind of offer."), field="kind")
    if case.status in TERMINAL_STATUSES:
        raise IllegalTransition(from_status=case.status, event=CaseEvent.OFFER_MADE)
    if amount_fen < 0:
        raise InvalidInput(_("Amounts cannot be negative."), field="amount_fen")
    is_refund = kind in (OfferKind.FULL_REFUND, OfferKind.PARTIAL_REFUND)
    if is_refund and case.refund_status != RefundStatus.NONE:
        raise Conflict(_("This case already has a refund."), field="kind")
    if is_refund:
        cap = cs.refund_defaults(case).goods_cap_fen
        if kind == OfferKind.FULL_REFUND:
            return cap
        if amount_fen <= 0:
            raise InvalidInput(_("Say how much the offer is."), field="amount_fen")
        if amount_fen >= cap:
            raise InvalidInput(
                _("A partial refund is less than the %(cap)s yuan that may be refunded."),
                cap=fen_to_yuan(cap),
                field="amount_fen",
            )
        return amount_fen
    if kind in KINDS_WITH_AMOUNT and amount_fen <= 0:
        raise InvalidInput(_("Say how much the offer is."), field="amount_fen")
    return amount_fen if kind in KINDS_WITH_AMOUNT else 0


@transaction.atomic
def make_offer(
    *,
    case: Case,
    kind: str,
    by: Actor,
    amount_fen: int = 0,
    note: str = "",
    side: str = OfferSide.MERCHANT,
    counter_to: Offer | None = None,
) -> Offer:
    """Put an offer on the case (the shop's, or the buyer's counter-offer as recorded by the
    staff). The shop's offer reaches the buyer through the case's platform channel (the
    `offer_made` event carries its text); an offer still open is replaced."""
    check_length(note=(note, REASON_MAX_LENGTH))
    if side not in OfferSide.values:
        raise InvalidInput(_("Unknown side."), field="side")
    case = cs.lock_case(case)
    amount_fen = _check_offer(case, kind, amount_fen)
    now = timezone.now()
    open_offer = Offer.objects.select_for_update().filter(case=case, status=OfferStatus.OPEN)
    if counter_to is not None:
        if counter_to.case_id != case.pk or counter_to.status != OfferStatus.OPEN:
            raise Conflict(_("That offer is no longer open."))
        if counter_to.side == side:
            raise InvalidInput(_("A counter-offer comes from the other side."), field="side")
    for previous in open_offer:
        previous.status = (
            OfferStatus.COUNTERED
            if counter_to is not None and previous.pk == counter_to.pk
            else OfferStatus.WITHDRAWN
        )
        previous.answered_at = now
        previous.answered_by = by.label
        previous.save(update_fields=["status", "answered_at", "answered_by"])
    number = (Offer.objects.filter(case=case).aggregate(n=Max("number"))["n"] or 0) + 1
    offer = Offer.objects.create(
        shop_id=case.shop_id,
        case=case,
        number=number,
        side=side,
        kind=kind,
        amount_fen=amount_fen,
        note=note.strip(),
        counter_to=counter_to,
        made_by=by.label,
        made_at=now,
    )
    payload: dict[str, Any] = {
        "offer": offer.pk,
        "number": number,
        "side": side,
        "kind": kind,
        "amount_fen": amount_fen,
        "note": offer.note,
        "counter_to": counter_to.pk if counter_to else None,
    }
    if side == OfferSide.MERCHANT:
        text = _offer_words(kind, amount_fen)
        if offer.note:
            text += offer.note.rstrip("。.") + "。"
        payload["text"] = text + "如您同意，请回复“同意”。"
    record_case_event(case, event=CaseEvent.OFFER_MADE, by=by, payload=payload)
    return offer


@transaction.atomic
def answer_offer(*, offer: Offer, accepted: bool, by: Actor, note: str = "") -> Offer:
    """The other side's answer: the buyer's to the shop's offer (on the buyer's own page, or
    recorded by the staff from the conversation), or the shop's to the buyer's counter-offer.
    Accepted, the agreement is carried out through the case services in this transaction."""
    check_length(note=(note, REASON_MAX_LENGTH))
    case = cs.lock_case(offer.case)
    offer = Offer.objects.select_for_update().get(pk=offer.pk)
    if offer.status != OfferStatus.OPEN:
        raise Conflict(_("That offer is no longer open."))
    if by.kind == "buyer" and offer.side != OfferSide.MERCHANT:
        # The buyer answers the shop's offers; their own counter-offer is the shop's to answer.
        raise PermissionDenied(_("Only the shop can answer this offer."))
    now = timezone.now()
    offer.status = OfferStatus.ACCEPTED if accepted else OfferStatus.DECLINED
    offer.answer_note = note.strip()
    offer.answered_by = by.label
    offer.answered_at = now
    if accepted:
        offer.outcome = _carry_out(case, offer, by)
    offer.save(update_fields=["status", "answer_note", "answered_by", "answered_at", "outcome"])
    record_case_event(
        Case.objects.get(pk=case.pk),
        event=CaseEvent.OFFER_ANSWERED,
        by=by,
        payload={
            "offer": offer.pk,
            "number": offer.number,
            "kind": offer.kind,
            "amount_fen": offer.amount_fen,
            "accepted": accepted,
            "answer": offer.answer_note,
            "outcome": offer.outcome,
        },
    )
    return offer


def _carry_out(case: Case, offer: Offer, by: Actor) -> str:
    """What the agreement does to the case, through the case services; the words recorded."""
    agreed = f"协商一致（方案 #{offer.number}）"
    if offer.kind in (OfferKind.FULL_REFUND, OfferKind.PARTIAL_REFUND):
        if case.status != CaseStatus.AWAITING_REFUND:
            cs.settle_with_refund(case=case, by=by, note=agreed, source="offer")
        full = offer.kind == OfferKind.FULL_REFUND
        decision = cs.refund_case(
            case=case,
            by=by,
            goods_amount_fen=None if full else offer.amount_fen,
            shipping_amount_fen=None if full else 0,
            reason="" if full else f"{agreed}：部分退款，商品无需退回",
        )
        return f"refund_decided:{decision.pk}"
    if offer.kind == OfferKind.COMPENSATION:
        cost = cs.add_cost(
            case=case,
            kind=CostKind.COMPENSATION,
            amount_fen=offer.amount_fen,
            payer=CostPayer.MERCHANT,
            by=by,
            note=agreed,
        )
        return f"cost_recorded:{cost.pk}"
    wanted = CaseType.EXCHANGE if offer.kind == OfferKind.EXCHANGE else CaseType.RESEND
    if case.type == wanted and can_approve(case):
        cs.approve_case(case=case, by=by, note=agreed)
        return "case_approved"
    return "recorded"  # the staff carry it out as the case's type allows


# --- The platform's intervention (R5.2) -------------------------------------------------------


def follow_dispute(case: Case, dispute_status: str, details: dict[str, Any], *, by: Actor) -> None:
    """Bring the case's intervention ticket in line with the platform's dispute state, in the
    caller's transaction (the case is locked by it)."""
    now = timezone.now()
    ticket = live_intervention(case)
    due = _parse_time(details.get("evidence_deadline"))
    if dispute_status in (DisputeStatus.PLATFORM_INTERVENING, DisputeStatus.NEGOTIATING):
        if ticket is None:
            ticket = _open_ticket(case, details, due, now, by)
        elif due and due != ticket.evidence_due_at:
            ticket.evidence_due_at = due
            ticket.save(update_fields=["evidence_due_at"])
            start_clock_until(case, ClockKind.PLATFORM_EVIDENCE, due, now=now)
        if details.get("evidence_required") and ticket.evidence_submitted_at is None:
            ticket.status = InterventionStatus.AWAITING_EVIDENCE
            ticket.save(update_fields=["status"])
        return
    if ticket is None:
        if dispute_status not in (DisputeStatus.RULED_FOR_BUYER, DisputeStatus.RULED_FOR_MERCHANT):
            return
        ticket = _open_ticket(case, details, due, now, by)  # a ruling we never saw opened
    if dispute_status == DisputeStatus.CANCELLED:
        ticket.status = InterventionStatus.CANCELLED
        ticket.save(update_fields=["status"])
        stop_clock(case, ClockKind.PLATFORM_EVIDENCE, now=now)
        return
    if dispute_status in (DisputeStatus.RULED_FOR_BUYER, DisputeStatus.RULED_FOR_MERCHANT):
        record_ruling(ticket, dispute_status, details, now=now)


def _open_ticket(
    case: Case, details: dict[str, Any], due: datetime | None, now: datetime, by: Actor
) -> Intervention:
    handler_id = settings_for(case.shop_id).handler_id
    ticket = Intervention.objects.create(
        shop_id=case.shop_id,
        case=case,
        platform_ref=str(details.get("arbitrate_id") or "")[:64],
        opened_at=now,
        evidence_due_at=due,
        handler_id=handler_id,
    )
    if due is not None:
        start_clock_until(case, ClockKind.PLATFORM_EVIDENCE, due, now=now)
    record_case_event(
        case,
        event=CaseEvent.INTERVENTION_ASSIGNED,
        by=by,
        payload={
            "intervention": ticket.pk,
            "platform_ref": ticket.platform_ref,
            "evidence_due_at": due.isoformat() if due else "",
            "handler": handler_id,
        },
    )
    if handler_id is not None and case.assignee_id != handler_id:
        cs.assign_case(case=case, assignee=get_user_model().objects.get(pk=handler_id), by=by)
    return ticket


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    return parse_datetime(str(value))


def record_ruling(
    ticket: Intervention, dispute_status: str, details: dict[str, Any], *, now: datetime
) -> Intervention:
    """Keep the platform's ruling on the ticket and queue carrying it out (after commit: the
    case services run in a transaction of their own, once)."""
    if ticket.ruled_at is not None:
        return ticket
    refund = int(details.get("refund_amount_fen") or 0)
    if dispute_status == DisputeStatus.RULED_FOR_MERCHANT:
        ruling = Ruling.FOR_SHOP
    elif details.get("partial"):
        ruling = Ruling.PARTIAL
    else:
        ruling = Ruling.FOR_BUYER
    ticket.status = InterventionStatus.RULED
    ticket.ruling = ruling
    ticket.responsible = BLAME_TO_RESPONSIBLE.get(int(details.get("blame") or 0), "")
    if ruling != Ruling.FOR_SHOP:
        ticket.ruling_refund_fen = refund
        ticket.ruling_shipping_fen = min(int(details.get("refund_post_amount_fen") or 0), refund)
    ticket.ruled_at = now
    ticket.save(
        update_fields=[
            "status",
            "ruling",
            "responsible",
            "ruling_refund_fen",
            "ruling_shipping_fen",
            "ruled_at",
        ]
    )
    stop_clock(ticket.case, ClockKind.PLATFORM_EVIDENCE, now=now)
    ticket_id = ticket.pk
    transaction.on_commit(lambda: _enqueue_ruling(ticket_id))
    return ticket


def _enqueue_ruling(ticket_id: int) -> None:
    from .tasks import execute_ruling_task

    execute_ruling_task.enqueue(ticket_id)


def execute_ruling(ticket_id: int) -> Intervention:
    """Carry out the platform's ruling once (R5.3), however often this runs: the ticket is
    claimed with a conditional update. For the buyer: the refund through the case services
    (capped by what was paid, one decision per case); for the shop: the rejection stands and
    the case closes. Either way the ruling is on the case's record."""
    with transaction.atomic():
        ticket = Intervention.objects.select_for_update().select_related("case").get(pk=ticket_id)
        if ticket.ruled_at is None or ticket.ruling_executed_at is not None:
            return ticket
        outcome = _carry_out_ruling(ticket)
        ticket.ruling_executed_at, ticket.ruling_outcome = timezone.now(), outcome[:255]
        ticket.save(update_fields=["ruling_executed_at", "ruling_outcome"])
        case = cs.lock_case(ticket.case)
        appeal_due = None
        if ticket.ruling in (Ruling.FOR_BUYER, Ruling.PARTIAL):
            appeal_due = ticket.ruled_at + APPEAL_WINDOW
        record_case_event(
            case,
            event=CaseEvent.RULING_EXECUTED,
            by=_platform_actor(case),
            payload={
                "intervention": ticket.pk,
                "ruling": ticket.ruling,
                "responsible": ticket.responsible,
                "refund_fen": ticket.ruling_refund_fen,
                "outcome": outcome,
                "appeal_due_at": appeal_due.isoformat() if appeal_due else "",
            },
        )
        if appeal_due is not None:
            start_clock_until(case, ClockKind.APPEAL, appeal_due)
    return ticket


def _platform_actor(case: Case) -> Actor:
    return Actor.platform(adapter_for_case(case).name)


def _carry_out_ruling(ticket: Intervention) -> str:
    case = cs.lock_case(ticket.case)
    by = _platform_actor(case)
    words = f"平台判定（工单 {ticket.platform_ref or ticket.pk}）"
    if ticket.ruling == Ruling.FOR_SHOP:
        if case.status == CaseStatus.REJECTED and case.refund_status != RefundStatus.PENDING:
            cs.close_case(case=case, note=f"{words}支持商家，售后关闭", by=by)
            return "case_closed"
        return "ruling_recorded"
    if RefundDecision.objects.filter(case=case).exists():
        return "refund_already_decided"
    goes_back = case.type in RETURNING_TYPES and case.return_status in (
        ReturnStatus.NOT_REQUIRED,
        ReturnStatus.AWAITING_SHIPMENT,
    )
    if goes_back and ticket.ruling == Ruling.FOR_BUYER and can_reopen(case):
        # The platform agreed to the return: the buyer sends the goods back first.
        cs.reopen_case(case=case, by=by, note=words)
        cs.approve_case(case=case, by=by, note=words)
        return "return_agreed"
    if case.status != CaseStatus.AWAITING_REFUND:
        if not can_settle_with_refund(case):
            return "left_to_staff"
        cs.settle_with_refund(case=case, by=by, note=words, source="ruling")
    defaults = cs.refund_defaults(case)
    decision: RefundDecision | None = None
    if ticket.ruling_refund_fen:
        # The platform's amounts where our rules allow them, else the default amount.
        shipping = min(ticket.ruling_shipping_fen, defaults.shipping_refundable_fen)
        goods = max(ticket.ruling_refund_fen - ticket.ruling_shipping_fen, 0)
        try:
            with transaction.atomic():
                decision = cs.refund_case(
                    case=case,
                    by=by,
                    goods_amount_fen=min(goods, defaults.goods_cap_fen),
                    shipping_amount_fen=shipping,
                    reason=f"{words}退款",
                )
        except (InvalidInput, Conflict, IllegalTransition) as exc:
            logger.info("ruling %s: platform amounts refused (%s); default amount", ticket.pk, exc)
    if decision is None:
        decision = cs.refund_case(case=case, by=by, reason=f"{words}退款")
    return f"refund_decided:{decision.pk}"


# --- The evidence package (R5.2) --------------------------------------------------------------


@transaction.atomic
def build_package(*, case: Case, by: Actor) -> EvidencePackage:
    """Assemble everything about the case into a PDF and a zip of the original files with
    their SHA-256 (`package.py`), kept with the case and on its record."""
    from .package import render_package

    case = cs.lock_case(case)
    number = (EvidencePackage.objects.filter(case=case).aggregate(n=Max("number"))["n"] or 0) + 1
    ticket = live_intervention(case) or latest_intervention(case)
    rendered = render_package(case, ticket=ticket, built_by=by.label, number=number)
    package = EvidencePackage(
        shop_id=case.shop_id,
        case=case,
        intervention=ticket,
        number=number,
        built_by=by.label,
        built_at=timezone.now(),
        pdf_sha256=rendered.pdf_sha256,
        archive_sha256=rendered.archive_sha256,
        manifest=rendered.manifest,
    )
    stem = f"{case.shop_id}/case{case.pk}-package{number}"
    package.pdf.save(f"{stem}.pdf", rendered.pdf_file(), save=False)
    package.archive.save(f"{stem}.zip", rendered.archive_file(), save=False)
    package.save()
    record_case_event(
        case,
        event=CaseEvent.EVIDENCE_PACKAGE_BUILT,
        by=by,
        payload={
            "package": package.pk,
            "number": number,
            "pdf_sha256": package.pdf_sha256,
            "archive_sha256": package.archive_sha256,
            "files": len(package.manifest),
        },
    )
    return package


@transaction.atomic
def submit_package(
    *, package: EvidencePackage, evidence_ids: list[int], comment: str, by: Actor
) -> EvidencePackage:
    """Send the photos the agent picked from the package, with a comment, to the platform's
    intervention (the case's adapter: on Douyin `afterSale/submitEvidence` through the outbox,
    at most four images a call). Stops the evidence clock; the ticket says when it was."""
    check_length(comment=(comment, PLATFORM_REMARK_MAX_LENGTH))
    case = cs.lock_case(package.case)
    package = EvidencePackage.objects.select_for_update().get(pk=package.pk)
    ticket = live_intervention(case)
    if ticket is None:
        raise Conflict(_("There is no platform intervention open on this case."))
    in_package = {f["evidence_id"] for f in package.manifest if f.get("image")}
    chosen = [int(pk) for pk in dict.fromkeys(evidence_ids)]
    if not chosen:
        raise InvalidInput(_("Choose at least one photo to submit."), field="evidence_ids")
    if not set(chosen) <= in_package:
        raise InvalidInput(_("Only photos of this package can be submitted."), field="evidence_ids")
    if not comment.strip():
        raise InvalidInput(_("Say in a sentence what the evidence shows."), field="comment")
    now = timezone.now()
    adapter_for_case(case).submit_evidence(
        case=case, evidence_ids=chosen, comment=comment.strip(), by=by
    )
    package.submitted_at, package.submitted_by = now, by.label
    package.submitted_evidence, package.comment = chosen, comment.strip()
    package.save(update_fields=["submitted_at", "submitted_by", "submitted_evidence", "comment"])
    if ticket.evidence_submitted_at is None:
        ticket.evidence_submitted_at = now
    ticket.status = InterventionStatus.EVIDENCE_SUBMITTED
    ticket.save(update_fields=["evidence_submitted_at", "status"])
    record_case_event(
        case,
        event=CaseEvent.PLATFORM_EVIDENCE_SUBMITTED,
        by=by,
        payload={
            "package": package.pk,
            "intervention": ticket.pk,
            "evidence": chosen,
            "comment": package.comment,
            "on_time": ticket.evidence_due_at is None or now <= ticket.evidence_due_at,
        },
    )
    return package


# --- The appeal (R5.3) ------------------------------------------------------------------------


@transaction.atomic
def file_appeal(*, case: Case, statement: str, by: Actor) -> Appeal:
    """Appeal the ruling against the shop within 7 days of it (through the platform's
    back-office; the case keeps the record and the clock)."""
    check_length(statement=(statement, NOTE_MAX_LENGTH))
    case = cs.lock_case(case)
    ticket = Intervention.objects.filter(case=case, ruled_at__isnull=False).order_by("-pk").first()
    if ticket is None or ticket.ruling not in (Ruling.FOR_BUYER, Ruling.PARTIAL):
        raise Conflict(_("Only a ruling against the shop can be appealed."))
    if Appeal.objects.filter(intervention=ticket).exists():
        raise Conflict(_("This ruling has already been appealed."))
    assert ticket.ruled_at is not None
    now = timezone.now()
    due = ticket.ruled_at + APPEAL_WINDOW
    if now > due:
        raise Conflict(_("The 7 days to appeal this ruling are over."))
    if not statement.strip():
        raise InvalidInput(_("Say why the ruling is wrong."), field="statement")
    appeal = Appeal.objects.create(
        shop_id=case.shop_id,
        case=case,
        intervention=ticket,
        statement=statement.strip(),
        filed_by=by.label,
        filed_at=now,
        due_at=due,
    )
    record_case_event(
        case,
        event=CaseEvent.APPEAL_FILED,
        by=by,
        payload={"appeal": appeal.pk, "intervention": ticket.pk, "due_at": due.isoformat()},
    )
    return appeal


@transaction.atomic
def record_appeal_outcome(*, appeal: Appeal, outcome: str, note: str, by: Actor) -> Appeal:
    """The platform's answer to the appeal, as the staff read it in the back-office."""
    check_length(note=(note, REASON_MAX_LENGTH))
    if outcome not in (AppealOutcome.UPHELD, AppealOutcome.REJECTED):
        raise InvalidInput(_("Unknown outcome."), field="outcome")
    case = cs.lock_case(appeal.case)
    appeal = Appeal.objects.select_for_update().get(pk=appeal.pk)
    if appeal.outcome != AppealOutcome.PENDING:
        raise Conflict(_("This appeal already has its outcome."))
    appeal.outcome, appeal.outcome_note = outcome, note.strip()
    appeal.decided_at, appeal.decided_by = timezone.now(), by.label
    appeal.save(update_fields=["outcome", "outcome_note", "decided_at", "decided_by"])
    record_case_event(
        case,
        event=CaseEvent.APPEAL_DECIDED,
        by=by,
        payload={"appeal": appeal.pk, "outcome": outcome, "note": appeal.outcome_note},
    )
    return appeal


def latest_appeal(case: Case) -> Appeal | None:
    return Appeal.objects.filter(case=case).order_by("-pk").first()


# --- Staying out of penalties -----------------------------------------------------------------


@dataclass(frozen=True)
class WeekTickets:
    """This week's intervention tickets (Monday to Sunday, Shanghai) against the platform's
    lines for late answers (消极服务)."""

    start: datetime
    end: datetime
    total: int
    on_time: int
    late: int
    waiting: int  # due later this week, not answered yet

    @property
    def late_share(self) -> float:
        decided = self.on_time + self.late
        return self.late / decided if decided else 0.0

    @property
    def level(self) -> str:
        """ok | warning (30–60 % late) | fine (60 % or more)."""
        if self.late_share >= LATE_FINE_SHARE:
            return "fine"
        if self.late_share >= LATE_WARNING_SHARE:
            return "warning"
        return "ok"


def week_tickets(shop_id: int, now: datetime | None = None) -> WeekTickets:
    now = now or timezone.now()
    local = now.astimezone(SHANGHAI)
    start = (local - timedelta(days=local.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    end = start + timedelta(days=7)
    tickets = Intervention.objects.filter(
        shop_id=shop_id, evidence_due_at__gte=start, evidence_due_at__lt=end
    )
    counts = tickets.aggregate(
        total=Count("pk"),
        on_time=Count(
            "pk",
            filter=Q(evidence_submitted_at__isnull=False)
            & Q(evidence_submitted_at__lte=F("evidence_due_at")),
        ),
        late_answered=Count(
            "pk",
            filter=Q(evidence_submitted_at__isnull=False)
            & Q(evidence_submitted_at__gt=F("evidence_due_at")),
        ),
        late_unanswered=Count(
            "pk", filter=Q(evidence_submitted_at__isnull=True, evidence_due_at__lt=now)
        ),
        waiting=Count("pk", filter=Q(evidence_submitted_at__isnull=True, evidence_due_at__gte=now)),
    )
    return WeekTickets(
        start=start,
        end=end,
        total=counts["total"],
        on_time=counts["on_time"],
        late=counts["late_answered"] + counts["late_unanswered"],
        waiting=counts["waiting"],
    )


@dataclass(frozen=True)
class RejectionRate:
    reason_code: str
    label: str
    needs_proof: bool
    rejected: int
    rate_per_mille: float
    baseline_per_mille: int
    warn: bool


def rejection_guard(
    shop_id: int, *, days: int = 30, now: datetime | None = None
) -> list[RejectionRate]:
    """The shop's rejection rate by reason over the last `days` (rejections ÷ cases opened),
    against the industry baseline; a warning at the configured multiple (无故拒绝售后)."""
    now = now or timezone.now()
    since = now - timedelta(days=days)
    conf = settings_for(shop_id)
    opened = Case.objects.filter(shop_id=shop_id, applied_at__gte=since).count()
    from aftersales.audit.models import AuditEvent

    rejected = (
        AuditEvent.objects.filter(
            shop_id=shop_id, type=CaseEvent.CASE_REJECTED, created_at__gte=since
        )
        .values_list("case_id", flat=True)
        .distinct()
    )
    by_reason = dict(
        Case.objects.filter(pk__in=list(rejected))
        .exclude(reject_reason="")
        .values_list("reject_reason")
        .annotate(n=Count("pk"))
    )
    rows = []
    for code, reason in REJECT_REASONS.items():
        count = int(by_reason.get(code, 0))
        rate = 1000.0 * count / opened if opened else 0.0
        baseline = int(conf.baseline_by_reason.get(code, conf.baseline_per_mille))
        rows.append(
            RejectionRate(
                reason_code=code,
                label=str(reason.label),
                needs_proof=reason.needs_evidence,
                rejected=count,
                rate_per_mille=round(rate, 1),
                baseline_per_mille=baseline,
                warn=count > 0 and rate >= baseline * conf.warn_multiple,
            )
        )
    return rows


def suggests_extension(
    case: Case, platform_deadline: datetime | None, now: datetime | None = None
) -> bool:
    """The return parcel is still on its way and the platform's deadline is two days off or
    less: ask the platform for more time (afterSale/timeExtend) before it acts by itself."""
    if platform_deadline is None or case.return_status != ReturnStatus.IN_TRANSIT:
        return False
    now = now or timezone.now()
    return now < platform_deadline <= now + EXTENSION_HINT_WINDOW
