"""The carrier-tracking push receiver (快递100 subscription push, docs/architecture.md).

The aggregator POSTs a form with `param` (JSON: `status`, `lastResult` with `nu`, `com`,
`state` and `data`, every scan so far, newest first) and `sign` = MD5(param + salt) in
upper-case hex, to the shop's own address (`/webhooks/kuaidi100/<shop id>/`). Each accepted
push is stored and committed before it is applied and answered; the same `param` again is
counted on the first push and changes nothing. Its scans become the shop's shipments' steps
(`orders.services.update_shipment_status` with the place and time the carrier wrote), and
every return parcel it moved is judged by the other-route signal at once, a sign-for
included (the periodic `signals.services.scan` judges it again only if it was not).

The subscription call (快递100 订阅, `POST poll.kuaidi100.com/poll`, form `schema=json` and
`param` with the carrier, the number, the shop's key, the callback address and the salt) is
what makes the aggregator push a parcel at all: when a case event records a parcel (the
buyer's return, a replacement, a resend, repaired goods), `on_case_event` writes a
`TrackingSubscription` in the event's transaction, and a task sends it after commit, again
with growing waits until the aggregator takes it. See "The carrier-tracking push" in
docs/architecture.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from aftersales.cases.events import CaseEvent
from aftersales.cases.ports import CaseChange
from aftersales.core.text import escape_nul
from aftersales.orders.choices import ShipmentKind, ShipmentStatus
from aftersales.orders.models import Shipment, ShipmentEvent
from aftersales.orders.services import update_shipment_status
from aftersales.platforms.refused import Kept, keep_refused
from aftersales.shops.models import Shop
from aftersales.signals.services import check_tracking_other_route

from .models import (
    PushStatus,
    SubscriptionStatus,
    TrackingLink,
    TrackingPush,
    TrackingSubscription,
)

logger = logging.getLogger(__name__)

OK = {"result": True, "returnCode": "200", "message": "成功"}

# The scan's own status word (快递100 `data[].status`), then the push's `state` code for a
# scan without one. Anything unknown is a parcel still on its way.
STATUS_WORDS = {
    "揽收": ShipmentStatus.IN_TRANSIT,
    "在途": ShipmentStatus.IN_TRANSIT,
    "派件": ShipmentStatus.IN_TRANSIT,
    "转投": ShipmentStatus.IN_TRANSIT,
    "疑难": ShipmentStatus.IN_TRANSIT,
    "清关": ShipmentStatus.IN_TRANSIT,
    "待清关": ShipmentStatus.IN_TRANSIT,
    "签收": ShipmentStatus.DELIVERED,
    "退签": ShipmentStatus.RETURNED,
    "退回": ShipmentStatus.RETURNED,
    "拒签": ShipmentStatus.RETURNED,
}
STATE_CODES = {
    "0": ShipmentStatus.IN_TRANSIT,
    "1": ShipmentStatus.IN_TRANSIT,
    "2": ShipmentStatus.IN_TRANSIT,
    "3": ShipmentStatus.DELIVERED,
    "4": ShipmentStatus.RETURNED,
    "5": ShipmentStatus.IN_TRANSIT,
    "6": ShipmentStatus.RETURNED,
    "7": ShipmentStatus.IN_TRANSIT,
    "8": ShipmentStatus.IN_TRANSIT,
    "14": ShipmentStatus.RETURNED,
}
_BRACKET = re.compile(r"[【\[]([^】\]]{2,30})[】\]]")


@dataclass(frozen=True)
class PushAnswer:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Scan:
    status: str
    at: datetime
    place: str
    text: str


class MalformedPush(ValueError):
    pass


def sign_of(param: str, salt: str) -> str:
    return hashlib.md5((param + salt).encode("utf-8")).hexdigest().upper()  # noqa: S324


def _refused(status: int, zh: str, en: str) -> PushAnswer:
    return PushAnswer(
        status, {"result": False, "returnCode": str(status), "message": f"{zh} / {en}"}
    )


def place_of(item: dict[str, Any]) -> str:
    """Where the carrier scanned it: the city of `areaName` ("浙江,杭州市" → "杭州市"), else the
    bracketed place of the text ("【杭州市】快件已揽收" → "杭州市"), else blank."""
    area = str(item.get("areaName") or "").strip()
    if area:
        return re.split(r"[,，]", area)[-1].strip()[:64]
    found = _BRACKET.search(str(item.get("context") or ""))
    return found.group(1).strip()[:64] if found else ""


def _time(text: Any) -> datetime:
    try:
        # The carrier's wall-clock time in China.
        return datetime.strptime(f"{str(text).strip()} +0800", "%Y-%m-%d %H:%M:%S %z")
    except ValueError as exc:
        raise MalformedPush(f"scan time {text!r} is not YYYY-MM-DD HH:MM:SS") from exc


def parse_param(param: str) -> tuple[str, str, list[Scan]]:
    """(tracking number, carrier code, scans oldest first) of a push's `param`."""
    try:
        data = json.loads(param)
    except ValueError as exc:
        raise MalformedPush("param is not JSON") from exc
    result = data.get("lastResult") if isinstance(data, dict) else None
    if not isinstance(result, dict):
        raise MalformedPush("param has no lastResult")
    number = str(result.get("nu") or "").strip()
    if not number or len(number) > 64:
        raise MalformedPush("lastResult has no tracking number (nu)")
    items = result.get("data") or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise MalformedPush("lastResult.data is not a list of scans")
    state = str(result.get("state") or "").strip()
    scans = []
    for index, item in enumerate(items):
        word = str(item.get("status") or "").strip()
        fallback = STATE_CODES.get(state, ShipmentStatus.IN_TRANSIT) if index == 0 else None
        status = STATUS_WORDS.get(word) or fallback or ShipmentStatus.IN_TRANSIT
        scans.append(
            Scan(
                status=status,
                at=_time(item.get("ftime") or item.get("time")),
                place=place_of(item),
                text=escape_nul(str(item.get("context") or ""))[:255],
            )
        )
    scans.sort(key=lambda s: s.at)
    return number, str(result.get("com") or "").strip()[:32], scans


