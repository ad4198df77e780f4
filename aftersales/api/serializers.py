"""Turning cases into API responses. Personal data leaves masked (R6.5)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from django.urls import reverse
from django.utils import timezone, translation

from aftersales.audit.models import AuditEvent
from aftersales.cases.choices import CaseStatus, CaseType
from aftersales.cases.models import Case, RefundExecution
from aftersales.cases.reasons import REASONS
from aftersales.cases.services import refundable_lines
from aftersales.core.money import fen_to_yuan
from aftersales.core.privacy import mask_phone
from aftersales.orders.carriers import carrier_name
from aftersales.policy.services import latest_decision
from aftersales.sla.models import SlaClock
from aftersales.sla.services import is_at_risk, time_left

# A case summary's columns: the list reads them as rows (`values()`, no model objects: most
# of a list's time went into building three per case, issue 16); `case_summary` reads them
# from a case object, following each `__`.
SUMMARY_COLUMNS = (
    "id",
    "shop_id",
    "platform_case_id",
    "type",
    "reason",
    "status",
    "refund_status",
    "return_status",
    "dispute_status",
    "priority",
    "assignee_id",
    "requested_amount_fen",
    "applied_at",
    "updated_at",
    "order__platform_order_id",
    "order__buyer__platform_buyer_id",
    "order__buyer__nickname",
    "order__buyer__phone",
    "order__buyer__vip_level",
)


@cache
def summary_labels(language: str | None) -> dict[str, dict[str, str]]:
    """The type, reason and status labels in one language, translated once per process
    (`get_FOO_display()` and lazy labels translate again on every call, per row)."""
    with translation.override(language):
        return {
            "type": {t.value: str(t.label) for t in CaseType},
            "reason": {code: str(r.label) for code, r in REASONS.items()},
            "status": {s.value: str(s.label) for s in CaseStatus},
        }


def summary_of_row(row: Mapping[str, Any], labels: dict[str, dict[str, str]]) -> dict[str, Any]:
    """A case summary from the columns of `SUMMARY_COLUMNS`; the phone leaves masked."""
    return {
        "id": row["id"],
        "shop_id": row["shop_id"],
        "platform_case_id": row["platform_case_id"],
        "order_id": row["order__platform_order_id"],
        "type": row["type"],
        "type_label": labels["type"].get(row["type"], row["type"]),
        "reason": row["reason"],
        "reason_label": labels["reason"].get(row["reason"], row["reason"]),
        "status": row["status"],
        "status_label": labels["status"].get(row["status"], row["status"]),
        "refund_status": row["refund_status"],
        "return_status": row["return_status"],
        "dispute_status": row["dispute_status"],
        "priority": row["priority"],
        "assignee_id": row["assignee_id"],
        "requested_amount_fen": row["requested_amount_fen"],
        "requested_amount": fen_to_yuan(row["requested_amount_fen"]),
        "buyer": {
            "platform_buyer_id": row["order__buyer__platform_buyer_id"],
            "nickname": row["order__buyer__nickname"],
            "phone": mask_phone(row["order__buyer__phone"]),
            "vip_level": row["order__buyer__vip_level"],
        },
        "applied_at": row["applied_at"],
        "updated_at": row["updated_at"],
    }


def case_summary(case: Case) -> dict[str, Any]:
    row = {}
    for column in SUMMARY_COLUMNS:
        value: Any = case
        for name in column.split("__"):
            value = getattr(value, name)
        row[column] = value
    return summary_of_row(row, summary_labels(translation.get_language()))


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
