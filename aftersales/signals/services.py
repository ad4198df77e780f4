"""Abuse signals: measure the rules, keep the hits with their evidence, review them.

A signal is information for a person: nothing here changes a case, refuses a refund or tells
the buyer anything. The reaction `on_case_event` measures what an event makes measurable:

| event                     | rules                                                         |
|---------------------------|---------------------------------------------------------------|
| `case_opened`             | refund-only buyer, high after-sales rate, refund after interception |
| `return_shipped`          | shared return tracking number                                 |
| `return_received`         | return tracking number of another route                       |
| `return_inspected`        | inspection mismatch                                           |
| `buyer_evidence_recorded` | reused image (hashed after commit: files are read then)       |

and `scan` (the `scan_signals` command) finds return tracking numbers that never moved or
whose scans (`ShipmentEvent.place`) start outside the buyer's city or end outside the city of
the shop's return address, and hashes photos attached another way. The merchant's shops are
the shop and every shop that shares a shop admin with it; the same buyer is the same platform
buyer id or phone there.

Reviews (`review_signal`, supervisors and shop admins): confirm or dismiss, once; each rule's
precision is its confirmed hits over its reviewed ones (`precision_by_rule`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import CharField, Count, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.audit.chain import record_event
from aftersales.audit.models import AuditEvent
from aftersales.cases.choices import TERMINAL_STATUSES, CaseType, EvidenceKind, EvidenceSource
from aftersales.cases.events import CaseEvent
from aftersales.cases.models import Case, Evidence, Inspection
from aftersales.cases.ports import CaseChange
from aftersales.core.actors import Actor
from aftersales.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from aftersales.core.limits import REASON_MAX_LENGTH, check_length
from aftersales.orders.choices import ShipmentKind, ShipmentStatus
from aftersales.orders.models import Buyer, Order, Shipment, ShipmentEvent
from aftersales.shops.choices import Role
from aftersales.shops.models import Membership, Shop

from . import hashing, places
from .models import EvidenceHash, RuleCode, Signal, SignalRule, SignalStatus
from .rules import RULES, WEIGHT_WORDS

logger = logging.getLogger(__name__)

REVIEW_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
RULE_ROLES = frozenset({Role.ADMIN})
REFUND_ONLY = (CaseType.REFUND_UNSHIPPED, CaseType.REFUND_SHIPPED)
MIN_ORDERS_FOR_RATE = 4
MAX_EVIDENCE_CASES = 20  # the other cases an evidence lists
MAX_HASHES_COMPARED = 5000
MAX_THRESHOLD = 10_000
MAX_WINDOW_DAYS = 3 * 366

REVIEW_TRANSITIONS: dict[tuple[str, str], str] = {
    (SignalStatus.OPEN, "confirm"): SignalStatus.CONFIRMED,
    (SignalStatus.OPEN, "dismiss"): SignalStatus.DISMISSED,
}


# --- Rules of a shop --------------------------------------------------------------------------


def rules_for(shop_id: int) -> dict[str, SignalRule]:
    """The shop's rules, the defaults written the first time."""
    rows = {r.code: r for r in SignalRule.objects.filter(shop_id=shop_id)}
    for code, rule in RULES.items():
        if code not in rows:
            try:
                with transaction.atomic():
                    rows[code] = SignalRule.objects.create(
                        shop_id=shop_id,
                        code=code,
                        threshold=rule.threshold,
                        window_days=rule.window_days,
                    )
            except IntegrityError:
                rows[code] = SignalRule.objects.get(shop_id=shop_id, code=code)
    return rows


def _rule(shop_id: int, code: str, rules: dict[str, SignalRule] | None = None) -> SignalRule | None:
    rule = (rules or rules_for(shop_id))[code]
    return rule if rule.active else None