def receive_tracking_push(
    *, shop_id: int, param: str | None, sign: str | None, source: str = ""
) -> PushAnswer:
    """Verify, store, apply and answer one push for the shop (the view's whole job).

    No such shop or no active subscription → 404; a signature that does not match → 401,
    kept as `bad_signature`, nothing applied; no `param` or an unreadable one (signed) →
    400, kept as `malformed`. An unsigned push is kept bounded (`platforms.refused`: the
    first `KUAIDI100_REFUSED_BODY_KEPT_BYTES` of `param`, at most
    `KUAIDI100_REFUSED_PER_MINUTE` records a minute per source; the answer is the same
    beyond). An accepted push is committed before it is applied; the same
    `param` delivered again is counted and answered, never applied twice. Messages are
    Chinese and English: the aggregator's console shows them to the merchant."""
    now = timezone.now()
    link = TrackingLink.objects.filter(shop_id=shop_id, active=True).first()
    if link is None:
        return _refused(404, "店铺未开通物流推送", "no tracking subscription for this shop")
    if param is None or sign is None:
        _keep_unsigned(
            shop_id,
            param or "",
            sign or "",
            PushStatus.MALFORMED,
            "form fields param and sign are required",
            source=source,
            now=now,
        )
        return _refused(400, "缺少 param 或 sign 字段", "form fields param and sign are required")
    signed = hmac.compare_digest(sign.strip().upper(), sign_of(param, link.salt))
    if not signed:
        _keep_unsigned(
            shop_id,
            param,
            sign,
            PushStatus.BAD_SIGNATURE,
            "signature does not match",
            source=source,
            now=now,
        )
        logger.warning("kuaidi100 push refused (401) for shop %s: bad signature", shop_id)
        return _refused(401, "签名不符", "signature does not match")
    param = escape_nul(param)  # stored and read as JSON means the same
    try:
        number, carrier, scans = parse_param(param)
    except MalformedPush as exc:
        TrackingPush.objects.create(
            shop_id=shop_id,
            param=param,
            sign=sign[:64],
            status=PushStatus.MALFORMED,
            error=str(exc),
            received_at=now,
        )
        return _refused(400, "推送内容无法解析", f"malformed push: {exc}")
    push = _store(link.shop, param, sign, number, carrier, now)
    if push.status == PushStatus.RECEIVED:
        try:
            apply_tracking_push(push, scans)
        except Exception:  # stored: `apply_pending_pushes` applies it again later
            logger.exception("kuaidi100 push %s stored, not applied", push.pk)
    return PushAnswer(200, OK)


