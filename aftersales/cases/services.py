"""The after-sales case lifecycle as services (R1, R3, R4).

Every service is keyword-only, takes the acting `by`, runs in one transaction, locks the
case row before reading its state, writes an audit event through `change_case` or
`record_event`, and defers side effects until after commit. Views, the API, commands and
tasks call these; nothing else saves a case.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.audit.chain import NewEvent, record_event, record_events
from aftersales.core.actors import Actor
from aftersales.core.bulk import insert_all
from aftersales.core.errors import Conflict, IllegalTransition, InvalidInput, RefundCapExceeded
from aftersales.core.limits import (
    CARRIER_MAX_LENGTH,
    CODE_MAX_LENGTH,
    MESSAGE_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    REASON_MAX_LENGTH,
    SHORT_NOTE_MAX_LENGTH,
    TRACKING_NUMBER_MAX_LENGTH,
    check_length,
)
from aftersales.core.money import fen_to_yuan, share_of
from aftersales.orders.choices import OrderStatus, ShipmentKind, ShipmentStatus
from aftersales.orders.models import Buyer, Order, OrderItem, Shipment, ShipmentEvent
from aftersales.orders.services import create_shipment, update_shipment_status
from aftersales.orders.totals import count_new_orders
from aftersales.shops.choices import WRITE_ROLES

from .choices import (
    REFUND_TYPES,
    RETURNING_TYPES,
    TERMINAL_STATUSES,
    CaseStatus,
    CaseType,
    CostKind,
    CostPayer,
    EvidenceSource,
    ExecutionStatus,
    InspectionResult,
    ItemCondition,
    Priority,
    RefundStatus,
    ReturnStatus,
)
from .events import CaseEvent
from .evidence import check_upload
from .models import (
    OPENED_ITEMS,
    Case,
    CaseCost,
    CaseItem,
    Evidence,
    Inspection,
    QualityCheck,
    RefundDecision,
    RefundExecution,
    RefundLine,
)
from .money import ItemCap, allocate, default_goods_fen, item_cap, shipping_refundable_fen
from .ports import (
    ImportedCases,
    PlatformRefund,
    RefundAdvice,
    RefundGatewayError,
    get_refund_gateway,
    platform_objection,
    platform_refund,
    react_to_imported,
    refund_advice,
)
from .reasons import REASONS, REJECT_REASONS, review_stage_of
from .transitions import (
    can_approve,
    can_close,
    can_reject,
    can_reopen,
    can_settle_with_refund,
    can_withdraw,
    change_case,
    record_case_event,
)

logger = logging.getLogger(__name__)

# Which order states each case type may be opened in (R1.1, R3.1).
TYPE_ORDER_STATES: dict[str, frozenset[str]] = {
    CaseType.REFUND_UNSHIPPED: frozenset({OrderStatus.UNSHIPPED}),
    CaseType.REFUND_SHIPPED: frozenset({OrderStatus.SHIPPED, OrderStatus.DELIVERED}),
    CaseType.RETURN_REFUND: frozenset(
        {OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED}
    ),
    CaseType.EXCHANGE: frozenset({OrderStatus.DELIVERED, OrderStatus.COMPLETED}),
    CaseType.RESEND: frozenset({OrderStatus.DELIVERED, OrderStatus.COMPLETED}),
    CaseType.REPAIR: frozenset({OrderStatus.DELIVERED, OrderStatus.COMPLETED}),
}


@dataclass(frozen=True)
class RequestedItem:
    order_item: OrderItem
    quantity: int


@dataclass(frozen=True)
class Upload:
    """A file as it arrived: a readable binary stream and the name the sender gave it."""

    stream: IO[bytes]
    name: str = ""


# `CaseType.values` builds a new list on every access.
CASE_TYPES = frozenset(CaseType.values)


def lock_case(case: Case) -> Case:
    """Re-read the case under a row lock. Every service starts here."""
    return _lock_case_by_id(case.pk)


def _lock_case_by_id(case_id: int) -> Case:
    """The shop, the order and its buyer come with the case (not locked: `of`), because the
    reactions to the case's events ask for them (the platform; the VIP buyer's shorter
    deadlines, the order's facts); one join here saves a query each per event."""
    return (
        Case.objects.select_related("shop", "order__buyer")
        .select_for_update(of=("self",))
        .get(pk=case_id)
    )


# --- Opening ---------------------------------------------------------------------------------


@transaction.atomic
def open_case(
    *,
    order: Order,
    type: str,
    reason: str,
    items: Sequence[RequestedItem],
    by: Actor,
    buyer_statement: str = "",
    requested_amount_fen: int | None = None,
    platform_case_id: str | None = None,
    applied_at: Any = None,
) -> Case:
    """Open a case for some items of an order, snapshotting the order as it is now."""
    check_length(
        buyer_statement=(buyer_statement, NOTE_MAX_LENGTH),
        platform_case_id=(platform_case_id, CODE_MAX_LENGTH),
    )
    if type not in CASE_TYPES:
        raise InvalidInput(_("Unknown case type."))
    if reason not in REASONS:
        raise InvalidInput(_("Unknown reason code."))
    if not items:
        raise InvalidInput(_("A case needs at least one item."))
    if order.status == OrderStatus.CANCELLED:
        raise InvalidInput(_("The order is cancelled."))
    if order.status not in TYPE_ORDER_STATES[type]:
        raise InvalidInput(
            _("This type of request is not possible for an order in status “%(status)s”."),
            status=order.status,
        )
    seen: set[int] = set()
    for requested in items:
        item = requested.order_item
        if item.order_id != order.pk:
            raise InvalidInput(_("An item does not belong to this order."))
        if item.pk in seen:
            raise InvalidInput(_("An item is listed twice."))
        seen.add(item.pk)
        if not 0 < requested.quantity <= item.quantity:
            raise InvalidInput(_("The quantity must be between 1 and the quantity ordered."))

    refunded_quantities = _refunded_quantities([r.order_item for r in items])
    refundable = sum(
        item_cap(r.order_item, r.quantity, refunded_quantities.get(r.order_item.pk, 0)).cap_fen
        for r in items
    )
    if requested_amount_fen is None:
        requested_amount_fen = refundable if type in REFUND_TYPES else 0
    if requested_amount_fen < 0 or requested_amount_fen > refundable + order.shipping_fee_paid_fen:
        raise InvalidInput(
            _("The requested amount must be between 0 and %(max)s yuan."),
            max=fen_to_yuan(refundable + order.shipping_fee_paid_fen),
        )

    # The order's items as they are now, with their SKUs and products: one read serves the
    # snapshot, and the case items written with them serve the opening's reactions (the
    # policy's facts, the analytics' products, the incidents' dimensions: `opened_items`).
    # The same read locks the buyer's row and reads their VIP level as it is: a level moving
    # at this moment (`set_buyer_vip_level`, which locks the row too) either committed
    # before, and this case carries it, or waits for this case and moves its flag with the
    # buyer's other cases. Read from the caller's order, the level could be the one before.
    current = list(
        order.items.select_related("sku__product", "order__buyer")
        .select_for_update(of=("order__buyer",), no_key=True)
        .order_by("pk")
    )
    buyer = current[0].order.buyer if current else order.buyer
    by_pk = {item.pk: item for item in current}
    chosen = [by_pk.get(r.order_item.pk, r.order_item) for r in items]
    case = Case.objects.create(
        # The shop comes with the case object: the platform and the incidents ask for it
        # (one read here, none if the caller's order brought it).
        shop=order.shop,
        order=order,
        platform_case_id=platform_case_id,
        type=type,
        reason=reason,
        buyer_statement=buyer_statement,
        requested_amount_fen=requested_amount_fen,
        order_snapshot=_snapshot(order, current),
        priority=Priority.HIGH if buyer.is_vip else Priority.NORMAL,
        applied_at=applied_at or timezone.now(),
        buyer_vip=buyer.is_vip,
        product_category=shared_category(chosen),
    )
    case_items = [
        CaseItem(case=case, order_item=item, quantity=r.quantity)
        for item, r in zip(chosen, items, strict=True)
    ]
    CaseItem.objects.bulk_create(case_items)
    setattr(case, OPENED_ITEMS, case_items)  # in the order of their ids, as read back
    record_case_event(
        case,
        event=CaseEvent.CASE_OPENED,
        by=by,
        previous_status="",
        after=case.axes(),
        payload={
            "type": type,
            "reason": reason,
            "requested_amount_fen": requested_amount_fen,
            "items": {str(r.order_item.pk): r.quantity for r in items},
        },
        at=case.applied_at,
    )
    return case


# --- What the case row carries for the queue (issue 16) ---------------------------------------


def shared_category(order_items: Sequence[OrderItem]) -> str:
    """The catalog category the items' products share, or "" when they span several: what
    the case row carries for the queue's category filter (`Case.product_category`)."""
    categories = {item.sku.product.category for item in order_items}
    return categories.pop() if len(categories) == 1 else ""