@transaction.atomic
def update_rule(
    *, shop: Shop, code: str, threshold: int, window_days: int, active: bool, by: Actor
) -> SignalRule:
    if not by.is_unscoped and by.role_in(shop.pk) not in RULE_ROLES:
        raise PermissionDenied(_("Only a shop admin can change the signal rules."))
    if code not in RULES:
        raise InvalidInput(_("Unknown rule."), field="code")
    if not 1 <= threshold <= MAX_THRESHOLD:
        raise InvalidInput(_("The threshold must be a whole number from 1."), field="threshold")
    if not 0 <= window_days <= MAX_WINDOW_DAYS:
        raise InvalidInput(_("Look back at most three years."), field="window_days")
    rule = SignalRule.objects.select_for_update().get(pk=rules_for(shop.pk)[code].pk)
    before = {"threshold": rule.threshold, "window_days": rule.window_days, "active": rule.active}
    rule.threshold, rule.window_days, rule.active = threshold, window_days, active
    rule.save()
    record_event(
        shop_id=shop.pk,
        type="signal_rule_changed",
        by=by,
        before=before,
        after={"threshold": threshold, "window_days": window_days, "active": active},
        payload={"rule": code},
    )
    return rule


# --- Who is the same buyer ------------------------------------------------------------------


def merchant_shop_ids(shop_id: int) -> list[int]:
    """The shop and every shop one of its shop admins also administers."""
    admins = Membership.objects.filter(shop_id=shop_id, role=Role.ADMIN).values("user_id")
    shops = set(
        Membership.objects.filter(user_id__in=admins, role=Role.ADMIN).values_list(
            "shop_id", flat=True
        )
    )
    return sorted(shops | {shop_id})


def same_buyer_ids(buyer: Buyer) -> list[int]:
    """The buyer's ids in the merchant's shops (`merchant_shop_ids`), in one query."""
    return list(_same_buyers(buyer))


def _same_buyers(buyer: Buyer) -> QuerySet[Buyer, int]:
    """`same_buyer_ids` as a query, to be a subquery of the statement that uses them."""
    match = Q(platform_buyer_id=buyer.platform_buyer_id)
    if buyer.phone:
        match |= Q(phone=buyer.phone)
    admins = Membership.objects.filter(shop_id=buyer.shop_id, role=Role.ADMIN).values("user_id")
    admins_shops = Membership.objects.filter(user_id__in=admins, role=Role.ADMIN).values("shop_id")
    return (
        Buyer.objects.filter(Q(shop_id=buyer.shop_id) | Q(shop_id__in=admins_shops))
        .filter(match)
        .values_list("pk", flat=True)[:200]
    )


class _Opening:
    """What the opening's rules share, each read once: the shop's rules, the same buyer."""

    def __init__(self, case: Case) -> None:
        self.case = case

    @cached_property
    def rules(self) -> dict[str, SignalRule]:
        return rules_for(self.case.shop_id)

    @cached_property
    def buyers(self) -> QuerySet[Buyer, int]:
        # A subquery of each rule's count, not a query of its own: an opening usually runs
        # one such count (issue 16).
        return _same_buyers(self.case.order.buyer)


# --- Raising --------------------------------------------------------------------------------


def _raise(
    case: Case,
    code: str,
    rule: SignalRule,
    value: float,
    evidence: dict[str, Any],
    suffix: str = "",
) -> Signal | None:
    """Keep a hit once per rule and case (and `suffix`), on the record of the case."""
    key = f"{code}:{case.pk}{':' + suffix if suffix else ''}"[:120]
    if Signal.objects.filter(key=key).exists():
        return None
    with transaction.atomic():
        try:
            with transaction.atomic():
                signal = Signal.objects.create(
                    shop_id=case.shop_id,
                    case=case,
                    buyer_id=case.order.buyer_id,
                    rule=code,
                    key=key,
                    value=value,
                    threshold=rule.threshold,
                    evidence=evidence,
                    created_at=timezone.now(),
                )
        except IntegrityError:
            return None
        record_event(
            shop_id=case.shop_id,
            case_id=case.pk,
            type="signal_raised",
            by=Actor.system("signals"),
            payload={
                "signal": signal.pk,
                "rule": code,
                "value": value,
                "threshold": rule.threshold,
            },
        )
    return signal


def _cases_list(qs: QuerySet[Case]) -> list[int]:
    return list(qs.order_by("-applied_at").values_list("pk", flat=True)[:MAX_EVIDENCE_CASES])


