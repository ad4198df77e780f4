"""Pull-side safety: incremental sync, reconciliation, backfill, and the sweep (R13.1).

Pushes can be lost (an outage longer than the platform's redelivery), so the product also
reads `afterSale/List` by update_time windows. The cursor moves only after a window was read
completely, and every run starts a little before the last window's end (the overlap), because
an after-sale updated in the same second as a window's end may be listed in either window.
Re-reading is harmless: `sync_aftersale` ignores a Detail older than the one it has and the
case services refuse what was already done.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from aftersales.audit.chain import record_event
from aftersales.audit.models import AuditEvent
from aftersales.cases.choices import TERMINAL_STATUSES, RefundStatus
from aftersales.cases.events import CaseEvent
from aftersales.cases.models import Case, RefundDecision
from aftersales.core.actors import Actor

from .choices import MessageStatus
from .client import DouyinClient, DouyinError
from .ingest import enqueue_processing, sync_aftersale
from .mapping import COMPATIBLE_STATUSES, PLATFORM_REFUND_FAILED, PLATFORM_REFUNDED, STATUS_LABELS
from .models import DouyinAftersale, DouyinShopLink, InboundMessage, SyncCursor
from .outbox import has_operations_in_flight, recover_stalled_operations

logger = logging.getLogger(__name__)

RECONCILER = Actor.system("douyin-reconcile")


@dataclass
class SyncReport:
    windows: int = 0
    items: int = 0
    errors: list[str] = field(default_factory=list)


def windows(start: int, end: int, size: int) -> Iterator[tuple[int, int]]:
    """[start, end] cut into windows of at most `size` seconds."""
    while start < end:
        stop = min(start + size, end)
        yield start, stop
        start = stop


def list_window(client: DouyinClient, start: int, end: int) -> Iterator[dict[str, Any]]:
    page = 0
    while True:
        data = client.call(
            "afterSale/List",
            {
                "page": page,
                "size": 100,
                "update_start_time": start,
                "update_end_time": end,
                "order_by": ["update_time asc"],
            },
        ).data
        yield from data.get("items") or []
        if not data.get("has_more"):
            return
        page += 1


def _read_window(
    link: DouyinShopLink, client: DouyinClient, start: int, end: int, report: SyncReport
) -> None:
    for item in list_window(client, start, end):
        aftersale_id = str(item["process_info"]["after_sale_info"]["after_sale_id"])
        try:
            sync_aftersale(link, aftersale_id, detail=item, client=client)
            report.items += 1
        except Exception as exc:  # one bad after-sale must not stop the shop's sync
            logger.exception("douyin sync of after-sale %s failed", aftersale_id)
            report.errors.append(f"{aftersale_id}: {type(exc).__name__}: {exc}")
    report.windows += 1


def sync_shop(link: DouyinShopLink, *, now: datetime | None = None) -> SyncReport:
    """Read what changed since the cursor (minus the overlap) and apply it."""
    overlap = settings.DOUYIN_SYNC_OVERLAP_SECONDS
    size = settings.DOUYIN_SYNC_WINDOW_SECONDS
    lookback = settings.DOUYIN_SYNC_INITIAL_LOOKBACK_SECONDS
    cursor, _ = SyncCursor.objects.get_or_create(link=link)
    end = int((now or timezone.now()).timestamp())
    start = cursor.last_window_end - overlap if cursor.last_window_end else end - lookback
    client = DouyinClient(link)
    report = SyncReport()
    for window_start, window_end in windows(start, end, size):
        # A List call that fails stops the run here: the cursor stays before this window.
        _read_window(link, client, window_start, window_end, report)
        SyncCursor.objects.filter(pk=cursor.pk).update(
            last_window_end=window_end, last_run_at=timezone.now(), last_run_items=report.items
        )
    return report


def sync_all_shops() -> int:
    synced = 0
    for link in DouyinShopLink.objects.filter(is_active=True):
        try:
            sync_shop(link)
            synced += 1
        except DouyinError as exc:
            logger.warning("douyin sync of %s stopped: %s", link, exc)
    return synced


def backfill_shop(link: DouyinShopLink, *, since: datetime, until: datetime) -> SyncReport:
    """Read a past period (by update time) without touching the cursor."""
    size = settings.DOUYIN_SYNC_WINDOW_SECONDS
    client = DouyinClient(link)
    report = SyncReport()
    for start, end in windows(int(since.timestamp()), int(until.timestamp()), size):
        _read_window(link, client, start, end, report)
    return report


# --- Reconciliation --------------------------------------------------------------------------


@dataclass
class ReconcileReport:
    checked: int = 0
    repaired: int = 0
    drifted: int = 0
    errors: list[str] = field(default_factory=list)


def reconcile_shop(link: DouyinShopLink, *, now: datetime | None = None) -> ReconcileReport:
    """Compare every open case (and those closed recently) with the platform.

    Each is re-read and re-applied (`sync_aftersale`): a case that was behind is repaired.
    What still disagrees afterwards, with no operation of ours on its way, is drift: it is
    recorded as `platform_drift_detected` on the case (once per distinct disagreement) for
    a person to look at.
    """
    now = now or timezone.now()
    recent = now - timedelta(days=settings.DOUYIN_RECONCILE_RECENT_DAYS)
    cases = Case.objects.filter(shop_id=link.shop_id, platform_case_id__isnull=False).exclude(
        status__in=TERMINAL_STATUSES, updated_at__lt=recent
    )
    client = DouyinClient(link)
    report = ReconcileReport()
    for case in cases.order_by("pk").iterator():
        report.checked += 1
        before = case.axes()
        try:
            case = sync_aftersale(link, case.platform_case_id or "", client=client) or case
        except Exception as exc:
            logger.warning("douyin reconcile of case %s failed: %s", case.pk, exc)
            report.errors.append(f"case {case.pk}: {type(exc).__name__}: {exc}")
            continue
        if case.axes() != before:
            report.repaired += 1
        problems = drift_of(case)
        if problems and flag_drift(case, problems):
            report.drifted += 1
    return report


def drift_of(case: Case) -> list[str]:
    """How the case disagrees with the platform's last Detail (empty if it agrees)."""
    record = DouyinAftersale.objects.filter(case=case).first()
    if record is None or has_operations_in_flight(case):
        return []
    problems = []
    status = record.platform_status
    if case.status not in COMPATIBLE_STATUSES.get(status, frozenset()):
        problems.append(
            f"status: local {case.status}, platform {status} {STATUS_LABELS.get(status, '')}"
        )
    if (
        record.refund_status == PLATFORM_REFUND_FAILED
        and case.refund_status == RefundStatus.REFUNDED
    ):
        problems.append("refund: the platform reports the refund failed (退款失败)")
    if record.refund_status == PLATFORM_REFUNDED and case.refund_status != RefundStatus.REFUNDED:
        problems.append(f"refund: platform refunded, local {case.refund_status}")
    decision = RefundDecision.objects.filter(case=case).first()
    platform_amount = int(
        record.detail.get("process_info", {}).get("after_sale_info", {}).get("refund_amount") or 0
    )
    if (
        decision is not None
        and platform_amount
        and record.refund_status in (2, 3)
        and decision.order_refund_fen != platform_amount
    ):
        # The platform refunds the order (goods and shipping); a return postage refund is
        # the merchant's own line beside it (docs/policy.md).
        problems.append(
            f"amount: local decision {decision.order_refund_fen} fen, "
            f"platform {platform_amount} fen"
        )
    return problems