@transaction.atomic
def carry_product_category(product_id: int) -> int:
    """After a product's category was corrected (the catalog's admin), the category every
    case with an item of it carries (`Case.product_category`), in the same transaction: the
    queue's category filter reads only the case row. A case whose items now span several
    categories carries "" (the queue then looks at its items). Reference data, not a
    decision about a case: no audit event (the admin's change log records the product's
    edit). Returns how many cases changed."""
    affected = CaseItem.objects.filter(order_item__sku__product_id=product_id).values("case_id")
    categories: dict[int, set[str]] = {}
    for case_id, category in CaseItem.objects.filter(case_id__in=affected).values_list(
        "case_id", "order_item__sku__product__category"
    ):
        categories.setdefault(case_id, set()).add(category)
    by_value: dict[str, list[int]] = {}
    for case_id, found in categories.items():
        by_value.setdefault(found.pop() if len(found) == 1 else "", []).append(case_id)
    changed = 0
    for value, ids in by_value.items():
        changed += (
            Case.objects.filter(pk__in=ids)
            .exclude(product_category=value)
            .update(product_category=value)
        )
    return changed


@transaction.atomic
def set_buyer_vip_level(buyer: Buyer | int, vip_level: int) -> bool:
    """The buyer's VIP level as their platform now says it, and the VIP flag every case of
    theirs carries for the queue's filter (`Case.buyer_vip`), in one transaction: an agent
    filtering VIP cases expects the level shown on the order today, whenever the case was
    opened. Two UPDATEs, the second only if the flag changes (a buyer has few cases; their
    orders are found by the buyer's index, the cases by the order's). Returns whether the
    level changed. The platform's data, not a decision of the shop: no audit event (the
    order's read from the platform is its record)."""
    buyer_id = buyer.pk if isinstance(buyer, Buyer) else buyer
    vip_level = max(0, int(vip_level))
    before = (
        Buyer.objects.select_for_update().filter(pk=buyer_id).values_list("vip_level", flat=True)
    )
    was = before.first()
    if was is None or was == vip_level:
        return False
    Buyer.objects.filter(pk=buyer_id).update(vip_level=vip_level)
    if isinstance(buyer, Buyer):
        buyer.vip_level = vip_level
    if (was > 0) != (vip_level > 0):
        Case.objects.filter(order__buyer_id=buyer_id).update(buyer_vip=vip_level > 0)
    return True


def set_platform_deadline(case_id: int, deadline: datetime | None) -> None:
    """Carry the platform's deadline of the case's current step (R5.2) on the case row, for
    the queue's sort and "due within 24 h" filter: one UPDATE in the caller's transaction,
    by the platform's adapter where it stores the platform's state of the case. None when
    the platform sets none. No audit event: the adapter's stored snapshot is its record."""
    qs = Case.objects.filter(pk=case_id)
    if deadline is None:
        qs.filter(platform_deadline__isnull=False).update(platform_deadline=None)
    else:
        qs.exclude(platform_deadline=deadline).update(platform_deadline=deadline)


def _snapshot(order: Order, items: Sequence[OrderItem]) -> dict[str, Any]:
    """The order as the buyer saw it at application: later changes do not rewrite history."""

    def ts(value: Any) -> str | None:
        return value.isoformat() if value else None

    return {
        "status": order.status,
        "paid_at": ts(order.paid_at),
        "shipped_at": ts(order.shipped_at),
        "delivered_at": ts(order.delivered_at),
        "shipping_fee_paid_fen": order.shipping_fee_paid_fen,
        "shipping_refunded_fen": order.shipping_refunded_fen,
        "has_shipping_insurance": order.has_shipping_insurance,
        "items": [
            {
                "id": item.pk,
                "sku": item.sku_id,
                "quantity": item.quantity,
                "list_price_fen": item.list_price_fen,
                "paid_amount_fen": item.paid_amount_fen,
                "refunded_amount_fen": item.refunded_amount_fen,
            }
            for item in items
        ],
    }


# --- Stage 1 review --------------------------------------------------------------------------


@transaction.atomic
def approve_case(*, case: Case, by: Actor, note: str = "") -> Case:
    """Stage 1: agree to the request. Returns wait for the goods; refunds await execution."""
    check_length(note=(note, NOTE_MAX_LENGTH))
    case = lock_case(case)
    if not can_approve(case):
        raise IllegalTransition(from_status=case.status, event=CaseEvent.CASE_APPROVED)
    axes: dict[str, str] = {}
    if case.type in RETURNING_TYPES:
        target = CaseStatus.AWAITING_RETURN
        axes["return_status"] = ReturnStatus.AWAITING_SHIPMENT
    elif case.type == CaseType.RESEND:
        target = CaseStatus.AWAITING_SHIPMENT
    else:
        target = CaseStatus.AWAITING_REFUND
    return change_case(
        case,
        by=by,
        event_type=CaseEvent.CASE_APPROVED,
        status=target,
        payload={"note": note} if note else None,
        fields={"approved_at": timezone.now()},
        **axes,
    )


@transaction.atomic
def reject_case(
    *,
    case: Case,
    reason_code: str,
    note: str,
    by: Actor,
    evidence_ids: Sequence[int] = (),
) -> Case:
    """Stage 1 or 2: refuse with a platform reason code; some codes need evidence, which is
    uploaded to the case first (`attach_evidence`) and named here."""
    check_length(note=(note, NOTE_MAX_LENGTH), reason_code=(reason_code, CODE_MAX_LENGTH))
    case = lock_case(case)
    reject_reason = REJECT_REASONS.get(reason_code)
    if reject_reason is None:
        raise InvalidInput(_("Unknown reject reason code."))
    if not note.strip():
        raise InvalidInput(_("Explain the rejection to the buyer."))
    evidence = _evidence_of_case(case, evidence_ids)
    stage = review_stage_of(case.status)
    # A refusal the platform already made is recorded as it is: its rules were checked there.
    if by.kind != "platform":
        if stage not in reject_reason.stages:
            raise InvalidInput(_("This reject reason does not apply at this review."))
        if reject_reason.needs_evidence and not evidence:
            raise InvalidInput(_("This reject reason needs evidence attached."))
    if not can_reject(case):
        raise IllegalTransition(from_status=case.status, event=CaseEvent.CASE_REJECTED)
    if by.kind != "platform":
        # A rejection the platform has no operation for would show here only (issue 15).
        objection = platform_objection(case, CaseEvent.CASE_REJECTED)
        if objection:
            raise Conflict(objection)
    return change_case(
        case,
        by=by,
        event_type=CaseEvent.CASE_REJECTED,
        status=CaseStatus.REJECTED,
        payload={"stage": stage, "evidence": [e.pk for e in evidence]},
        fields={"reject_reason": reason_code, "reject_note": note},
    )


@transaction.atomic
def request_evidence(*, case: Case, note: str, by: Actor) -> Case:
    """Ask the buyer for photos or video (R4.1); the case waits for them."""
    check_length(note=(note, NOTE_MAX_LENGTH))
    case = lock_case(case)
    if not note.strip():
        raise InvalidInput(_("Say what evidence the buyer should provide."))
    return change_case(
        case,
        by=by,
        event_type=CaseEvent.EVIDENCE_REQUESTED,
        status=CaseStatus.AWAITING_EVIDENCE,
        fields={"evidence_request_note": note},
    )


@transaction.atomic
def record_buyer_evidence(
    *, case: Case, uploads: Sequence[Upload], by: Actor, note: str = ""
) -> Case:
    """Store the buyer's photos or video; a case waiting for them goes back to review."""
    check_length(note=(note, SHORT_NOTE_MAX_LENGTH))
    case = lock_case(case)
    if not uploads:
        raise InvalidInput(_("Attach at least one photo or video."))
    if case.status in {CaseStatus.COMPLETED, CaseStatus.CLOSED}:
        raise IllegalTransition(from_status=case.status, event=CaseEvent.BUYER_EVIDENCE_RECORDED)
    stored = [
        _store_evidence(case=case, upload=u, source=EvidenceSource.BUYER, by=by, note=note)
        for u in uploads
    ]
    next_status = CaseStatus.PENDING_REVIEW if case.status == CaseStatus.AWAITING_EVIDENCE else None
    return change_case(
        case,
        by=by,
        event_type=CaseEvent.BUYER_EVIDENCE_RECORDED,
        status=next_status,
        payload={"evidence": [e.pk for e in stored]},
    )


@transaction.atomic
def attach_evidence(
    *, case: Case, upload: Upload, source: str, by: Actor, note: str = ""
) -> Evidence:
    """Attach a photo or video from the merchant's side (packing photos, chat screenshots)."""
    check_length(note=(note, SHORT_NOTE_MAX_LENGTH))
    case = lock_case(case)
    if source not in EvidenceSource.values:
        raise InvalidInput(_("Unknown evidence source."))
    evidence = _store_evidence(case=case, upload=upload, source=source, by=by, note=note)
    record_event(
        shop_id=case.shop_id,
        case_id=case.pk,
        type=CaseEvent.EVIDENCE_ATTACHED,
        by=by,
        payload={"evidence": evidence.pk, "sha256": evidence.sha256, "source": source},
    )
    return evidence


def _evidence_of_case(case: Case, evidence_ids: Sequence[int]) -> list[Evidence]:
    evidence = list(Evidence.objects.filter(case=case, pk__in=list(evidence_ids)))
    if len(evidence) != len(set(evidence_ids)):
        raise InvalidInput(_("Some evidence does not belong to this case."))
    return evidence


