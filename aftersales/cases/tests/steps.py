"""Shared steps for the case-core tests: uploads of small real PNG files, and walking a case
to a status through the services (never by saving a status directly)."""

from __future__ import annotations

import io
from collections.abc import Callable

from aftersales import testing
from aftersales.audit.models import AuditEvent
from aftersales.cases import services
from aftersales.cases.choices import CaseStatus as S
from aftersales.cases.choices import CaseType as T
from aftersales.cases.models import Case
from aftersales.core.actors import Actor
from aftersales.orders.choices import OrderStatus
from aftersales.shops.models import Shop

SYSTEM = testing.SYSTEM


def png_upload(name: str = "photo.png", **kwargs) -> services.Upload:
    return services.Upload(stream=io.BytesIO(testing.png_bytes(**kwargs)), name=name)


def attach_photo(case: Case, *, by: Actor = SYSTEM, source: str = "merchant"):
    return services.attach_evidence(case=case, upload=png_upload(), source=source, by=by)


# Which order state each case type is opened on in these tests.
ORDER_STATUS_FOR_TYPE = {
    T.REFUND_UNSHIPPED: OrderStatus.UNSHIPPED,
    T.REFUND_SHIPPED: OrderStatus.SHIPPED,
    T.RETURN_REFUND: OrderStatus.DELIVERED,
    T.EXCHANGE: OrderStatus.DELIVERED,
    T.RESEND: OrderStatus.DELIVERED,
    T.REPAIR: OrderStatus.DELIVERED,
}

Step = Callable[[Case, Actor], object]


def approve(case: Case, by: Actor) -> object:
    return services.approve_case(case=case, by=by)


def request_evidence(case: Case, by: Actor) -> object:
    return services.request_evidence(case=case, note="请上传商品破损处的照片", by=by)


def reject(case: Case, by: Actor) -> object:
    if case.status == S.PENDING_FINAL_REVIEW:  # the second review: the goods are back
        photo = attach_photo(case, by=by)
        return services.reject_case(
            case=case,
            reason_code="returned_damaged",
            note="退回商品已损坏",
            by=by,
            evidence_ids=[photo.pk],
        )
    return services.reject_case(case=case, reason_code="no_evidence", note="未提供凭证", by=by)


def withdraw(case: Case, by: Actor) -> object:
    return services.withdraw_case(case=case, by=by)


def ship_return(case: Case, by: Actor) -> object:
    return services.record_return_shipment(
        case=case, carrier="SF", tracking_number=f"SF{case.pk:06d}", by=by
    )


def receive(case: Case, by: Actor) -> object:
    return services.receive_return(case=case, by=by)


def inspect_pass(case: Case, by: Actor) -> object:
    return services.inspect_return(case=case, result="pass", condition="good", by=by)


def approve_final(case: Case, by: Actor) -> object:
    return services.approve_after_inspection(case=case, by=by)


def quality_ok(case: Case, by: Actor) -> object:
    return services.record_quality_check(case=case, quality_ok=True, packaging_intact=True, by=by)


def ship_replacement(case: Case, by: Actor) -> object:
    return services.ship_replacement(
        case=case, carrier="YTO", tracking_number=f"YT{case.pk:06d}", by=by
    )


def resend(case: Case, by: Actor) -> object:
    return services.resend_items(case=case, carrier="ZTO", tracking_number=f"ZT{case.pk}", by=by)


def return_repaired(case: Case, by: Actor) -> object:
    return services.return_repaired(
        case=case,
        carrier="JD",
        tracking_number=f"JD{case.pk:06d}",
        repair_notes="更换主板",
        by=by,
    )


def ship_to_buyer(case: Case, by: Actor) -> object:
    case.refresh_from_db()
    if case.type == T.EXCHANGE:
        quality_ok(case, by)
        return ship_replacement(case, by)
    if case.type == T.RESEND:
        return resend(case, by)
    return return_repaired(case, by)


def confirm(case: Case, by: Actor) -> object:
    return services.confirm_buyer_receipt(case=case, by=by)


def convert(case: Case, by: Actor) -> object:
    return services.convert_to_refund(case=case, note="换货商品缺货,改为退款", by=by)


def refund_and_execute(case: Case, by: Actor) -> object:
    """Decide the refund and run its execution as the worker would."""
    decision = services.refund_case(case=case, by=by)
    return services.execute_refund(execution=decision.execution, by=Actor.system("refund-worker"))


_BACK = [approve, ship_return, receive, inspect_pass]  # goods come back and pass inspection


def path_to(case_type: str, status: str) -> list[Step]:
    """The service calls that take a fresh case of `case_type` to `status`."""
    returning = case_type in {T.RETURN_REFUND, T.EXCHANGE, T.REPAIR}
    refund_only = case_type in {T.REFUND_UNSHIPPED, T.REFUND_SHIPPED}
    to_shipment = [*_BACK, approve_final] if returning else [approve]
    if case_type == T.RETURN_REFUND:
        to_refund = [*_BACK, approve_final]
    elif case_type == T.EXCHANGE:
        to_refund = [*to_shipment, convert]
    else:
        to_refund = [approve]
    paths: dict[str, list[Step]] = {
        S.PENDING_REVIEW: [],
        S.AWAITING_EVIDENCE: [request_evidence],
        S.REJECTED: [reject],
        S.CLOSED: [withdraw],
    }
    if returning:
        paths[S.AWAITING_RETURN] = [approve]
        paths[S.AWAITING_INSPECTION] = [approve, ship_return, receive]
        paths[S.PENDING_FINAL_REVIEW] = list(_BACK)
    if case_type in {T.EXCHANGE, T.RESEND, T.REPAIR}:
        paths[S.AWAITING_SHIPMENT] = to_shipment
        paths[S.AWAITING_BUYER_RECEIPT] = [*to_shipment, ship_to_buyer]
        paths[S.COMPLETED] = [*to_shipment, ship_to_buyer, confirm]
    if case_type == T.EXCHANGE or case_type == T.RETURN_REFUND or refund_only:
        paths[S.AWAITING_REFUND] = to_refund
    if case_type == T.RETURN_REFUND or refund_only:
        paths[S.COMPLETED] = [*to_refund, refund_and_execute]
    return paths[status]


def reachable_statuses(case_type: str) -> list[str]:
    result = []
    for status in S.values:
        try:
            path_to(case_type, status)
        except KeyError:
            continue
        result.append(status)
    return result


DEFAULT_LINES = (testing.Line(),)


def new_case(
    shop: Shop,
    case_type: str = T.EXCHANGE,
    *,
    lines=DEFAULT_LINES,
    reason: str = "quality_issue",
    **kwargs,
) -> Case:
    order = testing.make_order(shop, status=ORDER_STATUS_FOR_TYPE[case_type], lines=lines)
    return testing.make_case(order, type=case_type, reason=reason, **kwargs)


def case_in(
    shop: Shop, status: str, case_type: str = T.EXCHANGE, *, by: Actor = SYSTEM, **kwargs
) -> Case:
    """A case of `case_type` brought to `status` through the services."""
    case = new_case(shop, case_type, **kwargs)
    for step in path_to(case_type, status):
        step(case, by)
    case.refresh_from_db()
    assert case.status == status, (case_type, status, case.status)
    return case


def events_of(case: Case) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(case=case).order_by("seq"))


def last_event(case: Case) -> AuditEvent:
    return AuditEvent.objects.filter(case=case).order_by("-seq").first()