@transaction.atomic
def flag_drift(case: Case, problems: list[str]) -> bool:
    """Record the drift on the case's audit trail, unless the same drift is already there."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    last = (
        AuditEvent.objects.filter(case_id=case.pk, type=CaseEvent.PLATFORM_DRIFT_DETECTED)
        .order_by("-seq")
        .first()
    )
    if last is not None and last.payload.get("problems") == problems:
        return False
    record_event(
        shop_id=case.shop_id,
        case_id=case.pk,
        type=CaseEvent.PLATFORM_DRIFT_DETECTED,
        by=RECONCILER,
        payload={"problems": problems},
    )
    logger.warning("douyin drift on case %s: %s", case.pk, "; ".join(problems))
    return True


# --- The sweep -------------------------------------------------------------------------------


def run_safety_net(now: datetime | None = None) -> int:
    """Re-queue what a lost task or a dead worker left behind, inbound and outbound."""
    now = now or timezone.now()
    recovered, queued = recover_stalled_operations(now)
    lease = timedelta(seconds=settings.DOUYIN_INBOUND_LEASE_SECONDS)
    InboundMessage.objects.filter(
        status=MessageStatus.PROCESSING, claimed_at__lt=now - lease
    ).update(status=MessageStatus.RECEIVED)
    max_attempts = settings.DOUYIN_INBOUND_MAX_ATTEMPTS
    stale = list(
        InboundMessage.objects.filter(
            status=MessageStatus.RECEIVED, received_at__lt=now - timedelta(minutes=2)
        ).values_list("pk", flat=True)
    ) + list(
        InboundMessage.objects.filter(
            status=MessageStatus.FAILED,
            attempts__lt=max_attempts,
            claimed_at__lt=now - timedelta(minutes=1),
        ).values_list("pk", flat=True)
    )
    for pk in stale:
        enqueue_processing(pk)
    return recovered + queued + len(stale)