def _keep_unsigned(
    shop_id: int, param: str, sign: str, status: str, reason: str, *, source: str, now: datetime
) -> TrackingPush | None:
    """A bounded record of a push nobody signed (`platforms.refused`): its first bytes, at
    most so many a minute from one source."""
    recent = TrackingPush.objects.filter(
        status__in=(PushStatus.BAD_SIGNATURE, PushStatus.MALFORMED),
        digest="",
        source=source[:64],
        received_at__gte=now - timedelta(minutes=1),
    )

    def store(kept: Kept) -> TrackingPush:
        return TrackingPush.objects.create(
            shop_id=shop_id,
            param=kept.body,
            sign=sign[:64],
            status=status,
            error=kept.summary,
            received_at=now,
            source=source[:64],
        )

    return keep_refused(
        body=param.encode("utf-8", errors="replace"),
        reason=reason,
        recent=recent,
        limit=settings.KUAIDI100_REFUSED_PER_MINUTE,
        cap=settings.KUAIDI100_REFUSED_BODY_KEPT_BYTES,
        store=store,
        label="kuaidi100",
        source=source,
    )


def _store(
    shop: Shop, param: str, sign: str, number: str, carrier: str, now: datetime
) -> TrackingPush:
    digest = hashlib.sha256(param.encode("utf-8")).hexdigest()
    try:
        with transaction.atomic():
            return TrackingPush.objects.create(
                shop=shop,
                tracking_number=number,
                carrier=carrier,
                param=param,
                sign=sign[:64],
                digest=digest,
                status=PushStatus.RECEIVED,
                received_at=now,
            )
    except IntegrityError:
        TrackingPush.objects.filter(shop=shop, digest=digest).update(deliveries=F("deliveries") + 1)
        return TrackingPush.objects.get(shop=shop, digest=digest)


def apply_tracking_push(push: TrackingPush, scans: list[Scan] | None = None) -> int:
    """Record the push's new scans on the shop's shipments with its tracking number, in one
    transaction, and judge the return parcels it moved. Returns the scans recorded. A scan
    already recorded (the aggregator repeats every scan in each push) is skipped."""
    if scans is None:
        _number, _carrier, scans = parse_param(push.param)
    judged: list[Shipment] = []
    recorded = 0
    with transaction.atomic():
        locked = TrackingPush.objects.select_for_update().get(pk=push.pk)
        if locked.status != PushStatus.RECEIVED or locked.shop_id is None:
            return 0
        shipments = Shipment.objects.select_for_update().filter(
            shop_id=locked.shop_id, tracking_number__iexact=locked.tracking_number
        )
        for shipment in shipments.order_by("pk"):
            moved = 0
            for scan in scans:
                if ShipmentEvent.objects.filter(
                    shipment=shipment, at=scan.at, note=scan.text, place=scan.place
                ).exists():
                    continue
                update_shipment_status(
                    shipment=shipment,
                    status=scan.status,
                    note=scan.text,
                    place=scan.place,
                    at=scan.at,
                )
                moved += 1
            if moved and shipment.kind == ShipmentKind.RETURN and shipment.case_id:
                judged.append(shipment)
            recorded += moved
        locked.status = PushStatus.APPLIED
        locked.scans_applied = recorded
        locked.applied_at = timezone.now()
        locked.save(update_fields=["status", "scans_applied", "applied_at"])
    for shipment in judged:  # a failure here leaves the scans recorded; `scan()` judges later
        check_tracking_other_route(
            Shipment.objects.select_related("case", "order").get(pk=shipment.pk)
        )
    return recorded


