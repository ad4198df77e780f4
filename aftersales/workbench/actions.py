"""Every action the case page offers, which cases it applies to, and the service it calls.

An action that moves the case names its target status; it is offered only where that move
is an edge of `ALLOWED_TRANSITIONS` and the case's type and other axes fit (the same checks
the service makes). The services decide in the end: anything they refuse is shown as a
message and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.analytics.services import record_packaging
from aftersales.cases import services
from aftersales.cases.choices import (
    REFUND_TYPES,
    RETURNING_TYPES,
    TERMINAL_STATUSES,
    CaseType,
    EvidenceSource,
    RefundStatus,
    ReturnStatus,
)
from aftersales.cases.choices import CaseStatus as S
from aftersales.cases.models import Case
from aftersales.cases.transitions import (
    ALLOWED_TRANSITIONS,
    can_approve,
    can_close,
    can_reject,
    can_reopen,
)
from aftersales.core.actors import Actor
from aftersales.core.errors import InvalidInput
from aftersales.orders.choices import ShipmentKind
from aftersales.orders.models import Shipment
from aftersales.platforms.adapter import adapter_for_case
from aftersales.sla.models import ClockState
from aftersales.sla.services import extend_deadline

from . import forms
from . import services as workbench_services


@dataclass(frozen=True)
class Facts:
    """What some actions need to know beyond the case row, read once per page."""

    quality_check_passed: bool = False
    extendable_clocks: bool = False  # a merchant deadline still running and not yet passed
    user_id: int | None = None  # who is looking
    platform_linked: bool = False  # an after-sale of a shop connected to its platform


@dataclass(frozen=True)
class Action:
    name: str
    label: Any
    form_class: type[forms.ActionForm]
    perform: Callable[[Case, Actor, dict[str, Any], list[Any]], Any]
    applies: Callable[[Case, Facts], bool]
    target: Callable[[Case], str] | None = None
    confirm: Any = None  # a question asked before the form is sent
    danger: bool = False  # shown in red: it ends or refuses something for the buyer
    group: str = "lifecycle"  # lifecycle | record | conversation | platform
    done: Any = field(default=_("Done."))

    def is_available(self, case: Case, facts: Facts) -> bool:
        if not self.applies(case, facts):
            return False
        return self.target is None or self.target(case) in ALLOWED_TRANSITIONS[case.status]


def _uploads(files: list[Any]) -> list[services.Upload]:
    return [services.Upload(stream=f, name=f.name or "") for f in files]


def _open(case: Case) -> bool:
    return case.status not in TERMINAL_STATUSES


def _approve_target(case: Case) -> str:
    if case.type in RETURNING_TYPES:
        return S.AWAITING_RETURN
    return S.AWAITING_SHIPMENT if case.type == CaseType.RESEND else S.AWAITING_REFUND


def _final_target(case: Case) -> str:
    return S.AWAITING_REFUND if case.type in REFUND_TYPES else S.AWAITING_SHIPMENT


def _refund(case: Case, by: Actor, data: dict[str, Any], files: list[Any]) -> Any:
    # A part left empty, or not on the form (nothing to refund there), is 0: the agent's
    # amounts are the refund, never the defaults behind them.
    return services.refund_case(
        case=case,
        goods_amount_fen=data["goods_amount"],
        shipping_amount_fen=data.get("shipping_amount") or 0,
        return_postage_fen=data.get("return_postage") or 0,
        reason=data.get("reason", ""),
        by=by,
    )


def _technical_support(case: Case, by: Actor, data: dict[str, Any], files: list[Any]) -> Any:
    # The policy decides again by itself (R7.3: the troubleshooting may change the advice).
    services.record_technical_support(
        case=case, notes=data["notes"], resolved=data["resolved"], by=by
    )


def _buyer_evidence(case: Case, by: Actor, data: dict[str, Any], files: list[Any]) -> Any:
    services.record_buyer_evidence(case=case, uploads=_uploads(files), note=data["note"], by=by)


def _merchant_evidence(case: Case, by: Actor, data: dict[str, Any], files: list[Any]) -> Any:
    for upload in _uploads(files):
        services.attach_evidence(
            case=case, upload=upload, source=EvidenceSource.MERCHANT, note=data["note"], by=by
        )


def _extend(case: Case, by: Actor, data: dict[str, Any], files: list[Any]) -> Any:
    clock = case.clocks.exclude(state="stopped").filter(kind=data["clock"]).first()
    if clock is None:
        raise InvalidInput(_("This clock is not running for the case."))
    return extend_deadline(
        clock=clock,
        hours=data["hours"],
        reason=data["reason"],
        message_to_buyer=data["message_to_buyer"],
        by=by,
    )


def _assign(case: Case, by: Actor, data: dict[str, Any], files: list[Any]) -> Any:
    from django.contrib.auth import get_user_model

    assignee = None
    if data.get("assignee") is not None:
        assignee = get_user_model().objects.get(pk=data["assignee"])
    return services.assign_case(case=case, assignee=assignee, by=by)


def _take(case: Case, by: Actor, data: dict[str, Any], files: list[Any]) -> Any:
    return services.assign_case(case=case, assignee=by.user, by=by)


ACTIONS: list[Action] = [
    # --- Stage 1 -------------------------------------------------------------------------
    Action(
        "approve",
        _("Approve"),
        forms.NoteForm,
        lambda c, by, d, f: services.approve_case(case=c, note=d["note"], by=by),
        lambda c, x: can_approve(c),
        target=_approve_target,
        done=_("Approved."),
    ),
    Action(
        "request-evidence",
        _("Request evidence"),
        forms.RequestEvidenceForm,
        lambda c, by, d, f: services.request_evidence(case=c, note=d["note"], by=by),
        lambda c, x: c.status == S.PENDING_REVIEW,
        target=lambda c: S.AWAITING_EVIDENCE,
        done=_("Evidence requested from the buyer."),
    ),
    Action(
        "buyer-evidence",
        _("Record the buyer's evidence"),
        forms.EvidenceForm,
        _buyer_evidence,
        lambda c, x: c.status == S.AWAITING_EVIDENCE,
        target=lambda c: S.PENDING_REVIEW,
        done=_("The buyer's evidence is recorded."),
    ),
    Action(
        "reject",
        _("Reject"),
        forms.RejectForm,
        lambda c, by, d, f: workbench_services.reject_with_evidence(
            case=c,
            reason_code=d["reason_code"],
            note=d["note"],
            evidence_ids=d.get("evidence") or [],
            uploads=_uploads(f),
            by=by,
        ),
        lambda c, x: can_reject(c),
        target=lambda c: S.REJECTED,
        confirm=_("Reject this request? The buyer is told the reason."),
        danger=True,
        done=_("Rejected."),
    ),
    # --- Returns and stage 2 -------------------------------------------------------------
    Action(
        "return-shipment",
        _("Record the buyer's return shipment"),
        forms.ShipmentForm,
        lambda c, by, d, f: services.record_return_shipment(
            case=c, carrier=d["carrier"], tracking_number=d["tracking_number"], by=by
        ),
        lambda c, x: (
            c.status == S.AWAITING_RETURN and c.return_status == ReturnStatus.AWAITING_SHIPMENT
        ),
        done=_("Return shipment recorded."),
    ),
    Action(
        "receive-return",
        _("Returned goods received"),
        forms.EmptyForm,
        lambda c, by, d, f: services.receive_return(case=c, by=by),
        lambda c, x: c.status == S.AWAITING_RETURN,
        target=lambda c: S.AWAITING_INSPECTION,
        done=_("Receipt recorded; the inspection clock runs."),
    ),
    Action(
        "inspect",
        _("Inspect the returned goods"),
        forms.InspectForm,
        lambda c, by, d, f: workbench_services.inspect_with_photos(
            case=c,
            result=d["result"],
            condition=d["condition"],
            notes=d["notes"],
            package_intact=d["package_intact"],
            uploads=_uploads(f),
            by=by,
        ),
        lambda c, x: c.status == S.AWAITING_INSPECTION,
        target=lambda c: S.PENDING_FINAL_REVIEW,
        done=_("Inspection recorded."),
    ),
    Action(
        "approve-final",
        _("Approve after inspection"),
        forms.NoteForm,
        lambda c, by, d, f: services.approve_after_inspection(case=c, note=d["note"], by=by),
        lambda c, x: c.status == S.PENDING_FINAL_REVIEW,
        target=_final_target,
        done=_("Approved after inspection."),
    ),
    # --- Money ---------------------------------------------------------------------------
    Action(
        "refund",
        _("Refund"),
        forms.RefundForm,
        _refund,
        lambda c, x: c.status == S.AWAITING_REFUND and c.refund_status == RefundStatus.NONE,
        target=lambda c: S.COMPLETED,
        confirm=_("Refund this amount to the buyer? This cannot be undone."),
        danger=True,
        done=_("Refund decided; it is being paid."),
    ),
    Action(
        "retry-refund",
        _("Retry the refund"),
        forms.EmptyForm,
        lambda c, by, d, f: services.retry_refund(case=c, by=by),
        lambda c, x: c.refund_status == RefundStatus.FAILED,
        confirm=_("Send the refund again? The same payment reference is used."),
        done=_("The refund is queued again."),
    ),
    # --- Exchange, resend, repair --------------------------------------------------------
    Action(
        "quality-check",
        _("Quality check of the replacement"),
        forms.QualityCheckForm,
        lambda c, by, d, f: services.record_quality_check(
            case=c,
            quality_ok=d["quality_ok"],
            packaging_intact=d["packaging_intact"],
            notes=d["notes"],
            by=by,
        ),
        lambda c, x: c.type == CaseType.EXCHANGE and c.status == S.AWAITING_SHIPMENT,
        done=_("Quality check recorded."),
    ),
    Action(
        "ship-replacement",
        _("Ship the replacement"),
        forms.ShipmentForm,
        lambda c, by, d, f: services.ship_replacement(
            case=c, carrier=d["carrier"], tracking_number=d["tracking_number"], by=by
        ),
        lambda c, x: c.type == CaseType.EXCHANGE and x.quality_check_passed,
        target=lambda c: S.AWAITING_BUYER_RECEIPT,
        done=_("Replacement shipped."),
    ),
    Action(
        "resend",
        _("Send the missing items"),
        forms.ShipmentForm,
        lambda c, by, d, f: services.resend_items(
            case=c, carrier=d["carrier"], tracking_number=d["tracking_number"], by=by
        ),
        lambda c, x: c.type == CaseType.RESEND and c.status == S.AWAITING_SHIPMENT,
        target=lambda c: S.AWAITING_BUYER_RECEIPT,
        done=_("Missing items sent."),
    ),
    Action(
        "return-repaired",
        _("Send the repaired goods back"),
        forms.RepairShipmentForm,
        lambda c, by, d, f: services.return_repaired(
            case=c,
            carrier=d["carrier"],
            tracking_number=d["tracking_number"],
            repair_notes=d["repair_notes"],
            by=by,
        ),
        lambda c, x: c.type == CaseType.REPAIR and c.status == S.AWAITING_SHIPMENT,
        target=lambda c: S.AWAITING_BUYER_RECEIPT,
        done=_("Repaired goods sent."),
    ),
    Action(
        "convert-to-refund",
        _("Convert to a refund"),
        forms.ConvertForm,
        lambda c, by, d, f: services.convert_to_refund(case=c, note=d["note"], by=by),
        lambda c, x: c.type == CaseType.EXCHANGE and c.status == S.AWAITING_SHIPMENT,
        target=lambda c: S.AWAITING_REFUND,
        done=_("The exchange is now a refund."),
    ),
    Action(
        "confirm-receipt",
        _("Buyer received the goods"),
        forms.EmptyForm,
        lambda c, by, d, f: services.confirm_buyer_receipt(case=c, by=by),
        lambda c, x: c.status == S.AWAITING_BUYER_RECEIPT,
        target=lambda c: S.COMPLETED,
        done=_("Completed."),
    ),
    Action(
        "technical-support",
        _("Record technical support"),
        forms.TechnicalSupportForm,
        _technical_support,
        lambda c, x: _open(c),
        done=_("Technical support recorded."),
    ),
    # --- Ending --------------------------------------------------------------------------
    Action(
        "reopen",
        _("Reopen"),
        forms.NoteForm,
        lambda c, by, d, f: services.reopen_case(case=c, note=d["note"], by=by),
        lambda c, x: can_reopen(c),
        target=lambda c: S.PENDING_REVIEW,
        done=_("Reopened."),
    ),
    Action(
        "close",
        _("Close"),
        forms.CloseForm,
        lambda c, by, d, f: services.close_case(case=c, note=d["note"], by=by),
        lambda c, x: can_close(c),
        target=lambda c: S.CLOSED,
        confirm=_("Close this case? It will go no further."),
        danger=True,
        done=_("Closed."),
    ),
    # --- Recorded beside the lifecycle ---------------------------------------------------
    Action(
        "extend",
        _("Extend a deadline"),
        forms.ExtendForm,
        _extend,
        lambda c, x: _open(c) and x.extendable_clocks,
        group="record",
        done=_("Deadline extended; the buyer is told."),
    ),
    Action(
        "take",
        _("Take this case"),
        forms.EmptyForm,
        _take,
        lambda c, x: _open(c) and x.user_id is not None and c.assignee_id != x.user_id,
        group="record",
        done=_("The case is yours."),
    ),
    Action(
        "assign",
        _("Assign"),
        forms.AssignForm,
        _assign,
        lambda c, x: _open(c),
        group="record",
        done=_("Assigned."),
    ),
    Action(
        "cost",
        _("Record a cost"),
        forms.CostForm,
        lambda c, by, d, f: services.add_cost(
            case=c, kind=d["kind"], amount_fen=d["amount"], payer=d["payer"], note=d["note"], by=by
        ),
        lambda c, x: True,
        group="record",
        done=_("Cost recorded."),
    ),
    Action(
        "packaging",
        _("Record how the parcel was packed"),
        forms.PackagingForm,
        lambda c, by, d, f: record_packaging(
            case=c, shipment_id=d["shipment"], packaging=d["packaging"], by=by
        ),
        lambda c, x: Shipment.objects.filter(
            order_id=c.order_id, shop_id=c.shop_id, kind=ShipmentKind.OUTBOUND
        ).exists(),
        group="record",
        done=_("Packaging recorded."),
    ),
    Action(
        "evidence",
        _("Attach the merchant's evidence"),
        forms.EvidenceForm,
        _merchant_evidence,
        lambda c, x: True,
        group="record",
        done=_("Evidence attached."),
    ),
    # --- Told to the platform (cases from a shop connected to its platform) ---------------
    Action(
        "platform-extension",
        _("Request a time extension from the platform"),
        forms.EmptyForm,
        lambda c, by, d, f: adapter_for_case(c).request_time_extension(case=c, by=by),
        lambda c, x: _open(c) and x.platform_linked,
        confirm=_(
            "Ask the platform for 48 more hours on the current step? "
            "The platform grants this once per step."
        ),
        group="platform",
        done=_("The time extension request is on its way to the platform."),
    ),
    Action(
        "platform-remark",
        _("Add a remark on the platform order"),
        forms.PlatformRemarkForm,
        lambda c, by, d, f: adapter_for_case(c).add_order_remark(case=c, remark=d["remark"], by=by),
        lambda c, x: x.platform_linked,
        group="platform",
        done=_("The remark is on its way to the platform order."),
    ),
    Action(
        "note",
        _("Add a note"),
        forms.InternalNoteForm,
        lambda c, by, d, f: workbench_services.add_note(case=c, text=d["text"], by=by),
        lambda c, x: True,
        group="conversation",
        done=_("Note added."),
    ),
    Action(
        "message",
        _("Send to the buyer"),
        forms.BuyerMessageForm,
        lambda c, by, d, f: services.message_buyer(
            case=c, text=d["text"], template=d.get("template") or "", by=by
        ),
        lambda c, x: True,
        group="conversation",
        done=_("Message recorded for the buyer."),
    ),
]

ACTIONS_BY_NAME = {a.name: a for a in ACTIONS}


def facts_for(case: Case, actor: Actor, *, platform_linked: bool | None = None) -> Facts:
    """`platform_linked` is the case's adapter's `linked` when the caller already knows it."""
    latest = case.quality_checks.order_by("-checked_at", "-pk").first()
    extendable = case.clocks.filter(
        state__in=[ClockState.RUNNING, ClockState.PAUSED],
        is_buyer_clock=False,
        breached_at__isnull=True,
        due_at__gt=timezone.now(),
    ).exists()
    return Facts(
        quality_check_passed=latest is not None and latest.passed,
        extendable_clocks=extendable,
        user_id=actor.user_id,
        platform_linked=(
            adapter_for_case(case).linked if platform_linked is None else platform_linked
        ),
    )


def available_actions(case: Case, actor: Actor, *, facts: Facts | None = None) -> list[Action]:
    facts = facts if facts is not None else facts_for(case, actor)
    return [a for a in ACTIONS if a.is_available(case, facts)]