def _store_evidence(
    *, case: Case, upload: Upload, source: str, by: Actor, note: str = ""
) -> Evidence:
    checked = check_upload(upload.stream, shop_id=case.shop_id)
    # The file is written before the row; if the transaction rolls back, an orphan file is
    # left behind, never a row pointing at nothing.
    name = default_storage.save(checked.storage_name, File(upload.stream))
    return Evidence.objects.create(
        shop_id=case.shop_id,
        case=case,
        source=source,
        kind=checked.kind,
        content_type=checked.content_type,
        file=name,
        original_name=upload.name[:255],
        size_bytes=checked.size_bytes,
        sha256=checked.sha256,
        note=note[:255],
        uploaded_by=by.label,
        uploaded_at=timezone.now(),
    )


# --- Returns and stage 2 ---------------------------------------------------------------------


@transaction.atomic
def record_return_shipment(*, case: Case, carrier: str, tracking_number: str, by: Actor) -> Case:
    """The buyer has sent the goods back; keep the tracking number."""
    check_length(
        carrier=(carrier, CARRIER_MAX_LENGTH),
        tracking_number=(tracking_number, TRACKING_NUMBER_MAX_LENGTH),
    )
    case = lock_case(case)
    if case.status != CaseStatus.AWAITING_RETURN:
        raise IllegalTransition(from_status=case.status, event=CaseEvent.RETURN_SHIPPED)
    if not carrier.strip() or not tracking_number.strip():
        raise InvalidInput(_("Carrier and tracking number are required."))
    shipment = create_shipment(
        order=case.order,
        kind=ShipmentKind.RETURN,
        carrier=carrier.strip(),
        tracking_number=tracking_number.strip(),
        case_id=case.pk,
    )
    return change_case(
        case,
        by=by,
        event_type=CaseEvent.RETURN_SHIPPED,
        return_status=ReturnStatus.IN_TRANSIT,
        payload={"shipment": shipment.pk, "carrier": carrier, "tracking_number": tracking_number},
    )


@transaction.atomic
def receive_return(*, case: Case, by: Actor) -> Case:
    """The returned parcel arrived at the warehouse: the inspection clock starts (R4.2)."""
    case = lock_case(case)
    if case.status != CaseStatus.AWAITING_RETURN:
        raise IllegalTransition(from_status=case.status, event=CaseEvent.RETURN_RECEIVED)
    shipment = _latest_shipment(case, ShipmentKind.RETURN)
    if shipment is not None:
        update_shipment_status(shipment=shipment, status=ShipmentStatus.DELIVERED)
    return change_case(
        case,
        by=by,
        event_type=CaseEvent.RETURN_RECEIVED,
        status=CaseStatus.AWAITING_INSPECTION,
        return_status=ReturnStatus.RECEIVED,
    )


@transaction.atomic
def inspect_return(
    *,
    case: Case,
    result: str,
    condition: str,
    by: Actor,
    notes: str = "",
    photo_ids: Sequence[int] = (),
    package_intact: bool | None = None,
) -> Inspection:
    """Record the inspection: pass or fail, the goods' condition, whether the packaging and
    seals are intact (decides opened beauty goods, R7.2), notes and photos (R4.2)."""
    check_length(notes=(notes, NOTE_MAX_LENGTH))
    case = lock_case(case)
    if case.status != CaseStatus.AWAITING_INSPECTION:
        raise IllegalTransition(from_status=case.status, event=CaseEvent.RETURN_INSPECTED)
    if result not in {"pass", "fail"}:
        raise InvalidInput(_("The result must be pass or fail."))
    if condition not in {"good", "damaged", "not_sent_item"}:
        raise InvalidInput(_("Unknown item condition."))
    if result == "fail" and not notes.strip():
        raise InvalidInput(_("Describe what failed the inspection."))
    photos = _evidence_of_case(case, photo_ids)
    inspection = Inspection.objects.create(
        case=case,
        result=result,
        condition=condition,
        package_intact=package_intact,
        notes=notes,
        inspected_by=by.label,
        inspected_at=timezone.now(),
    )
    for photo in photos:
        # Evidence rows are otherwise immutable; linking a photo to its inspection is the
        # one field set after upload.
        photo.inspection = inspection
        photo.save(update_fields=["inspection"])
    change_case(
        case,
        by=by,
        event_type=CaseEvent.RETURN_INSPECTED,
        status=CaseStatus.PENDING_FINAL_REVIEW,
        return_status=ReturnStatus.INSPECTED,
        payload={
            "inspection": inspection.pk,
            "package_intact": package_intact,
            "result": result,
            "condition": condition,
            "photos": [p.pk for p in photos],
        },
    )
    return inspection


@transaction.atomic
def approve_after_inspection(*, case: Case, by: Actor, note: str = "") -> Case:
    """Stage 2: agree after the goods came back. Refund types await the refund; exchanges
    and repairs await the merchant's shipment. The platform may have agreed before the goods
    were inspected here (its timeout, the back-office): it is followed from the inspection."""
    check_length(note=(note, NOTE_MAX_LENGTH))
    case = lock_case(case)
    agreed_elsewhere = by.kind == "platform" and case.status == CaseStatus.AWAITING_INSPECTION
    if case.status != CaseStatus.PENDING_FINAL_REVIEW and not agreed_elsewhere:
        raise IllegalTransition(from_status=case.status, event=CaseEvent.CASE_FINAL_APPROVED)
    target = (
        CaseStatus.AWAITING_REFUND if case.type in REFUND_TYPES else CaseStatus.AWAITING_SHIPMENT
    )
    return change_case(
        case,
        by=by,
        event_type=CaseEvent.CASE_FINAL_APPROVED,
        status=target,
        payload={"note": note} if note else None,
        fields={"final_approved_at": timezone.now()},
    )


# --- Money -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefundDefaults:
    """What a refund of the case may be and what it is by default, in fen (R3.2–R3.4).

    The goods default to what the buyer asked for, capped by what the case's items may still
    refund; the shipping to the policy's suggestion, capped by what the order may still
    refund; the return postage to the policy's cap (0 unless the merchant pays return
    shipping). The refund form shows these and `refund_case` uses them for what it is not
    given, so the page, the API and the platform agree.
    """

    requested_fen: int  # what the buyer asked for, shipping included
    goods_cap_fen: int
    goods_fen: int
    shipping_paid_fen: int
    shipping_refundable_fen: int
    shipping_fen: int
    return_postage_cap_fen: int
    # What the case's platform pays whatever is decided here (Douyin: the buyer's
    # application), when it does: the defaults are that amount, and a person's decision must
    # be it (`refund_case`; the policy's and the platform's own amounts are theirs).
    platform: PlatformRefund | None = None


def case_item_caps(
    case: Case,
    order_items: dict[int, OrderItem] | None = None,
    case_items: Sequence[CaseItem] | None = None,
) -> list[ItemCap]:
    """What each item of the case may still refund, in the case's item order; `order_items`
    are the items as locked by the caller, else read now, and `case_items` the case's items
    in order of their order item if the caller has them."""
    if case_items is None:
        case_items = list(case.items.order_by("order_item_id"))
    if order_items is None:
        order_items = OrderItem.objects.in_bulk([ci.order_item_id for ci in case_items])
    refunded_quantities = _refunded_quantities(list(order_items.values()), exclude_case=case)
    return [
        item_cap(
            order_items[ci.order_item_id],
            ci.quantity,
            refunded_quantities.get(ci.order_item_id, 0),
        )
        for ci in case_items
    ]


def refund_defaults(
    case: Case,
    caps: Sequence[ItemCap] | None = None,
    order: Order | None = None,
    advice: RefundAdvice | None = None,
) -> RefundDefaults:
    """The case's refund limits and defaults now (see `RefundDefaults`); `advice`: the
    policy's, asked for unless given."""
    caps = case_item_caps(case) if caps is None else caps
    order = order or case.order
    advice = advice or refund_advice(case)
    goods_cap = sum(c.cap_fen for c in caps)
    shipping_available = shipping_refundable_fen(order)
    platform = platform_refund(case)
    goods = default_goods_fen(case.requested_amount_fen, goods_cap)
    shipping = min(advice.shipping_fen, shipping_available)
    if platform is not None:
        goods = min(platform.goods_fen, goods_cap)
        shipping = min(platform.shipping_fen, shipping_available)
    return RefundDefaults(
        requested_fen=case.requested_amount_fen,
        goods_cap_fen=goods_cap,
        goods_fen=goods,
        shipping_paid_fen=order.shipping_fee_paid_fen,
        shipping_refundable_fen=shipping_available,
        shipping_fen=shipping,
        return_postage_cap_fen=advice.return_postage_cap_fen,
        platform=platform,
    )


@dataclass(frozen=True)
class RefundableLine:
    """One item of the case in money: what was paid for the case's units, what this case
    refunded on it, and what it may still refund (R3.2)."""

    case_item: CaseItem
    paid_for_units_fen: int
    refunded_fen: int
    refundable_fen: int