def apply_pending_pushes(limit: int = 200) -> int:
    """Apply the accepted pushes a failure left unapplied. Returns how many were applied."""
    done = 0
    for push in TrackingPush.objects.filter(status=PushStatus.RECEIVED).order_by("pk")[:limit]:
        try:
            apply_tracking_push(push)
            done += 1
        except Exception:
            logger.exception("kuaidi100 push %s not applied", push.pk)
    return done


# --- The subscription call --------------------------------------------------------------------

# The platform's logistics company code (`orders.carriers`) → the aggregator's `company`. The
# platform's codes for these carriers are the aggregator's own; a code not listed here is not
# guessed: its subscription fails at once, saying so, and the parcel is followed by hand.
AGGREGATOR_CARRIER_CODES = {
    code: code
    for code in [
        "shunfeng",
        "shunfengkuaiyun",
        "jd",
        "zhongtong",
        "yuantong",
        "yunda",
        "shentong",
        "jtexpress",
        "ems",
        "youzhengguonei",
        "debangwuliu",
        "huitongkuaidi",
        "zhaijisong",
        "danniao",
        "fengwang",
        "youshuwuliu",
        "annengwuliu",
    ]
}
# The case events that record a parcel whose scans the shop wants.
PARCEL_EVENTS = frozenset(
    {
        CaseEvent.RETURN_SHIPPED,
        CaseEvent.REPLACEMENT_SHIPPED,
        CaseEvent.ITEMS_RESENT,
        CaseEvent.REPAIRED_GOODS_SHIPPED,
        CaseEvent.BUYER_PARCEL_RESHIPPED,
    }
)
# The aggregator's answer codes: taken (200), already subscribed (501, as good); a server error
# (500) is tried again; every other code (the key refused or expired, a carrier or a number it
# refuses, a bad callback address) fails at once, since sending it again changes nothing.
TAKEN_CODES = frozenset({"200", "501"})
RETRIED_CODES = frozenset({"500"})
MAX_ATTEMPTS = 5
RETRY_WAITS = (30, 120, 600, 1800)  # seconds after the 1st, 2nd, 3rd, 4th failed try
CLAIM_SECONDS = 60  # a try in progress holds its subscription this long


def on_case_event(change: CaseChange) -> None:
    """The aggregator's reaction to case events (`settings.AFTERSALES_CASE_REACTIONS`): a case
    event that recorded a parcel subscribes each of the case's parcels not yet subscribed, for
    a shop whose subscription has a key. Returns before any query for other events."""
    if change.event not in PARCEL_EVENTS:
        return
    case = change.case
    if not TrackingLink.objects.filter(shop_id=case.shop_id, active=True).exclude(key="").exists():
        return
    subscribed = TrackingSubscription.objects.filter(shop_id=case.shop_id, shipment__case=case)
    for shipment in (
        Shipment.objects.filter(case=case)
        .select_related("order__buyer")
        .exclude(pk__in=subscribed.values("shipment_id"))
    ):
        subscribe_parcel(shipment)


# The carriers whose parcels the aggregator follows only with a phone number of the sender or
# the receiver; its last four digits are enough, and only they are sent (R6.5).
PHONE_CARRIERS = frozenset({"shunfeng", "shunfengkuaiyun"})
_PHONE_TAIL = re.compile(r"(\d{4})\s*$")