def check_refund_only_buyer(case: Case, opening: _Opening | None = None) -> Signal | None:
    opening = opening or _Opening(case)
    rule = _rule(case.shop_id, RuleCode.REFUND_ONLY_BUYER, opening.rules)
    if rule is None or case.type not in REFUND_ONLY:
        return None
    since = case.applied_at - timedelta(days=rule.window_days)
    cases = Case.objects.filter(
        order__buyer_id__in=opening.buyers,
        type__in=REFUND_ONLY,
        applied_at__gte=since,
        applied_at__lte=case.applied_at,
    )
    count = cases.count()
    if count < rule.threshold:
        return None
    shops = cases.values("shop_id").distinct().count()
    evidence = {
        "count": count,
        "shops": shops,
        "cases": _cases_list(cases),
        "days": rule.window_days,
    }
    return _raise(case, RuleCode.REFUND_ONLY_BUYER, rule, count, evidence)


def check_high_return_rate(case: Case, opening: _Opening | None = None) -> Signal | None:
    opening = opening or _Opening(case)
    rule = _rule(case.shop_id, RuleCode.HIGH_RETURN_RATE, opening.rules)
    if rule is None:
        return None
    since = case.applied_at - timedelta(days=rule.window_days)
    orders = Order.objects.filter(buyer_id__in=opening.buyers, paid_at__gte=since)
    total = orders.count()
    if total < MIN_ORDERS_FOR_RATE:
        return None
    with_case = orders.filter(Exists(Case.objects.filter(order_id=OuterRef("pk")))).count()
    rate = 100 * with_case / total
    if rate < rule.threshold:
        return None
    evidence = {
        "orders": total,
        "orders_with_case": with_case,
        "rate": round(rate, 1),
        "days": rule.window_days,
    }
    return _raise(case, RuleCode.HIGH_RETURN_RATE, rule, round(rate, 1), evidence)


def check_shared_tracking(case: Case) -> list[Signal]:
    rule = _rule(case.shop_id, RuleCode.SHARED_RETURN_TRACKING)
    if rule is None:
        return []
    numbers = set(
        Shipment.objects.filter(case=case, kind=ShipmentKind.RETURN).values_list(
            "tracking_number", flat=True
        )
    )
    raised: list[Signal] = []
    since = timezone.now() - timedelta(days=rule.window_days)
    shops = merchant_shop_ids(case.shop_id)
    for number in numbers:
        number = number.strip()
        if not number:
            continue
        on = list(
            Shipment.objects.filter(
                shop_id__in=shops,
                kind=ShipmentKind.RETURN,
                tracking_number__iexact=number,
                created_at__gte=since,
                case__isnull=False,
            )
            .values_list("case_id", flat=True)
            .distinct()
        )
        if len(on) < rule.threshold:
            continue
        for other in Case.objects.filter(pk__in=on).select_related("order"):
            if other.shop_id != case.shop_id and other.shop_id not in shops:
                continue
            evidence = {
                "tracking_number": number,
                "cases": sorted(on)[:MAX_EVIDENCE_CASES],
                "count": len(on),
            }
            other_rule = _rule(other.shop_id, RuleCode.SHARED_RETURN_TRACKING) or rule
            signal = _raise(
                other, RuleCode.SHARED_RETURN_TRACKING, other_rule, len(on), evidence, number
            )
            if signal is not None:
                raised.append(signal)
    return raised


def check_inspection(case: Case, inspection_id: int | None) -> Signal | None:
    rule = _rule(case.shop_id, RuleCode.INSPECTION_MISMATCH)
    if rule is None:
        return None
    inspection = (
        Inspection.objects.filter(case=case, pk=inspection_id).first()
        if inspection_id
        else Inspection.objects.filter(case=case).order_by("-pk").first()
    )
    if inspection is None:
        return None
    notes = inspection.notes.lower()
    findings = []
    if inspection.condition == "not_sent_item":
        findings.append("not_sent_item")
    if any(word in notes for word in WEIGHT_WORDS):
        findings.append("weight")
    if len(findings) < rule.threshold:
        return None
    evidence = {"inspection": inspection.pk, "findings": findings, "notes": inspection.notes[:300]}
    return _raise(
        case, RuleCode.INSPECTION_MISMATCH, rule, len(findings), evidence, str(inspection.pk)
    )