def refundable_lines(case: Case) -> list[RefundableLine]:
    """The case's items with their refundable amounts, computed as `refund_case` caps them:
    other cases' refunds of the same item count, and once this case's one refund is decided
    nothing is left for it to refund."""
    case_items = list(
        case.items.select_related("order_item__sku__product").order_by("order_item_id")
    )
    decision = RefundDecision.objects.filter(case=case).first()
    if decision is not None:
        cancelled = RefundExecution.objects.filter(
            decision=decision, status=ExecutionStatus.CANCELLED
        ).exists()
        refunded = (
            {} if cancelled else dict(decision.lines.values_list("order_item_id", "amount_fen"))
        )
        return [
            RefundableLine(
                ci,
                share_of(ci.order_item.paid_amount_fen, ci.quantity, ci.order_item.quantity),
                refunded.get(ci.order_item_id, 0),
                0,
            )
            for ci in case_items
        ]
    caps = case_item_caps(case, {ci.order_item_id: ci.order_item for ci in case_items})
    return [
        RefundableLine(
            ci,
            share_of(ci.order_item.paid_amount_fen, ci.quantity, ci.order_item.quantity),
            0,
            cap.cap_fen,
        )
        for ci, cap in zip(case_items, caps, strict=True)
    ]


@transaction.atomic
def refund_case(
    *,
    case: Case,
    by: Actor,
    goods_amount_fen: int | None = None,
    shipping_amount_fen: int | None = 0,
    return_postage_fen: int | None = 0,
    reason: str = "",
) -> RefundDecision:
    """Decide the refund (R3.2–R3.4) and queue its execution.

    The goods amount defaults to what the buyer asked for, capped by the refundable amount of
    the case's items: what was actually paid for those quantities, less what other cases
    already refunded. Less than the refundable amount is a partial refund and needs a reason;
    the buyer's own request is its reason. `None` for the shipping takes the policy's
    suggestion, for the return postage the policy's cap (see `RefundDefaults`). The order
    items and the order are locked and their refunded totals raised in this transaction, so
    two cases on one item can never together refund more than was paid; the database's check
    constraints say the same again.
    """
    check_length(reason=(reason, REASON_MAX_LENGTH))
    case = lock_case(case)
    if case.status != CaseStatus.AWAITING_REFUND:
        raise IllegalTransition(from_status=case.status, event=CaseEvent.REFUND_DECIDED)
    if RefundDecision.objects.filter(case=case).exists():
        raise Conflict(_("This case already has a refund."))

    # The case's items with their order items, the order items locked (in id order, as
    # everywhere), in one statement.
    case_items = list(
        case.items.select_related("order_item")
        .select_for_update(of=("order_item",))
        .order_by("order_item_id")
    )
    locked_items = {ci.order_item_id: ci.order_item for ci in case_items}
    order = Order.objects.select_for_update().get(pk=case.order_id)
    caps = case_item_caps(case, locked_items, case_items)
    # The policy's advice (its latest decision, a read) gives only the defaults of the
    # shipping and the return postage and the postage's cap: not needed when the shipping is
    # given and no postage refunded.
    needs_advice = shipping_amount_fen is None or return_postage_fen != 0
    defaults = refund_defaults(case, caps, order, None if needs_advice else RefundAdvice())
    full_amount = defaults.goods_cap_fen
    if goods_amount_fen is None:
        goods_amount_fen = defaults.goods_fen
    if shipping_amount_fen is None:
        shipping_amount_fen = defaults.shipping_fen
    if return_postage_fen is None:
        return_postage_fen = defaults.return_postage_cap_fen
    reason = reason.strip()
    _check_refund(
        defaults,
        goods_fen=goods_amount_fen,
        shipping_fen=shipping_amount_fen,
        return_postage_fen=return_postage_fen,
    )
    platform = defaults.platform
    if (
        platform is not None
        and by.kind == "user"
        and (goods_amount_fen, shipping_amount_fen) != (platform.goods_fen, platform.shipping_fen)
    ):
        # The platform pays its amount whatever is booked here (issue 15, the soak: 513.00
        # booked, 519.00 paid — the application's shipping): the booking must be what leaves.
        raise Conflict(
            _(
                "The platform refunds what the buyer applied for: %(total)s yuan (goods "
                "%(goods)s, shipping %(shipping)s), whatever is decided here. Refund that "
                "amount, or agree another with the buyer first (they change the application)."
            ),
            field="goods_amount_fen",
            total=fen_to_yuan(platform.total_fen),
            goods=fen_to_yuan(platform.goods_fen),
            shipping=fen_to_yuan(platform.shipping_fen),
        )
    lines = allocate(goods_amount_fen, caps)
    is_partial = goods_amount_fen < full_amount
    if is_partial and not reason and goods_amount_fen == defaults.goods_fen:
        # The buyer asked for less than the goods cost: that is the reason.
        asked = platform.total_fen if platform is not None else defaults.requested_fen
        reason = f"按买家申请的金额退款（{fen_to_yuan(asked)} 元）"
    if is_partial and not reason:
        raise InvalidInput(_("A partial refund needs a reason."), field="reason")

    now = timezone.now()
    decision = RefundDecision.objects.create(
        shop_id=case.shop_id,
        case=case,
        order=order,
        goods_amount_fen=goods_amount_fen,
        shipping_amount_fen=shipping_amount_fen,
        return_postage_fen=return_postage_fen,
        is_partial=is_partial,
        reason=reason,
        decided_by=by.label,
        decided_at=now,
    )
    for order_item, amount in lines:
        if amount == 0:
            continue
        RefundLine.objects.create(decision=decision, order_item=order_item, amount_fen=amount)
        OrderItem.objects.filter(pk=order_item.pk).update(
            refunded_amount_fen=F("refunded_amount_fen") + amount
        )
    if shipping_amount_fen:
        Order.objects.filter(pk=order.pk).update(
            shipping_refunded_fen=F("shipping_refunded_fen") + shipping_amount_fen
        )
    execution = RefundExecution.objects.create(
        shop_id=case.shop_id,
        decision=decision,
        idempotency_key=f"refund-case-{case.pk}",
        amount_fen=decision.total_fen,
        created_at=now,
    )
    change_case(
        case,
        by=by,
        event_type=CaseEvent.REFUND_DECIDED,
        refund_status=RefundStatus.PENDING,
        payload={
            "decision": decision.pk,
            "goods_amount_fen": goods_amount_fen,
            "shipping_amount_fen": shipping_amount_fen,
            "return_postage_fen": return_postage_fen,
            "requested_amount_fen": defaults.requested_fen,
            "is_partial": is_partial,
            "reason": reason,
            "lines": {str(item.pk): amount for item, amount in lines},
        },
    )
    transaction.on_commit(lambda: enqueue_refund_execution(execution.pk))
    return decision


def _check_refund(
    defaults: RefundDefaults, *, goods_fen: int, shipping_fen: int, return_postage_fen: int
) -> None:
    """The refund's parts against their caps; each refusal names the part it is about."""
    if goods_fen < 0 or shipping_fen < 0 or return_postage_fen < 0:
        raise InvalidInput(_("Amounts cannot be negative."))
    if goods_fen > defaults.goods_cap_fen:
        raise RefundCapExceeded(
            requested=fen_to_yuan(goods_fen),
            refundable=fen_to_yuan(defaults.goods_cap_fen),
            field="goods_amount_fen",
        )
    if shipping_fen:
        if defaults.shipping_paid_fen == 0:
            raise InvalidInput(
                _("No shipping was paid for this order: there is none to refund."),
                field="shipping_amount_fen",
            )
        if defaults.shipping_refundable_fen == 0:
            raise Conflict(
                _("Shipping for this order has already been refunded."),
                field="shipping_amount_fen",
            )
        if shipping_fen > defaults.shipping_refundable_fen:
            raise InvalidInput(
                _("Shipping refund cannot exceed the %(paid)s yuan paid."),
                paid=fen_to_yuan(defaults.shipping_refundable_fen),
                field="shipping_amount_fen",
            )
    if return_postage_fen:
        if defaults.return_postage_cap_fen == 0:
            raise InvalidInput(
                _(
                    "The policy does not have the merchant pay this case's return shipping: "
                    "no return postage is refunded."
                ),
                field="return_postage_fen",
            )
        if return_postage_fen > defaults.return_postage_cap_fen:
            raise InvalidInput(
                _("The return postage refund cannot exceed the %(cap)s yuan the policy allows."),
                cap=fen_to_yuan(defaults.return_postage_cap_fen),
                field="return_postage_fen",
            )
    if goods_fen + shipping_fen + return_postage_fen == 0:
        raise InvalidInput(_("The refund amount is zero."), field="goods_amount_fen")