def phone_tail(shipment: Shipment) -> str:
    """The last four digits of the buyer's phone, who sends a return and receives the rest:
    the order's receiver phone, else the buyer's; a masked phone keeps its last four. Blank
    when neither ends in four digits."""
    order = shipment.order
    for phone in (order.receiver_phone, order.buyer.phone if order.buyer_id else ""):
        if match := _PHONE_TAIL.search(phone or ""):
            return match.group(1)
    return ""


def subscribe_parcel(shipment: Shipment) -> TrackingSubscription | None:
    """Ask the aggregator to follow the parcel, in the caller's transaction; the call leaves
    when it commits. Returns None when the same carrier and number is subscribed already (a
    parcel sent for two cases, or recorded twice)."""
    now = timezone.now()
    company = AGGREGATOR_CARRIER_CODES.get(shipment.carrier, "")
    fields: dict[str, Any] = {
        "shop_id": shipment.shop_id,
        "shipment": shipment,
        "company": company or shipment.carrier[:32],
        "tracking_number": shipment.tracking_number.strip()[:64],
        "created_at": now,
    }
    if not company:
        fields.update(
            status=SubscriptionStatus.FAILED,
            last_error=f"carrier {shipment.carrier!r} is not one the aggregator follows",
        )
    elif company in PHONE_CARRIERS and not phone_tail(shipment):
        fields.update(
            status=SubscriptionStatus.FAILED,
            last_error=f"carrier {company!r} needs the buyer's phone, and the order has none",
        )
    try:
        with transaction.atomic():
            subscription = TrackingSubscription.objects.create(**fields)
    except IntegrityError:
        return None
    if subscription.status == SubscriptionStatus.PENDING:
        _queue(subscription.pk)
    else:
        logger.warning(
            "kuaidi100: parcel %s not subscribed: %s", shipment.pk, subscription.last_error
        )
    return subscription


def _queue(subscription_id: int, run_after: datetime | None = None) -> None:
    from .tasks import send_subscription_task

    task: Any = send_subscription_task
    if run_after is not None:
        if not task.get_backend().supports_defer:
            return  # `kuaidi100_sync` sends it when its wait is over
        task = task.using(run_after=run_after)
    transaction.on_commit(lambda: task.enqueue(subscription_id))


def callback_url(shop_id: int) -> str:
    """The shop's push address as the aggregator must call it: absolute, on this server's
    public address (`AFTERSALES_PUBLIC_BASE_URL`); blank when that is not set."""
    base = settings.AFTERSALES_PUBLIC_BASE_URL.rstrip("/")
    return f"{base}{reverse('kuaidi100:push', args=[shop_id])}" if base else ""


def subscription_param(subscription: TrackingSubscription, link: TrackingLink) -> str:
    """The `param` of the subscription call: the aggregator signs its pushes with the salt;
    SF's parcels carry the phone's last four digits (`PHONE_CARRIERS`)."""
    parameters = {
        "callbackurl": callback_url(subscription.shop_id),
        "salt": link.salt,
        # 1: the push carries the scans' area (`areaName`), read by `place_of`.
        "resultv2": "1",
    }
    if subscription.company in PHONE_CARRIERS:
        parameters["phone"] = phone_tail(subscription.shipment)
    return json.dumps(
        {
            "company": subscription.company,
            "number": subscription.tracking_number,
            "key": link.key,
            "parameters": parameters,
        },
        ensure_ascii=False,
    )


