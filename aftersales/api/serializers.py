"""Turning cases into API responses. Personal data leaves masked (R6.5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils import timezone

from aftersales.audit.models import AuditEvent
from aftersales.cases.choices import CaseStatus, CaseType
from aftersales.cases.models import Case, RefundExecution
from aftersales.cases.reasons import REASONS
from aftersales.cases.services import refundable_lines
from aftersales.core.money import fen_to_yuan
from aftersales.orders.carriers import carrier_name
from aftersales.policy.services import latest_decision
from aftersales.sla.models import SlaClock
from aftersales.sla.services import is_at_risk, time_left


def _label(labels: dict[str, Any], code: str) -> str:
    """The translated label of one code. `get_FOO_display()` rebuilds and translates the
    field's whole choice list on every call, most of a list page's time (docs/benchmarks.md)."""
    label = labels.get(code)
    return str(label) if label is not None else code


_TYPE_LABELS = {t.value: t.label for t in CaseType}
_STATUS_LABELS = {s.value: s.label for s in CaseStatus}
_REASON_LABELS = {code: r.label for code, r in REASONS.items()}


def case_summary(case: Case) -> dict[str, Any]:
    buyer = case.order.buyer
    return {
        "id": case.pk,
        "shop_id": case.shop_id,
        "platform_case_id": case.platform_case_id,
        "order_id": case.order.platform_order_id,
        "type": case.type,
        "type_label": _label(_TYPE_LABELS, case.type),
        "reason": case.reason,
        "reason_label": _label(_REASON_LABELS, case.reason),
        "status": case.status,
        "status_label": _label(_STATUS_LABELS, case.status),
        "refund_status": case.refund_status,
        "return_status": case.return_status,
        "dispute_status": case.dispute_status,
        "priority": case.priority,
        "assignee_id": case.assignee_id,
        "requested_amount_fen": case.requested_amount_fen,
        "requested_amount": fen_to_yuan(case.requested_amount_fen),
        "buyer": {
            "platform_buyer_id": buyer.platform_buyer_id,
            "nickname": buyer.nickname,
            "phone": buyer.masked_phone,
            "vip_level": buyer.vip_level,
        },
        "applied_at": case.applied_at,
        "updated_at": case.updated_at,
    }


def case_detail(case: Case) -> dict[str, Any]:
    order = case.order
    lines = refundable_lines(case)
    data = case_summary(case)
    now = timezone.now()
    data.update(
        {
            "buyer_statement": case.buyer_statement,
            "evidence_request_note": case.evidence_request_note,
            "reject_reason": case.reject_reason,
            "reject_note": case.reject_note,
            "close_note": case.close_note,
            "order": {
                "platform_order_id": order.platform_order_id,
                "status": order.status,
                "paid_at": order.paid_at,
                "shipped_at": order.shipped_at,
                "delivered_at": order.delivered_at,
                "shipping_fee_paid_fen": order.shipping_fee_paid_fen,
                "shipping_refunded_fen": order.shipping_refunded_fen,
                "has_shipping_insurance": order.has_shipping_insurance,
                "receiver": order.masked_receiver,
            },
            "items": [
                {
                    "order_item_id": line.case_item.order_item_id,
                    "product_name": line.case_item.order_item.sku.product.name,
                    "category": line.case_item.order_item.sku.product.category,
                    "spec": line.case_item.order_item.sku.spec,
                    "quantity": line.case_item.quantity,
                    "ordered_quantity": line.case_item.order_item.quantity,
                    "list_price_fen": line.case_item.order_item.list_price_fen,
                    "paid_amount_fen": line.case_item.order_item.paid_amount_fen,
                    "paid_amount": fen_to_yuan(line.case_item.order_item.paid_amount_fen),
                    "paid_for_quantity_fen": line.paid_for_units_fen,
                    "refunded_amount_fen": line.case_item.order_item.refunded_amount_fen,
                    "refundable_fen": line.refundable_fen,
                }
                for line in lines
            ],
            "refundable_goods_fen": sum(line.refundable_fen for line in lines),
            "refund": _refund(case),
            "events": [
                {
                    "seq": e.seq,
                    "type": e.type,
                    "actor": e.actor_label,
                    "before": e.before,
                    "after": e.after,
                    "payload": e.payload,
                    "created_at": e.created_at,
                }
                for e in AuditEvent.objects.filter(case=case).order_by("seq")
            ],
            "evidence": [
                {
                    "id": e.pk,
                    "source": e.source,
                    "kind": e.kind,
                    "content_type": e.content_type,
                    "size_bytes": e.size_bytes,
                    "sha256": e.sha256,
                    "note": e.note,
                    "uploaded_by": e.uploaded_by,
                    "uploaded_at": e.uploaded_at,
                    "url": reverse("api-v1:evidence_file", args=[case.pk, e.pk]),
                }
                for e in case.evidence.order_by("pk")
            ],
            "inspections": list(
                case.inspections.order_by("pk").values(
                    "id", "result", "condition", "notes", "inspected_by", "inspected_at"
                )
            ),
            "quality_checks": [
                {
                    "id": q.pk,
                    "quality_ok": q.quality_ok,
                    "packaging_intact": q.packaging_intact,
                    "passed": q.passed,
                    "notes": q.notes,
                    "checked_at": q.checked_at,
                }
                for q in case.quality_checks.order_by("pk")
            ],
            "costs": list(
                case.costs.order_by("pk").values(
                    "id", "kind", "amount_fen", "payer", "note", "recorded_by", "recorded_at"
                )
            ),
            "policy_decision": _latest_decision(case),
            "clocks": [clock_out(c, now) for c in case.clocks.order_by("started_at", "pk")],
            "shipments": [
                {**shipment, "carrier_name": carrier_name(shipment["carrier"])}
                for shipment in case.shipments.order_by("pk").values(
                    "id", "kind", "carrier", "tracking_number", "status", "created_at"
                )
            ],
        }
    )
    return data


def _refund(case: Case) -> dict[str, Any] | None:
    execution = (
        RefundExecution.objects.select_related("decision").filter(decision__case=case).first()
    )
    if execution is None:
        return None
    decision = execution.decision
    return {
        "goods_amount_fen": decision.goods_amount_fen,
        "shipping_amount_fen": decision.shipping_amount_fen,
        "return_postage_fen": decision.return_postage_fen,
        "total_fen": decision.total_fen,
        "total": fen_to_yuan(decision.total_fen),
        "is_partial": decision.is_partial,
        "reason": decision.reason,
        "decided_by": decision.decided_by,
        "decided_at": decision.decided_at,
        "execution_status": execution.status,
        "attempts": execution.attempts,
        "last_error": execution.last_error,
        "external_reference": execution.external_reference,
    }


def clock_out(clock: SlaClock, now: datetime) -> dict[str, Any]:
    left = time_left(clock, now)
    return {
        "id": clock.pk,
        "kind": clock.kind,
        "label": str(clock.get_kind_display()),
        "state": clock.state,
        "started_at": clock.started_at,
        "due_at": clock.due_at,
        "seconds_left": None if left is None else int(left.total_seconds()),
        "at_risk": is_at_risk(clock, now),
        "breached": clock.breached_at is not None,
        "is_buyer_clock": clock.is_buyer_clock,
        "policy_version": clock.policy_version,
    }


def decision_out(stored: Any) -> dict[str, Any]:
    return {
        "policy_version": stored.policy_version,
        "recommendation": stored.recommendation,
        "complexity": stored.complexity,
        "auto_approve": stored.auto_approve,
        "decided_at": stored.decided_at,
        "detail": stored.payload,
    }


def _latest_decision(case: Case) -> dict[str, Any] | None:
    stored = latest_decision(case)
    return None if stored is None else decision_out(stored)