def _refunded_quantities(
    order_items: Sequence[OrderItem], exclude_case: Case | None = None
) -> dict[int, int]:
    """How many units of each item other cases already refunded money for.

    An item's `refunded_amount_fen` is the sum of its refund lines whose execution is not
    cancelled (`refund_case` raises it, `_cancel_unpaid_refund` lowers it, in the lines'
    transactions): none of the items refunded means no such line, and no query."""
    if not any(item.refunded_amount_fen for item in order_items):
        return {}
    case_items = CaseItem.objects.filter(
        order_item_id__in=[item.pk for item in order_items],
        case__refund_decision__lines__order_item_id=F("order_item_id"),
        case__refund_decision__lines__amount_fen__gt=0,
    ).exclude(case__refund_decision__execution__status=ExecutionStatus.CANCELLED)
    if exclude_case is not None:
        case_items = case_items.exclude(case=exclude_case)
    totals = case_items.values("order_item_id").annotate(units=Sum("quantity"))
    return {row["order_item_id"]: row["units"] for row in totals}


def enqueue_refund_execution(execution_id: int) -> None:
    """Hand the execution to the worker. Imported late: tasks import services."""
    from .tasks import execute_refund_task

    execute_refund_task.enqueue(execution_id)


def execute_refund(*, execution: RefundExecution, by: Actor) -> RefundExecution:
    """Carry out a refund decision exactly once, however often this is called.

    The row is claimed with a conditional update, so only one caller moves it from
    pending/failed to executing; everyone else returns without touching the money. The
    gateway call runs outside any transaction (it may be slow); its result is recorded in
    a second, short transaction.
    """
    claimed = RefundExecution.objects.filter(
        pk=execution.pk, status__in=[ExecutionStatus.PENDING, ExecutionStatus.FAILED]
    ).update(
        status=ExecutionStatus.EXECUTING, attempts=F("attempts") + 1, claimed_at=timezone.now()
    )
    # The gateway reads the decision and its case (the refund's shop and platform): they come
    # with the execution's own read.
    execution.refresh_from_db(
        from_queryset=RefundExecution.objects.select_related("decision__case__shop")
    )
    if claimed != 1:
        return execution
    try:
        receipt = get_refund_gateway().refund(execution)
    except RefundGatewayError as exc:
        logger.warning("refund %s failed: %s", execution.idempotency_key, exc)
        return _record_refund_failure(execution=execution, error=str(exc), by=by)
    except Exception as exc:
        # A crash inside the gateway must not leave the execution stuck in "executing";
        # the idempotency key makes a later retry safe.
        logger.exception("refund %s crashed", execution.idempotency_key)
        error = f"{type(exc).__name__}: {exc}"
        return _record_refund_failure(execution=execution, error=error, by=by)
    return _record_refund_success(execution=execution, reference=receipt.reference, by=by)


UNCLAIMED_AFTER = timedelta(minutes=2)


def recover_stalled_refunds(now: datetime | None = None) -> tuple[int, int]:
    """The safety net for refunds: nothing decided is ever silently lost.

    An execution claimed long ago but never finished means the worker died during the
    gateway call: it is marked failed, visible on the case and retryable (the gateway gets
    the same idempotency key, so a refund that did go through is not paid twice). An
    execution never claimed means its task was lost: it is queued again. The lease is
    `settings.AFTERSALES_REFUND_LEASE_SECONDS`; the failure is a case event, so the case's
    platform may resume the refund it already received (the Douyin adapter does).
    Returns (marked failed, queued again).
    """
    now = now or timezone.now()
    stalled_after = timedelta(seconds=settings.AFTERSALES_REFUND_LEASE_SECONDS)
    stalled = list(
        RefundExecution.objects.filter(
            status=ExecutionStatus.EXECUTING, claimed_at__lt=now - stalled_after
        ).values_list("pk", flat=True)
    )
    failed = 0
    for pk in stalled:
        execution = RefundExecution.objects.get(pk=pk)
        if execution.status == ExecutionStatus.EXECUTING:
            recorded = _record_refund_failure(
                execution=execution,
                error="the worker stopped during the refund call; check and retry",
                by=Actor.system("refund-recovery"),
                stalled_claim=execution.claimed_at,
            )
            failed += recorded.status == ExecutionStatus.FAILED
    unclaimed = list(
        RefundExecution.objects.filter(
            status=ExecutionStatus.PENDING, created_at__lt=now - UNCLAIMED_AFTER
        ).values_list("pk", flat=True)
    )
    for pk in unclaimed:
        enqueue_refund_execution(pk)
    return failed, len(unclaimed)


def _lock_execution(execution_id: int) -> RefundExecution:
    """The execution under a row lock, its decision with it (not locked: the case row is)."""
    return (
        RefundExecution.objects.select_related("decision")
        .select_for_update(of=("self",))
        .get(pk=execution_id)
    )


def _lock_execution_and_case(execution_id: int) -> RefundExecution:
    """The execution and its case under row locks, in one statement, with the decision and
    what `_lock_case_by_id` brings with a case (the shop, the order and its buyer)."""
    return (
        RefundExecution.objects.select_related(
            "decision__case__shop", "decision__case__order__buyer"
        )
        .select_for_update(of=("self", "decision__case"))
        .get(pk=execution_id)
    )


@transaction.atomic
def _record_refund_success(
    *, execution: RefundExecution, reference: str, by: Actor
) -> RefundExecution:
    execution = _lock_execution_and_case(execution.pk)
    if execution.status == ExecutionStatus.SUCCEEDED:
        return execution
    case = execution.decision.case
    execution.status = ExecutionStatus.SUCCEEDED
    execution.external_reference = reference
    execution.last_error = ""
    execution.executed_at = timezone.now()
    execution.save(update_fields=["status", "external_reference", "last_error", "executed_at"])
    change_case(
        case,
        by=by,
        event_type=CaseEvent.REFUND_EXECUTED,
        status=CaseStatus.COMPLETED,
        refund_status=RefundStatus.REFUNDED,
        payload={
            "execution": execution.pk,
            "amount_fen": execution.amount_fen,
            "reference": reference,
        },
        fields={"resolved_at": execution.executed_at},
    )
    return execution


@transaction.atomic
def _record_refund_failure(
    *,
    execution: RefundExecution,
    error: str,
    by: Actor,
    stalled_claim: datetime | None = None,
) -> RefundExecution:
    """With `stalled_claim` (the recovery of a stalled execution): only if the execution is
    still executing under that claim — a slow worker that finished meanwhile wins."""
    execution = _lock_execution(execution.pk)
    if stalled_claim is not None and (
        execution.status != ExecutionStatus.EXECUTING or execution.claimed_at != stalled_claim
    ):
        return execution
    case = _lock_case_by_id(execution.decision.case_id)
    execution.status = ExecutionStatus.FAILED
    execution.last_error = error[:2000]
    execution.save(update_fields=["status", "last_error"])
    change_case(
        case,
        by=by,
        event_type=CaseEvent.REFUND_FAILED,
        refund_status=RefundStatus.FAILED,
        payload={"execution": execution.pk, "attempt": execution.attempts, "error": error[:500]},
    )
    return execution


@transaction.atomic
def retry_refund(*, case: Case, by: Actor) -> RefundExecution:
    """Queue a failed refund again. The same execution row and key are reused."""
    case = lock_case(case)
    execution = RefundExecution.objects.filter(decision__case=case).first()
    if execution is None or execution.status != ExecutionStatus.FAILED:
        raise Conflict(_("There is no failed refund to retry."))
    change_case(
        case,
        by=by,
        event_type=CaseEvent.REFUND_RETRIED,
        refund_status=RefundStatus.PENDING,
        payload={"execution": execution.pk},
    )
    transaction.on_commit(lambda: enqueue_refund_execution(execution.pk))
    return execution


# --- Technical support ----------------------------------------------------------------------


@transaction.atomic
def record_technical_support(*, case: Case, notes: str, resolved: bool, by: Actor) -> Case:
    """Record the troubleshooting given to the buyer (R7.3): electronics get help to use the
    goods correctly before a functional fault is treated as a quality problem."""
    check_length(notes=(notes, NOTE_MAX_LENGTH))
    case = lock_case(case)
    if case.status in TERMINAL_STATUSES:
        raise IllegalTransition(from_status=case.status, event=CaseEvent.TECHNICAL_SUPPORT_RECORDED)
    if not notes.strip():
        raise InvalidInput(_("Record what was tried with the buyer."))
    record_case_event(
        case,
        event=CaseEvent.TECHNICAL_SUPPORT_RECORDED,
        by=by,
        payload={"notes": notes, "resolved": resolved},
    )
    return case


# --- The conversation ------------------------------------------------------------------------


@transaction.atomic
def message_buyer(*, case: Case, text: str, by: Actor, template: str = "") -> Case:
    """Say something to the buyer (R3.5): on the record with who said it, and delivered by
    the case's platform (its reaction to `buyer_message_sent`). It counts as the merchant's
    first response, so the first-response clock stops."""
    text = text.strip()
    if not text:
        raise InvalidInput(_("The message is empty."))
    if len(text) > MESSAGE_MAX_LENGTH:
        raise InvalidInput(
            _("A message is at most %(max)d characters."), max=MESSAGE_MAX_LENGTH, field="text"
        )
    check_length(template=(template, CODE_MAX_LENGTH))
    case = lock_case(case)
    record_case_event(
        case,
        event=CaseEvent.BUYER_MESSAGE_SENT,
        by=by,
        payload={"text": text, "template": template},
    )
    return case


# --- Exchange, resend, repair ----------------------------------------------------------------


