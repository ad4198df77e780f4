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
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.audit.chain import record_event
from aftersales.audit.models import AuditEvent
from aftersales.cases.choices import TERMINAL_STATUSES, CaseStatus, RefundStatus
from aftersales.cases.events import CaseEvent
from aftersales.cases.models import Case, RefundDecision
from aftersales.core.actors import Actor
from aftersales.core.money import fen_to_yuan

from .choices import MessageStatus, OperationKind, OperationStatus
from .client import DouyinClient, DouyinError
from .ingest import enqueue_processing, sync_aftersale
from .mapping import (
    COMPATIBLE_STATUSES,
    PLATFORM_REFUND_FAILED,
    PLATFORM_REFUNDED,
    STATUS_LABELS,
    PlatformStatus,
)
from .models import (
    DouyinAftersale,
    DouyinShopLink,
    InboundMessage,
    OutboxOperation,
    SyncCursor,
)
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


@dataclass(frozen=True)
class Disagreement:
    """One way a case differs from the platform. `text` is for the audit trail and the log
    (reconciliation compares it with the last one recorded); `words()` is for a person, in
    the UI's language."""

    kind: str  # status | refund_failed | refunded | amount
    text: str
    ours: str = ""
    theirs: str = ""

    def words(self) -> str:
        if self.kind == "status":
            ours = dict(CaseStatus.choices).get(self.ours, self.ours)
            return _("This case: %(ours)s · on the platform: %(theirs)s") % {
                "ours": ours,
                "theirs": self.theirs,
            }
        if self.kind == "refund_failed":
            return str(_("The platform reports the refund failed; here it is refunded."))
        if self.kind == "refunded":
            ours = dict(RefundStatus.choices).get(self.ours, self.ours)
            return _("The platform refunded; here the refund is: %(ours)s") % {"ours": ours}
        return _("Refund decided here: %(ours)s yuan; on the platform: %(theirs)s yuan") % {
            "ours": self.ours,
            "theirs": self.theirs,
        }


def drift_of(case: Case, record: DouyinAftersale | None = None) -> list[str]:
    """How the case disagrees with the platform's last Detail (empty if it agrees), as the
    audit trail records it; the case's `record` when the caller has read it already."""
    return [d.text for d in disagreements_of(case, record)]


def disagreements_of(case: Case, record: DouyinAftersale | None = None) -> list[Disagreement]:
    record = record or DouyinAftersale.objects.filter(case=case).first()
    if record is None or has_operations_in_flight(case) or _detail_is_older(case, record):
        return []
    decision = RefundDecision.objects.filter(case=case).first()
    platform_amount = record.detail.get("process_info", {}).get("after_sale_info", {})
    return disagreements(
        status=case.status,
        refund_status=case.refund_status,
        platform_status=record.platform_status,
        platform_refund_status=record.refund_status,
        # The platform refunds the order (goods and shipping); a return postage refund is the
        # merchant's own line beside it (docs/policy.md).
        decided_fen=decision.order_refund_fen if decision is not None else None,
        platform_amount_fen=int(platform_amount.get("refund_amount") or 0),
    )


def _detail_is_older(case: Case, record: DouyinAftersale) -> bool:
    """A decision of ours reached the platform after its Detail was last read: our copy of
    the platform's state is older than the platform, so it proves no drift."""
    return (
        OutboxOperation.objects.filter(
            case=case, status=OperationStatus.SYNCED, synced_at__gt=record.synced_at
        )
        .exclude(kind=OperationKind.NOTIFY_BUYER)
        .exists()
    )