def send_subscription(subscription_id: int, now: datetime | None = None) -> str:
    """One try of one subscription call. Returns its status afterwards. Early, late or
    repeated runs are harmless: the try is claimed first."""
    now = now or timezone.now()
    claimed = (
        TrackingSubscription.objects.filter(pk=subscription_id, status=SubscriptionStatus.PENDING)
        .exclude(next_attempt_at__gt=now)
        .update(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
    )
    subscription = TrackingSubscription.objects.select_related("shipment__order__buyer").get(
        pk=subscription_id
    )
    if not claimed:
        return str(subscription.status)
    link = TrackingLink.objects.filter(shop_id=subscription.shop_id, active=True).first()
    if link is None or not link.key:
        retry, error = False, "the shop's tracking subscription is off or has no key"
    elif not callback_url(subscription.shop_id):
        retry, error = False, "AFTERSALES_PUBLIC_BASE_URL is not set: no address to push to"
    else:
        retry, error = _post_subscription(subscription_param(subscription, link))
    subscription.attempts += 1
    if not error:
        subscription.status, subscription.subscribed_at = SubscriptionStatus.SUBSCRIBED, now
        subscription.last_error, subscription.next_attempt_at = "", None
    elif not retry or subscription.attempts >= MAX_ATTEMPTS:
        subscription.status, subscription.next_attempt_at = SubscriptionStatus.FAILED, None
        subscription.last_error = error[:500]
        logger.warning("kuaidi100 subscription %s failed for good: %s", subscription.pk, error)
    else:
        wait = RETRY_WAITS[min(subscription.attempts - 1, len(RETRY_WAITS) - 1)]
        subscription.last_error = error[:500]
        subscription.next_attempt_at = now + timedelta(seconds=wait)
        logger.info(
            "kuaidi100 subscription %s failed, again in %ss: %s", subscription.pk, wait, error
        )
    with transaction.atomic():
        subscription.save(
            update_fields=["status", "attempts", "next_attempt_at", "last_error", "subscribed_at"]
        )
        if subscription.status == SubscriptionStatus.PENDING:
            _queue(subscription.pk, run_after=subscription.next_attempt_at)
    return str(subscription.status)


def _post_subscription(param: str) -> tuple[bool, str]:
    """POST the call; (worth retrying, error) — error blank when the aggregator took it."""
    body = urllib.parse.urlencode({"schema": "json", "param": param}).encode("utf-8")
    request = urllib.request.Request(
        settings.KUAIDI100_POLL_URL,
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    try:
        with urllib.request.urlopen(  # noqa: S310 (the configured aggregator's address)
            request, timeout=settings.KUAIDI100_TIMEOUT_SECONDS
        ) as answer:
            raw = answer.read(65536)
    except urllib.error.HTTPError as exc:
        return exc.code >= 500 or exc.code == 429, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return True, str(getattr(exc, "reason", exc))[:500]
    try:
        data = json.loads(raw)
        code, message = str(data.get("returnCode", "")), str(data.get("message", ""))
    except (ValueError, AttributeError):
        return True, f"unreadable answer: {raw[:200]!r}"
    if code in TAKEN_CODES:
        return False, ""
    return code in RETRIED_CODES, f"{code} {message}".strip()


def send_due_subscriptions(now: datetime | None = None, *, limit: int = 200) -> int:
    """Try every subscription whose wait is over (those a task did not send: a lost task, a
    backend without deferred runs). Returns how many were tried."""
    now = now or timezone.now()
    due = list(
        TrackingSubscription.objects.filter(status=SubscriptionStatus.PENDING)
        .exclude(next_attempt_at__gt=now)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in due:
        send_subscription(pk, now)
    return len(due)


def with_tracking(shipments: list[Shipment]) -> list[Shipment]:
    """The parcels, each with its subscription at the aggregator as `.tracking` (None when it
    was not subscribed), for the case page: a failed one says why, so the agent follows that
    parcel by hand."""
    subscriptions = {
        s.shipment_id: s
        for s in TrackingSubscription.objects.filter(shipment__in=[p.pk for p in shipments])
    }
    for shipment in shipments:
        shipment.tracking = subscriptions.get(shipment.pk)  # type: ignore[attr-defined]
    return shipments