@transaction.atomic
def record_quality_check(
    *, case: Case, quality_ok: bool, packaging_intact: bool, by: Actor, notes: str = ""
) -> QualityCheck:
    """Check the replacement before it leaves (R4.3): quality and intact packaging."""
    check_length(notes=(notes, NOTE_MAX_LENGTH))
    case = lock_case(case)
    if case.status != CaseStatus.AWAITING_SHIPMENT or case.type != CaseType.EXCHANGE:
        raise IllegalTransition(from_status=case.status, event=CaseEvent.QUALITY_CHECKED)
    check = QualityCheck.objects.create(
        case=case,
        quality_ok=quality_ok,
        packaging_intact=packaging_intact,
        notes=notes,
        checked_by=by.label,
        checked_at=timezone.now(),
    )
    record_event(
        shop_id=case.shop_id,
        case_id=case.pk,
        type=CaseEvent.QUALITY_CHECKED,
        by=by,
        payload={
            "quality_check": check.pk,
            "quality_ok": quality_ok,
            "packaging_intact": packaging_intact,
            "passed": check.passed,
        },
    )
    return check


@transaction.atomic
def ship_replacement(*, case: Case, carrier: str, tracking_number: str, by: Actor) -> Case:
    """Ship the exchange replacement; only after a passed quality check (R4.3)."""
    check_length(
        carrier=(carrier, CARRIER_MAX_LENGTH),
        tracking_number=(tracking_number, TRACKING_NUMBER_MAX_LENGTH),
    )
    case = lock_case(case)
    if case.type != CaseType.EXCHANGE or case.status != CaseStatus.AWAITING_SHIPMENT:
        raise IllegalTransition(from_status=case.status, event=CaseEvent.REPLACEMENT_SHIPPED)
    latest_check = case.quality_checks.order_by("-checked_at", "-pk").first()
    if latest_check is None or not latest_check.passed:
        raise Conflict(_("The replacement must pass a quality check before it ships."))
    return _ship_to_buyer(
        case=case,
        kind=ShipmentKind.EXCHANGE,
        carrier=carrier,
        tracking_number=tracking_number,
        by=by,
        event_type=CaseEvent.REPLACEMENT_SHIPPED,
    )


@transaction.atomic
def resend_items(*, case: Case, carrier: str, tracking_number: str, by: Actor) -> Case:
    """Send the missing items (补寄)."""
    check_length(
        carrier=(carrier, CARRIER_MAX_LENGTH),
        tracking_number=(tracking_number, TRACKING_NUMBER_MAX_LENGTH),
    )
    case = lock_case(case)
    if case.type != CaseType.RESEND:
        raise IllegalTransition(from_status=case.status, event=CaseEvent.ITEMS_RESENT)
    return _ship_to_buyer(
        case=case,
        kind=ShipmentKind.RESEND,
        carrier=carrier,
        tracking_number=tracking_number,
        by=by,
        event_type=CaseEvent.ITEMS_RESENT,
    )


@transaction.atomic
def return_repaired(
    *, case: Case, carrier: str, tracking_number: str, repair_notes: str, by: Actor
) -> Case:
    """Send the repaired goods back to the buyer, with what was repaired."""
    check_length(
        carrier=(carrier, CARRIER_MAX_LENGTH),
        tracking_number=(tracking_number, TRACKING_NUMBER_MAX_LENGTH),
        repair_notes=(repair_notes, NOTE_MAX_LENGTH),
    )
    case = lock_case(case)
    if case.type != CaseType.REPAIR:
        raise IllegalTransition(from_status=case.status, event=CaseEvent.REPAIRED_GOODS_SHIPPED)
    if not repair_notes.strip():
        raise InvalidInput(_("Record what was repaired."))
    return _ship_to_buyer(
        case=case,
        kind=ShipmentKind.REPAIR,
        carrier=carrier,
        tracking_number=tracking_number,
        by=by,
        event_type=CaseEvent.REPAIRED_GOODS_SHIPPED,
        extra={"repair_notes": repair_notes},
    )


def _ship_to_buyer(
    *,
    case: Case,
    kind: str,
    carrier: str,
    tracking_number: str,
    by: Actor,
    event_type: str,
    extra: dict[str, Any] | None = None,
) -> Case:
    if case.status != CaseStatus.AWAITING_SHIPMENT:
        raise IllegalTransition(from_status=case.status, event=event_type)
    if not carrier.strip() or not tracking_number.strip():
        raise InvalidInput(_("Carrier and tracking number are required."))
    shipment = create_shipment(
        order=case.order,
        kind=kind,
        carrier=carrier.strip(),
        tracking_number=tracking_number.strip(),
        case_id=case.pk,
    )
    return change_case(
        case,
        by=by,
        event_type=event_type,
        status=CaseStatus.AWAITING_BUYER_RECEIPT,
        payload={"shipment": shipment.pk, "carrier": carrier, "tracking_number": tracking_number}
        | (extra or {}),
    )


@transaction.atomic
def reship_to_buyer(
    *, case: Case, carrier: str, tracking_number: str, by: Actor, note: str = ""
) -> Shipment:
    """The replacement, resend or repaired goods went out again under another tracking
    number (the first parcel was lost, or its number corrected): a new parcel of the same
    kind, the first kept in the history. The case stays waiting for the buyer's receipt."""
    check_length(
        carrier=(carrier, CARRIER_MAX_LENGTH),
        tracking_number=(tracking_number, TRACKING_NUMBER_MAX_LENGTH),
        note=(note, NOTE_MAX_LENGTH),
    )
    case = lock_case(case)
    if case.status != CaseStatus.AWAITING_BUYER_RECEIPT:
        raise IllegalTransition(from_status=case.status, event=CaseEvent.BUYER_PARCEL_RESHIPPED)
    if not carrier.strip() or not tracking_number.strip():
        raise InvalidInput(_("Carrier and tracking number are required."))
    previous = (
        case.shipments.filter(kind__in=BUYER_SHIPMENT_KINDS).order_by("-created_at", "-pk").first()
    )
    if previous is None:
        raise IllegalTransition(from_status=case.status, event=CaseEvent.BUYER_PARCEL_RESHIPPED)
    shipment = create_shipment(
        order=case.order,
        kind=previous.kind,
        carrier=carrier.strip(),
        tracking_number=tracking_number.strip(),
        case_id=case.pk,
    )
    record_event(
        shop_id=case.shop_id,
        case_id=case.pk,
        type=CaseEvent.BUYER_PARCEL_RESHIPPED,
        by=by,
        payload={
            "shipment": shipment.pk,
            "carrier": shipment.carrier,
            "tracking_number": shipment.tracking_number,
            "previous_shipment": previous.pk,
            "previous_tracking_number": previous.tracking_number,
            "note": note,
        },
    )
    return shipment


@transaction.atomic
def confirm_buyer_receipt(*, case: Case, by: Actor) -> Case:
    """The buyer received the replacement, resend or repaired goods: the case is done."""
    case = lock_case(case)
    if case.status != CaseStatus.AWAITING_BUYER_RECEIPT:
        raise IllegalTransition(from_status=case.status, event=CaseEvent.BUYER_RECEIVED)
    shipment = _latest_shipment(case, None)
    if shipment is not None:
        update_shipment_status(shipment=shipment, status=ShipmentStatus.DELIVERED)
    return change_case(
        case,
        by=by,
        event_type=CaseEvent.BUYER_RECEIVED,
        status=CaseStatus.COMPLETED,
        fields={"resolved_at": timezone.now()},
    )


@transaction.atomic
def convert_to_refund(*, case: Case, by: Actor, note: str) -> Case:
    """An exchange that cannot be fulfilled (out of stock) becomes a refund."""
    check_length(note=(note, NOTE_MAX_LENGTH))
    case = lock_case(case)
    if case.type != CaseType.EXCHANGE or case.status != CaseStatus.AWAITING_SHIPMENT:
        raise IllegalTransition(from_status=case.status, event=CaseEvent.CONVERTED_TO_REFUND)
    if not note.strip():
        raise InvalidInput(_("Say why the exchange becomes a refund."))
    return change_case(
        case,
        by=by,
        event_type=CaseEvent.CONVERTED_TO_REFUND,
        status=CaseStatus.AWAITING_REFUND,
        payload={"note": note},
    )


@transaction.atomic
def settle_with_refund(*, case: Case, by: Actor, note: str, source: str) -> Case:
    """The refund was agreed outside the review: with the buyer in negotiation (R5.1,
    `source="offer"`) or by the platform's ruling (R5.3, `source="ruling"`). The case goes to
    the refund, which is then decided by `refund_case` like any other (capped, once)."""
    check_length(note=(note, NOTE_MAX_LENGTH), source=(source, CODE_MAX_LENGTH))
    case = lock_case(case)
    if not can_settle_with_refund(case):
        raise IllegalTransition(from_status=case.status, event=CaseEvent.SETTLEMENT_AGREED)
    if not note.strip():
        raise InvalidInput(_("Say what was agreed."))
    axes: dict[str, str] = {}
    if case.return_status == ReturnStatus.AWAITING_SHIPMENT:
        axes["return_status"] = ReturnStatus.NOT_REQUIRED  # the goods stay with the buyer
    return change_case(
        case,
        by=by,
        event_type=CaseEvent.SETTLEMENT_AGREED,
        status=CaseStatus.AWAITING_REFUND,
        payload={"note": note, "source": source},
        fields={"reject_reason": "", "reject_note": ""},
        **axes,
    )