def disagreements(
    *,
    status: str,
    refund_status: str,
    platform_status: int,
    platform_refund_status: int | None,
    decided_fen: int | None,
    platform_amount_fen: int,
) -> list[Disagreement]:
    """The ways a case (its status, refund and decided amount) differs from the platform's."""
    found = []
    # A refund approved here whose amount is not decided yet: the platform's agreement to a
    # refund-only after-sale is the refund itself (operate 201/401), sent with the decision,
    # so until then the platform rightly still waits for the merchant (issue 15, the soak).
    refund_not_decided = (
        status == CaseStatus.AWAITING_REFUND
        and decided_fen is None
        and platform_status == PlatformStatus.AWAITING_MERCHANT
    )
    if status not in COMPATIBLE_STATUSES.get(platform_status, frozenset()) and not (
        refund_not_decided
    ):
        label = STATUS_LABELS.get(platform_status, str(platform_status))
        found.append(
            Disagreement(
                "status",
                f"status: local {status}, platform {platform_status} "
                f"{STATUS_LABELS.get(platform_status, '')}",
                ours=status,
                theirs=label,
            )
        )
    if platform_refund_status == PLATFORM_REFUND_FAILED and refund_status == RefundStatus.REFUNDED:
        found.append(
            Disagreement(
                "refund_failed", "refund: the platform reports the refund failed (退款失败)"
            )
        )
    if platform_refund_status == PLATFORM_REFUNDED and refund_status != RefundStatus.REFUNDED:
        found.append(
            Disagreement(
                "refunded", f"refund: platform refunded, local {refund_status}", ours=refund_status
            )
        )
    if (
        decided_fen is not None
        and platform_amount_fen
        and platform_refund_status in (2, 3)
        and decided_fen != platform_amount_fen
    ):
        found.append(
            Disagreement(
                "amount",
                f"amount: local decision {decided_fen} fen, platform {platform_amount_fen} fen",
                ours=fen_to_yuan(decided_fen),
                theirs=fen_to_yuan(platform_amount_fen),
            )
        )
    return found


def cases_out_of_sync(shop_id: int, *, now: datetime | None = None) -> set[int]:
    """The shop's cases whose platform state differs from ours, in a few queries: those with
    a decision of ours the platform refused (a failed operation other than a message), and
    those that disagree with the platform's last Detail with nothing of ours on its way — the
    cases reconciliation watches (open, or changed within DOUYIN_RECONCILE_RECENT_DAYS)."""
    now = now or timezone.now()
    recent = now - timedelta(days=settings.DOUYIN_RECONCILE_RECENT_DAYS)
    decisions = OutboxOperation.objects.filter(shop_id=shop_id).exclude(
        kind=OperationKind.NOTIFY_BUYER
    )
    refused = set(decisions.filter(status=OperationStatus.FAILED).values_list("case_id", flat=True))
    in_flight = set(
        decisions.filter(status__in=(OperationStatus.PENDING, OperationStatus.SENDING)).values_list(
            "case_id", flat=True
        )
    )
    last_synced: dict[int, datetime] = dict(
        decisions.filter(status=OperationStatus.SYNCED, synced_at__isnull=False)
        .values("case_id")
        .annotate(last=Max("synced_at"))
        .values_list("case_id", "last")
    )
    rows = (
        DouyinAftersale.objects.filter(link__shop_id=shop_id, case__isnull=False)
        .exclude(case__status__in=TERMINAL_STATUSES, case__updated_at__lt=recent)
        .values_list(
            "case_id",
            "case__status",
            "case__refund_status",
            "platform_status",
            "refund_status",
            "synced_at",
            "detail__process_info__after_sale_info__refund_amount",
        )
    )
    watched = list(rows)
    decided = {
        case_id: goods + shipping
        for case_id, goods, shipping in RefundDecision.objects.filter(
            case_id__in=[row[0] for row in watched]
        ).values_list("case_id", "goods_amount_fen", "shipping_amount_fen")
    }
    drifted = set()
    for case_id, status, refund, platform, platform_refund, read_at, amount in watched:
        if case_id in in_flight or last_synced.get(case_id, read_at) > read_at:
            continue
        if disagreements(
            status=status,
            refund_status=refund,
            platform_status=platform,
            platform_refund_status=platform_refund,
            decided_fen=decided.get(case_id),
            platform_amount_fen=int(amount or 0),
        ):
            drifted.add(case_id)
    return refused | drifted


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
    waiting = list(
        InboundMessage.objects.filter(
            status=MessageStatus.RECEIVED, received_at__lt=now - timedelta(minutes=2)
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    failed = list(
        InboundMessage.objects.filter(
            status=MessageStatus.FAILED,
            attempts__lt=max_attempts,
            claimed_at__lt=now - timedelta(minutes=1),
        ).values_list("pk", flat=True)
    )
    # A task applies its message and the others waiting, oldest first, a batch at a time: one
    # task per batch of waiting messages covers them all. One per message would, behind a
    # backlog, queue the whole backlog again on every pass (a soak at 1 after-sale/s on a
    # loaded machine had 36,000 task rows waiting). A failed message is taken only by its own.
    for pk in waiting[:: settings.DOUYIN_INBOUND_BATCH] + failed:
        enqueue_processing(pk)
    return recovered + queued + len(waiting) + len(failed)