def check_refund_after_interception(case: Case, opening: _Opening | None = None) -> Signal | None:
    opening = opening or _Opening(case)
    rule = _rule(case.shop_id, RuleCode.REFUND_AFTER_INTERCEPTION, opening.rules)
    if rule is None or case.type not in REFUND_ONLY:
        return None
    window_start = case.applied_at - timedelta(hours=rule.threshold)
    stopped = (
        ShipmentEvent.objects.filter(
            shipment__order_id=case.order_id,
            shipment__kind=ShipmentKind.OUTBOUND,
            status=ShipmentStatus.INTERCEPTED,
            at__gte=window_start,
            at__lte=case.applied_at,
        )
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    source = "parcel"
    if stopped is None:
        stopped = (
            AuditEvent.objects.filter(
                shop_id=case.shop_id,
                case__order_id=case.order_id,
                type=CaseEvent.INTERCEPTION_REQUESTED,
                created_at__gte=window_start,
                created_at__lte=case.applied_at,
            )
            .exclude(case_id=case.pk)
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        source = "request"
    if stopped is None:
        return None
    hours = round((case.applied_at - stopped).total_seconds() / 3600, 1)
    evidence = {"intercepted_at": stopped.isoformat(), "hours": hours, "source": source}
    return _raise(case, RuleCode.REFUND_AFTER_INTERCEPTION, rule, hours, evidence)


def hash_evidence(evidence: Evidence) -> EvidenceHash | None:
    """The photo's hashes, computed once (None for a video or a file Pillow cannot read)."""
    known = EvidenceHash.objects.filter(evidence=evidence).first()
    if known is not None or evidence.kind != EvidenceKind.IMAGE:
        return known
    try:
        with evidence.file.open("rb") as handle:
            data = handle.read()
    except OSError:
        logger.warning("evidence %s: file unreadable, not hashed", evidence.pk)
        return None
    found = hashing.picture_hash(data)
    if found is None:
        return None
    case = evidence.case
    row, _created = EvidenceHash.objects.get_or_create(
        evidence=evidence,
        defaults={
            "shop_id": evidence.shop_id,
            "case": case,
            "buyer_id": case.order.buyer_id,
            "order_id": case.order_id,
            "dhash": hashing.to_hex(found.dhash),
            "phash": hashing.to_hex(found.phash),
            "informative": found.informative,
            "created_at": timezone.now(),
        },
    )
    return row


def check_reused_images(case_id: int) -> list[Signal]:
    """Hash the buyer's photos of the case and compare them with the photos of other
    buyers' and other orders' claims in the merchant's shops."""
    case = Case.objects.select_related("order").filter(pk=case_id).first()
    if case is None:
        return []
    rule = _rule(case.shop_id, RuleCode.REUSED_IMAGE)
    if rule is None:
        return []
    raised = []
    since = timezone.now() - timedelta(days=rule.window_days)
    photos = Evidence.objects.filter(case=case, kind=EvidenceKind.IMAGE).exclude(
        source=EvidenceSource.INSPECTION
    )
    for photo in photos.order_by("pk"):
        mine = hash_evidence(photo)
        if mine is None or not mine.informative:
            continue
        own = hashing.PictureHash(hashing.from_hex(mine.dhash), hashing.from_hex(mine.phash))
        others = (
            EvidenceHash.objects.filter(
                shop_id__in=merchant_shop_ids(case.shop_id), informative=True, created_at__gte=since
            )
            .exclude(case_id=case.pk)
            .exclude(buyer_id=mine.buyer_id, order_id=mine.order_id)
            .order_by("-created_at")[:MAX_HASHES_COMPARED]
        )
        matches = []
        for other in others:
            theirs = hashing.PictureHash(
                hashing.from_hex(other.dhash), hashing.from_hex(other.phash)
            )
            distance = own.distance(theirs)
            if distance <= rule.threshold:
                matches.append(
                    {
                        "case": other.case_id,
                        "evidence": other.evidence_id,
                        "distance": distance,
                        "other_buyer": other.buyer_id != mine.buyer_id,
                    }
                )
        if matches:
            matches.sort(key=lambda m: (m["distance"], m["case"]))
            evidence = {"evidence": photo.pk, "matches": matches[:MAX_EVIDENCE_CASES]}
            with transaction.atomic():
                signal = _raise(
                    case,
                    RuleCode.REUSED_IMAGE,
                    rule,
                    matches[0]["distance"],
                    evidence,
                    str(photo.pk),
                )
            if signal is not None:
                raised.append(signal)
    return raised


def check_tracking_never_moves(now: datetime | None = None, *, limit: int = 1000) -> list[Signal]:
    now = now or timezone.now()
    raised = []
    candidates = (
        Shipment.objects.filter(
            kind=ShipmentKind.RETURN,
            case__isnull=False,
            status__in=[ShipmentStatus.CREATED, ShipmentStatus.IN_TRANSIT],
            created_at__gte=now - timedelta(days=max(r.window_days for r in RULES.values())),
        )
        .exclude(case__status__in=TERMINAL_STATUSES)
        .annotate(moves=Count("history"))
        .filter(moves__lte=1)
        .select_related("case", "case__order")
        .order_by("created_at")[:limit]
    )
    for shipment in candidates:
        case = shipment.case
        assert case is not None
        rule = _rule(case.shop_id, RuleCode.TRACKING_NEVER_MOVES)
        if rule is None:
            continue
        if shipment.created_at < now - timedelta(days=rule.window_days):
            continue
        days = (now - shipment.created_at).total_seconds() / 86400
        if days < rule.threshold:
            continue
        evidence = {
            "tracking_number": shipment.tracking_number,
            "carrier": shipment.carrier,
            "given_at": shipment.created_at.isoformat(),
            "days": round(days, 1),
            "status": shipment.status,
        }
        with transaction.atomic():
            signal = _raise(
                case,
                RuleCode.TRACKING_NEVER_MOVES,
                rule,
                round(days, 1),
                evidence,
                str(shipment.pk),
            )
        if signal is not None:
            raised.append(signal)
    return raised


def return_address_of(shop_id: int) -> str:
    """The address the shop's returns go to (the Douyin link's, as the buyer was told it)."""
    from aftersales.platforms.douyin.models import DouyinShopLink

    address = (
        DouyinShopLink.objects.filter(shop_id=shop_id)
        .exclude(return_address="")
        .values_list("return_address", flat=True)
        .first()
    )
    return address or ""


@dataclass(frozen=True)
class RouteEnds:
    """The ends of a return parcel's route as the carrier scanned it, and the ones it should
    have: from the buyer's city to the city of the shop's return address."""

    picked_up: str  # the city of its first scan before the sign-for (blank if none names one)
    signed: str  # where it was signed for (blank until signed for with a place)
    buyer: str  # the city of the order's address
    warehouse: str  # the city of the shop's return address
    picked_up_place: str
    signed_place: str

    @property
    def off(self) -> list[str]:
        off = []
        if self.picked_up and self.buyer and self.picked_up != self.buyer:
            off.append("origin")
        if self.signed and self.warehouse and self.signed != self.warehouse:
            off.append("destination")
        return off


def route_ends(shipment: Shipment, return_address: str) -> RouteEnds:
    scans = [
        (e.status, e.place, places.city_of(e.place))
        for e in shipment.history.exclude(place="").order_by("at", "pk")
    ]
    first = next(((p, c) for s, p, c in scans if c and s != ShipmentStatus.DELIVERED), ("", ""))
    signed = next(
        ((p, c) for s, p, c in reversed(scans) if c and s == ShipmentStatus.DELIVERED), ("", "")
    )
    return RouteEnds(
        picked_up=first[1],
        signed=signed[1],
        buyer=places.city_of(shipment.order.receiver_address),
        warehouse=places.city_of(return_address),
        picked_up_place=first[0],
        signed_place=signed[0],
    )


def check_tracking_other_route(shipment: Shipment) -> Signal | None:
    """A return tracking number whose scans start outside the buyer's city or end (signed
    for) outside the city of the shop's return address: the number of another parcel."""
    case = shipment.case
    if case is None or shipment.kind != ShipmentKind.RETURN:
        return None
    rule = _rule(case.shop_id, RuleCode.TRACKING_OTHER_ROUTE)
    if rule is None:
        return None
    ends = route_ends(shipment, return_address_of(case.shop_id))
    off = ends.off
    if not off or len(off) < rule.threshold:
        return None
    evidence = {
        "tracking_number": shipment.tracking_number,
        "carrier": shipment.carrier,
        "off": off,
        "picked_up": ends.picked_up_place,
        "signed": ends.signed_place,
        "buyer_city": ends.buyer,
        "warehouse_city": ends.warehouse,
    }
    with transaction.atomic():
        return _raise(
            case, RuleCode.TRACKING_OTHER_ROUTE, rule, len(off), evidence, str(shipment.pk)
        )


def check_tracking_routes(now: datetime | None = None, *, limit: int = 1000) -> list[Signal]:
    """The return parcels of the look-back with a scanned place and no such signal yet."""
    now = now or timezone.now()
    window = max(r.window_days for r in RULES.values())
    candidates = (
        Shipment.objects.filter(
            kind=ShipmentKind.RETURN,
            case__isnull=False,
            created_at__gte=now - timedelta(days=window),
        )
        .filter(Exists(ShipmentEvent.objects.filter(shipment=OuterRef("pk")).exclude(place="")))
        .exclude(
            Exists(
                Signal.objects.filter(
                    key=Concat(
                        Value(f"{RuleCode.TRACKING_OTHER_ROUTE}:"),
                        Cast(OuterRef("case_id"), CharField()),
                        Value(":"),
                        Cast(OuterRef("pk"), CharField()),
                    )
                )
            )
        )
        .select_related("case", "order")
        .order_by("-created_at")[:limit]
    )
    raised = []
    for shipment in candidates:
        case = shipment.case
        assert case is not None
        rule = _rule(case.shop_id, RuleCode.TRACKING_OTHER_ROUTE)
        if rule is None or shipment.created_at < now - timedelta(days=rule.window_days):
            continue
        signal = check_tracking_other_route(shipment)
        if signal is not None:
            raised.append(signal)
    return raised


def scan(now: datetime | None = None) -> tuple[int, int]:
    """The periodic part: tracking numbers that never moved or that travel another route,
    and photos not hashed yet (those a merchant attached). Returns (signals raised, photos
    hashed)."""
    raised = len(check_tracking_never_moves(now)) + len(check_tracking_routes(now))
    unhashed = (
        Evidence.objects.filter(kind=EvidenceKind.IMAGE)
        .exclude(source=EvidenceSource.INSPECTION)
        .exclude(Exists(EvidenceHash.objects.filter(evidence=OuterRef("pk"))))
        .values_list("case_id", flat=True)
        .distinct()[:200]
    )
    cases = list(unhashed)
    for case_id in cases:
        raised += len(check_reused_images(case_id))
    return raised, len(cases)


# --- The reaction ---------------------------------------------------------------------------

_EVENTS = frozenset(
    {
        CaseEvent.CASE_OPENED,
        CaseEvent.RETURN_SHIPPED,
        CaseEvent.RETURN_RECEIVED,
        CaseEvent.RETURN_INSPECTED,
        CaseEvent.BUYER_EVIDENCE_RECORDED,
    }
)


def on_case_event(change: CaseChange) -> None:
    """The signals' reaction to case events (`settings.AFTERSALES_CASE_REACTIONS`): measure
    the rules the event makes measurable. Returns before any query for other events. It only
    ever adds signals; the case is not touched."""
    if change.event not in _EVENTS:
        return
    case = change.case
    if change.event == CaseEvent.CASE_OPENED:
        opening = _Opening(case)  # the rules and the same buyer read once for the three
        check_refund_only_buyer(case, opening)
        check_high_return_rate(case, opening)
        check_refund_after_interception(case, opening)
    elif change.event == CaseEvent.RETURN_SHIPPED:
        check_shared_tracking(case)
    elif change.event == CaseEvent.RETURN_RECEIVED:
        for shipment in Shipment.objects.filter(case=case, kind=ShipmentKind.RETURN).select_related(
            "case", "order"
        ):
            check_tracking_other_route(shipment)
    elif change.event == CaseEvent.RETURN_INSPECTED:
        check_inspection(case, change.payload.get("inspection"))
    else:
        case_id = case.pk
        transaction.on_commit(lambda: _check_images_quietly(case_id))


def _check_images_quietly(case_id: int) -> None:
    try:
        check_reused_images(case_id)
    except Exception:  # the buyer's upload succeeded; the scan hashes it again later
        logger.exception("case %s: photos not compared", case_id)


# --- Reading and reviewing ------------------------------------------------------------------


def signals_for_actor(actor: Actor) -> QuerySet[Signal]:
    qs = Signal.objects.all()
    if not actor.is_unscoped:
        qs = qs.filter(shop_id__in=list(actor.shop_roles))
    return qs


def get_signal_for_actor(actor: Actor, pk: int) -> Signal:
    signal = signals_for_actor(actor).select_related("case", "buyer").filter(pk=pk).first()
    if signal is None:
        raise NotFound(_("Signal not found."))
    return signal


@dataclass(frozen=True)
class CaseSignals:
    case: list[Signal]  # on this case
    buyer: list[Signal]  # on the same buyer's other cases (the actor's shops)


def signals_for_case(actor: Actor, case: Case) -> CaseSignals:
    """What the case page shows: the case's own signals and the buyer's others."""
    own = list(Signal.objects.filter(case=case).order_by("-created_at"))
    buyers = same_buyer_ids(case.order.buyer)
    others = list(
        signals_for_actor(actor)
        .filter(buyer_id__in=buyers)
        .exclude(case=case)
        .order_by("-created_at")[:20]
    )
    return CaseSignals(case=own, buyer=others)


@transaction.atomic
def review_signal(*, signal: Signal, verdict: str, by: Actor, note: str = "") -> Signal:
    check_length(note=(note, REASON_MAX_LENGTH))
    signal = Signal.objects.select_for_update().get(pk=signal.pk)
    if not by.is_unscoped and by.role_in(signal.shop_id) not in REVIEW_ROLES:
        raise PermissionDenied(_("Only a supervisor or shop admin can review signals."))
    target = REVIEW_TRANSITIONS.get((signal.status, verdict))
    if target is None:
        if verdict not in {"confirm", "dismiss"}:
            raise InvalidInput(_("Confirm or dismiss."), field="verdict")
        raise Conflict(_("This signal has been reviewed already."))
    signal.status = target
    signal.reviewed_by, signal.reviewed_at, signal.review_note = (
        by.label[:150],
        timezone.now(),
        note.strip(),
    )
    signal.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
    record_event(
        shop_id=signal.shop_id,
        case_id=signal.case_id,
        type="signal_reviewed",
        by=by,
        payload={"signal": signal.pk, "rule": signal.rule, "verdict": target, "note": note.strip()},
    )
    return signal


@dataclass(frozen=True)
class RulePrecision:
    rule: SignalRule
    open: int
    confirmed: int
    dismissed: int

    @property
    def reviewed(self) -> int:
        return self.confirmed + self.dismissed

    @property
    def precision(self) -> float | None:
        return self.confirmed / self.reviewed if self.reviewed else None


def precision_by_rule(shop_id: int) -> list[RulePrecision]:
    counts: dict[tuple[str, str], int] = {
        (row["rule"], row["status"]): row["n"]
        for row in Signal.objects.filter(shop_id=shop_id)
        .values("rule", "status")
        .annotate(n=Count("pk"))
    }
    rules = rules_for(shop_id)
    return [
        RulePrecision(
            rule=rules[code],
            open=counts.get((code, SignalStatus.OPEN), 0),
            confirmed=counts.get((code, SignalStatus.CONFIRMED), 0),
            dismissed=counts.get((code, SignalStatus.DISMISSED), 0),
        )
        for code in RULES
    ]


def signal_shops(actor: Actor) -> list[Shop]:
    ids: Iterable[int] = (
        Shop.objects.values_list("pk", flat=True) if actor.is_unscoped else actor.shop_roles
    )
    return list(Shop.objects.filter(pk__in=list(ids)).order_by("pk"))