BUYER_SHIPMENT_KINDS = (ShipmentKind.EXCHANGE, ShipmentKind.RESEND, ShipmentKind.REPAIR)


def _latest_shipment(case: Case, kind: str | None) -> Shipment | None:
    shipments = case.shipments.order_by("-created_at", "-pk")
    if kind is not None:
        shipments = shipments.filter(kind=kind)
    return shipments.first()


# --- Ending ----------------------------------------------------------------------------------


@transaction.atomic
def withdraw_case(*, case: Case, by: Actor) -> Case:
    """The buyer cancels the request. Not possible once a refund has been decided."""
    case = lock_case(case)
    if not can_withdraw(case):
        raise IllegalTransition(from_status=case.status, event=CaseEvent.CASE_WITHDRAWN)
    return change_case(
        case,
        by=by,
        event_type=CaseEvent.CASE_WITHDRAWN,
        status=CaseStatus.CLOSED,
        fields={"resolved_at": timezone.now()},
    )


@transaction.atomic
def close_case(*, case: Case, note: str, by: Actor) -> Case:
    """Close a case that will go no further (rejected and not appealed, buyer never
    returned the goods, evidence never came)."""
    check_length(note=(note, NOTE_MAX_LENGTH))
    case = lock_case(case)
    if not note.strip():
        raise InvalidInput(_("Say why the case is closed."))
    by_platform = by.kind == "platform"
    if case.refund_status == RefundStatus.PENDING and not by_platform:
        raise Conflict(_("A refund is in progress; it cannot be closed now."))
    if not can_close(case, by_platform=by_platform):
        raise IllegalTransition(from_status=case.status, event=CaseEvent.CASE_CLOSED)
    _cancel_unpaid_refund(case, by=by, note=note)
    return change_case(
        case,
        by=by,
        event_type=CaseEvent.CASE_CLOSED,
        status=CaseStatus.CLOSED,
        fields={"close_note": note, "resolved_at": timezone.now()},
    )


def _cancel_unpaid_refund(case: Case, *, by: Actor, note: str) -> RefundExecution | None:
    """The case closes with a refund decided but not paid (F1): the refund will never leave,
    so its booking is released — the items' and the order's refunded figures go back down by
    what the decision had booked, and the execution becomes `cancelled` (never claimed again).

    The execution is taken with a conditional update from pending/failed, so a worker that
    claims it at the same moment wins or loses cleanly; one executing or paid refuses the
    close (the caller locked the case)."""
    execution = (
        RefundExecution.objects.select_for_update()
        .filter(decision__case=case)
        .select_related("decision")
        .first()
    )
    if execution is None or execution.status == ExecutionStatus.CANCELLED:
        return None
    taken = RefundExecution.objects.filter(
        pk=execution.pk, status__in=[ExecutionStatus.PENDING, ExecutionStatus.FAILED]
    ).update(status=ExecutionStatus.CANCELLED)
    if taken != 1:
        raise Conflict(_("A refund is in progress; it cannot be closed now."))
    decision = execution.decision
    lines = list(decision.lines.select_related(None).order_by("order_item_id"))
    locked = {
        item.pk: item
        for item in OrderItem.objects.select_for_update()
        .filter(pk__in=[line.order_item_id for line in lines])
        .order_by("pk")
    }
    for line in lines:
        # Never below zero, whatever happened to the item since.
        released = min(line.amount_fen, locked[line.order_item_id].refunded_amount_fen)
        OrderItem.objects.filter(pk=line.order_item_id).update(
            refunded_amount_fen=F("refunded_amount_fen") - released
        )
    if decision.shipping_amount_fen:
        order = Order.objects.select_for_update().get(pk=decision.order_id)
        released = min(decision.shipping_amount_fen, order.shipping_refunded_fen)
        Order.objects.filter(pk=order.pk).update(
            shipping_refunded_fen=F("shipping_refunded_fen") - released
        )
    execution.status = ExecutionStatus.CANCELLED
    change_case(
        case,
        by=by,
        event_type=CaseEvent.REFUND_CANCELLED,
        refund_status=RefundStatus.NONE,
        payload={
            "execution": execution.pk,
            "decision": decision.pk,
            "released_fen": decision.total_fen,
            "lines": {str(line.order_item_id): line.amount_fen for line in lines},
            "shipping_amount_fen": decision.shipping_amount_fen,
            "note": note,
        },
    )
    return execution


@transaction.atomic
def reopen_case(*, case: Case, by: Actor, note: str = "") -> Case:
    """The buyer changed a request rejected at stage 1 and applied again (platform 27 → 6).

    A stage-2 rejection (29: the goods are already back) cannot be re-applied; the buyer's
    way forward there is the platform's intervention.
    """
    check_length(note=(note, NOTE_MAX_LENGTH))
    case = lock_case(case)
    if not can_reopen(case):
        raise IllegalTransition(from_status=case.status, event=CaseEvent.CASE_REOPENED)
    return change_case(
        case,
        by=by,
        event_type=CaseEvent.CASE_REOPENED,
        status=CaseStatus.PENDING_REVIEW,
        payload={"note": note} if note else None,
        fields={"reject_reason": "", "reject_note": ""},
    )


# --- Costs and assignment --------------------------------------------------------------------


@transaction.atomic
def add_cost(
    *, case: Case, kind: str, amount_fen: int, payer: str, by: Actor, note: str = ""
) -> CaseCost:
    """Record a cost of the case and who bears it (R4.4)."""
    check_length(note=(note, SHORT_NOTE_MAX_LENGTH))
    case = lock_case(case)
    if amount_fen <= 0:
        raise InvalidInput(_("The amount must be positive."))
    if kind not in CostKind.values:
        raise InvalidInput(_("Unknown kind of cost."))
    if payer not in CostPayer.values:
        raise InvalidInput(_("Unknown payer of the cost."))
    cost = CaseCost.objects.create(
        shop_id=case.shop_id,
        case=case,
        kind=kind,
        amount_fen=amount_fen,
        payer=payer,
        note=note,
        recorded_by=by.label,
        recorded_at=timezone.now(),
    )
    record_event(
        shop_id=case.shop_id,
        case_id=case.pk,
        type=CaseEvent.COST_RECORDED,
        by=by,
        payload={"cost": cost.pk, "kind": kind, "amount_fen": amount_fen, "payer": payer},
    )
    return cost


@transaction.atomic
def assign_case(*, case: Case, assignee: Any, by: Actor) -> Case:
    """Give the case to a member of its shop who may work it (or to nobody)."""
    case = lock_case(case)
    if assignee is not None:
        role = assignee.memberships.filter(shop_id=case.shop_id).values_list("role", flat=True)
        if not role:
            raise InvalidInput(_("The assignee is not a member of this shop."))
        if role[0] not in WRITE_ROLES:
            raise InvalidInput(_("The assignee's role cannot work on cases."))
    return change_case(
        case,
        by=by,
        event_type=CaseEvent.CASE_ASSIGNED,
        payload={"assignee": getattr(assignee, "pk", None)},
        fields={"assignee": assignee},
    )


# --- History brought in at once (R13.3) ----------------------------------------------------


@dataclass(frozen=True)
class FinishedCase:
    """An after-sale already finished elsewhere (the platform's back-office export), to be
    written as it ended: completed (refunded, or the goods back with the buyer) or closed.
    `order` and `order_item` are new and unsaved (their buyer and sku saved): they are
    written with the case, the refund booked on them."""

    order: Order
    order_item: OrderItem
    type: str
    reason: str
    applied_at: datetime
    platform_case_id: str
    outcome: str  # CaseStatus.COMPLETED or CaseStatus.CLOSED
    note: str  # the source's own words for the outcome, kept on the trail
    buyer_statement: str = ""
    requested_amount_fen: int = 0
    refund_goods_fen: int = 0  # a completed refund type: what was refunded
    refund_shipping_fen: int = 0
    return_parcel: tuple[str, str] | None = None  # (carrier code, tracking number)
    buyer_parcel: tuple[str, str] | None = None  # the replacement, resend or repaired goods


# The parcel to the buyer each type's completion has.
_BUYER_PARCEL_KIND: dict[str, str] = {
    CaseType.EXCHANGE: ShipmentKind.EXCHANGE,
    CaseType.RESEND: ShipmentKind.RESEND,
    CaseType.REPAIR: ShipmentKind.REPAIR,
}


def finished_case_problem(spec: FinishedCase) -> str | None:
    """Why `import_finished_cases` would not take this case as it is, or None. A caller
    checks before the bulk write, and sends what is refused the step-by-step way (where
    the services say exactly what is wrong)."""
    item, order = spec.order_item, spec.order
    if spec.type not in CASE_TYPES or spec.reason not in REASONS:
        return "unknown type or reason"
    if spec.outcome not in (CaseStatus.COMPLETED, CaseStatus.CLOSED):
        return "not finished"
    if order.status not in TYPE_ORDER_STATES[spec.type]:
        return "order status"
    if order.pk is not None or item.pk is not None or item.order is not order:
        return "not a new order"
    if item.refunded_amount_fen or order.shipping_refunded_fen or item.quantity != 1:
        return "not a new order"
    if len(spec.platform_case_id) > CODE_MAX_LENGTH or len(spec.buyer_statement) > NOTE_MAX_LENGTH:
        return "too long"
    if not 0 <= spec.requested_amount_fen <= item.paid_amount_fen + order.shipping_fee_paid_fen:
        return "requested amount"
    if spec.outcome == CaseStatus.COMPLETED:
        if spec.type in REFUND_TYPES:
            if not 0 < spec.refund_goods_fen <= item.paid_amount_fen:
                return "refund amount"
            # Shipping refunds follow the shop's policy (`refund_advice`): the services judge.
            if spec.refund_shipping_fen:
                return "shipping refund"
        elif spec.buyer_parcel is None:
            return "no parcel to the buyer"
    return None


@transaction.atomic
def import_finished_cases(*, specs: Sequence[FinishedCase], by: Actor) -> list[Case]:
    """Write finished after-sales of one shop at once, in their final state (R13.3): their
    new orders (counted in the daily order totals), the cases, their items, the refund paid
    (decision, lines, execution, booked on the items), the parcels, the inspection of
    returned goods, one audit event per case (`case_imported`, the outcome in its payload)
    and the reports' counts (`ports.react_to_imported`). No policy triage, no clocks, no
    assignment, no message: the after-sale is over. One transaction; a refused spec
    (`finished_case_problem`) refuses the whole call, before anything is written."""
    if not specs:
        return []
    shop_ids = {spec.order.shop_id for spec in specs}
    if len(shop_ids) != 1:
        raise InvalidInput(_("One shop at a time."))
    (shop_id,) = shop_ids
    for spec in specs:
        problem = finished_case_problem(spec)
        if problem is not None:
            raise InvalidInput(
                _("This after-sale cannot be imported as finished: %(problem)s"), problem=problem
            )
    now = timezone.now()
    completed = [spec.outcome == CaseStatus.COMPLETED for spec in specs]
    for spec, done in zip(specs, completed, strict=True):
        if done and spec.type in REFUND_TYPES:
            spec.order_item.refunded_amount_fen = spec.refund_goods_fen
    insert_all(Order, [spec.order for spec in specs])
    for spec in specs:
        spec.order_item.order = spec.order  # its id, now that the order has one
    insert_all(OrderItem, [spec.order_item for spec in specs])
    # As every writer of orders does: the reports' daily totals.
    count_new_orders([(spec.order, [spec.order_item]) for spec in specs])
    cases = [
        Case(
            shop_id=shop_id,
            order=spec.order,
            platform_case_id=spec.platform_case_id,
            type=spec.type,
            reason=spec.reason,
            buyer_statement=spec.buyer_statement,
            requested_amount_fen=spec.requested_amount_fen,
            order_snapshot=_new_order_snapshot(spec.order, spec.order_item),
            priority=Priority.NORMAL,
            status=spec.outcome,
            refund_status=RefundStatus.REFUNDED
            if done and spec.type in REFUND_TYPES
            else RefundStatus.NONE,
            return_status=ReturnStatus.INSPECTED
            if done and spec.type in RETURNING_TYPES
            else ReturnStatus.NOT_REQUIRED,
            applied_at=spec.applied_at,
            approved_at=now if done else None,
            final_approved_at=now if done and spec.type in RETURNING_TYPES else None,
            resolved_at=now,
            product_category=shared_category([spec.order_item]),
        )
        for spec, done in zip(specs, completed, strict=True)
    ]
    insert_all(Case, cases)
    insert_all(
        CaseItem,
        [
            CaseItem(case=case, order_item=spec.order_item, quantity=spec.order_item.quantity)
            for case, spec in zip(cases, specs, strict=True)
        ],
    )
    refunded = [
        (case, spec)
        for case, spec, done in zip(cases, specs, completed, strict=True)
        if done and spec.type in REFUND_TYPES
    ]
    decisions = [
        RefundDecision(
            shop_id=shop_id,
            case=case,
            order=spec.order,
            goods_amount_fen=spec.refund_goods_fen,
            shipping_amount_fen=0,
            return_postage_fen=0,
            is_partial=spec.refund_goods_fen < spec.order_item.paid_amount_fen,
            reason=spec.note,
            decided_by=by.label[:150],
            decided_at=now,
        )
        for case, spec in refunded
    ]
    insert_all(RefundDecision, decisions)
    insert_all(
        RefundLine,
        [
            RefundLine(
                decision=decision, order_item=spec.order_item, amount_fen=decision.goods_amount_fen
            )
            for decision, (_case, spec) in zip(decisions, refunded, strict=True)
        ],
    )
    executions = [
        RefundExecution(
            shop_id=shop_id,
            decision=decision,
            idempotency_key=f"refund-case-{case.pk}",
            amount_fen=decision.goods_amount_fen,
            status=ExecutionStatus.SUCCEEDED,
            attempts=0,
            created_at=now,
            executed_at=now,
        )
        for decision, (case, _spec) in zip(decisions, refunded, strict=True)
    ]
    insert_all(RefundExecution, executions)
    _import_finished_goods(shop_id, cases, specs, completed, by=by, at=now)
    executed = {execution.decision.case_id: execution for execution in executions}
    record_events(
        shop_id=shop_id,
        by=by,
        events=[
            NewEvent(
                type=CaseEvent.CASE_IMPORTED,
                case_id=case.pk,
                before={},
                after=case.axes(),
                payload={
                    "type": spec.type,
                    "reason": spec.reason,
                    "applied_at": spec.applied_at.isoformat(),
                    "requested_amount_fen": spec.requested_amount_fen,
                    "items": {str(spec.order_item.pk): spec.order_item.quantity},
                    "note": spec.note,
                    "refunded_fen": executed[case.pk].amount_fen if case.pk in executed else 0,
                    "return_parcel": list(spec.return_parcel) if spec.return_parcel else None,
                    "buyer_parcel": list(spec.buyer_parcel) if spec.buyer_parcel else None,
                },
            )
            for case, spec in zip(cases, specs, strict=True)
        ],
    )
    react_to_imported(ImportedCases(cases=cases, refunds=executions, by=by))
    return cases


def _import_finished_goods(
    shop_id: int,
    cases: list[Case],
    specs: Sequence[FinishedCase],
    completed: list[bool],
    *,
    by: Actor,
    at: datetime,
) -> None:
    """The parcels, inspections and quality checks of the completed cases (delivered)."""
    shipments: list[Shipment] = []
    inspections: list[Inspection] = []
    checks: list[QualityCheck] = []
    for case, spec, done in zip(cases, specs, completed, strict=True):
        if not done:
            continue
        if spec.return_parcel is not None:
            carrier, number = spec.return_parcel
            shipments.append(
                Shipment(
                    shop_id=shop_id,
                    order=spec.order,
                    case=case,
                    kind=ShipmentKind.RETURN,
                    carrier=carrier[:CARRIER_MAX_LENGTH],
                    tracking_number=number[:TRACKING_NUMBER_MAX_LENGTH],
                    status=ShipmentStatus.DELIVERED,
                    created_at=at,
                )
            )
        if spec.type in RETURNING_TYPES:
            inspections.append(
                Inspection(
                    case=case,
                    result=InspectionResult.PASS,
                    condition=ItemCondition.GOOD,
                    notes=spec.note,
                    inspected_by=by.label[:150],
                    inspected_at=at,
                )
            )
        if spec.type == CaseType.EXCHANGE:
            checks.append(
                QualityCheck(
                    case=case,
                    quality_ok=True,
                    packaging_intact=True,
                    notes=spec.note,
                    checked_by=by.label[:150],
                    checked_at=at,
                )
            )
        if spec.buyer_parcel is not None and spec.type in _BUYER_PARCEL_KIND:
            carrier, number = spec.buyer_parcel
            shipments.append(
                Shipment(
                    shop_id=shop_id,
                    order=spec.order,
                    case=case,
                    kind=_BUYER_PARCEL_KIND[spec.type],
                    carrier=carrier[:CARRIER_MAX_LENGTH],
                    tracking_number=number[:TRACKING_NUMBER_MAX_LENGTH],
                    status=ShipmentStatus.DELIVERED,
                    created_at=at,
                )
            )
    insert_all(Shipment, shipments)
    insert_all(
        ShipmentEvent, [ShipmentEvent(shipment=s, status=s.status, at=at) for s in shipments]
    )
    insert_all(Inspection, inspections)
    insert_all(QualityCheck, checks)


def _new_order_snapshot(order: Order, item: OrderItem) -> dict[str, Any]:
    """`_snapshot` of a new order of one item, without reading it back: as applied for, so
    before the refund the import books on it in memory."""
    snapshot = _snapshot(order, [item])
    snapshot["shipping_refunded_fen"] = 0
    snapshot["items"][0]["refunded_amount_fen"] = 0
    return snapshot
