"""Staff alerts (issue 13): the shop's group robots, alerts raised once per source, and their
delivery through the task worker with retries.

- `configure_channel` / `update_channel`: a shop admin sets up a robot (the URL's host must be
  the robot's own; the secrets are never shown again, only masked).
- `raise_alert`: called in the caller's transaction (an incident proposed, a breach found);
  writes the alert once per `key` and one `AlertDelivery` per robot that carries that kind,
  queued for the worker when the transaction commits.
- `deliver`: one try of one delivery, outside any transaction: claimed by a conditional
  update (two workers never send the same try), posted, then recorded; a refusal or a network
  error waits `RETRY_WAITS[attempt]` and is tried again, `MAX_ATTEMPTS` in all.
- `send_due_alerts`: the safety net the `send_alerts` command runs: finds breached SLA clocks
  that have no alert yet (the SLA's breach is on the audit trail, not a case event) and sends
  every delivery whose wait is over (lost tasks, or a backend that cannot defer).
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from aftersales.audit.chain import record_event
from aftersales.core.actors import Actor
from aftersales.core.errors import InvalidInput, NotFound, PermissionDenied
from aftersales.shops.choices import Role
from aftersales.shops.models import Shop
from aftersales.sla.models import SlaClock

from . import robots
from .models import Alert, AlertDelivery, AlertKind, DeliveryStatus, RobotChannel

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Wait before the 2nd, 3rd, … try (seconds): a robot's rate limit (20 a minute) passes.
RETRY_WAITS = (30, 120, 600, 1800)
CLAIM_SECONDS = 60  # a try in progress holds its delivery this long
NAME_MAX_LENGTH = 100
URL_MAX_LENGTH = 500
SECRET_MAX_LENGTH = 200
BREACH_LOOKBACK = timedelta(days=2)  # breaches older than this are not announced late

MANAGE_ROLES = frozenset({Role.ADMIN})
READ_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR})


# --- Robots ---------------------------------------------------------------------------------


def channels_for_actor(actor: Actor, shop_id: int) -> list[RobotChannel]:
    _check(actor, shop_id, READ_ROLES)
    return list(RobotChannel.objects.filter(shop_id=shop_id).order_by("pk"))


def get_channel_for_actor(actor: Actor, pk: int) -> RobotChannel:
    """The robot, if it belongs to a shop the actor administers; otherwise not found."""
    channel = RobotChannel.objects.filter(pk=pk).first()
    if channel is None or not (actor.is_unscoped or actor.role_in(channel.shop_id) in MANAGE_ROLES):
        raise NotFound(_("Robot not found."))
    return channel


def _check(actor: Actor, shop_id: int, roles: frozenset[str]) -> None:
    if actor.is_unscoped:
        return
    role = actor.role_in(shop_id)
    if role is None:
        raise NotFound(_("Shop not found."))
    if role not in roles:
        raise PermissionDenied(_("Only a shop admin can set up the group robots."))


def allowed_hosts(kind: str) -> set[str]:
    return {robots.OFFICIAL_HOSTS[kind], *getattr(settings, "AFTERSALES_ALERT_EXTRA_HOSTS", ())}


def _clean(kind: str, name: str, url: str, secret: str, alert_kinds: Sequence[str]) -> list[str]:
    if kind not in robots.RobotKind.values:
        raise InvalidInput(_("Unknown robot."), field="kind")
    for field, value, limit in (
        ("name", name, NAME_MAX_LENGTH),
        ("webhook_url", url, URL_MAX_LENGTH),
        ("secret", secret, SECRET_MAX_LENGTH),
    ):
        if len(value) > limit:
            raise InvalidInput(
                _("The text is too long: %(length)d characters, at most %(limit)d."),
                field=field,
                length=len(value),
                limit=limit,
            )
    if not name.strip():
        raise InvalidInput(_("Give the robot a name."), field="name")
    parts = urllib.parse.urlsplit(url.strip())
    official = parts.hostname == robots.OFFICIAL_HOSTS[kind]
    if (
        parts.scheme not in {"https", "http"}
        or (official and parts.scheme != "https")
        or parts.netloc not in allowed_hosts(kind)
        and parts.hostname not in allowed_hosts(kind)
    ):
        raise InvalidInput(
            _("The webhook must be the robot's own address, on %(host)s."),
            field="webhook_url",
            host=robots.OFFICIAL_HOSTS[kind],
        )
    if kind == robots.RobotKind.WECOM and secret:
        raise InvalidInput(
            _("A WeCom group robot signs nothing: leave the secret empty."), field="secret"
        )
    kinds = list(dict.fromkeys(alert_kinds))
    if not kinds or any(k not in AlertKind.values for k in kinds):
        raise InvalidInput(_("Choose which alerts the robot carries."), field="alert_kinds")
    return kinds


@transaction.atomic
def configure_channel(
    *,
    shop: Shop,
    kind: str,
    name: str,
    webhook_url: str,
    secret: str = "",
    alert_kinds: Sequence[str],
    by: Actor,
) -> RobotChannel:
    _check(by, shop.pk, MANAGE_ROLES)
    kinds = _clean(kind, name, webhook_url, secret, alert_kinds)
    channel = RobotChannel.objects.create(
        shop=shop,
        kind=kind,
        name=name.strip(),
        webhook_url=webhook_url.strip(),
        secret=secret.strip(),
        alert_kinds=kinds,
        created_at=timezone.now(),
    )
    record_event(
        shop_id=shop.pk,
        type="alert_robot_configured",
        by=by,
        payload={"robot": channel.pk, **_public(channel)},
    )
    return channel


@transaction.atomic
def update_channel(
    *,
    channel: RobotChannel,
    name: str,
    webhook_url: str = "",
    secret: str = "",
    alert_kinds: Sequence[str],
    active: bool,
    by: Actor,
) -> RobotChannel:
    """Change a robot. An empty URL or secret keeps the one stored (the form never shows
    them again); `secret="-"` removes the secret."""
    channel = RobotChannel.objects.select_for_update().get(pk=channel.pk)
    _check(by, channel.shop_id, MANAGE_ROLES)
    before = _public(channel)
    url = webhook_url.strip() or channel.webhook_url
    new_secret = "" if secret.strip() == "-" else (secret.strip() or channel.secret)
    kinds = _clean(channel.kind, name, url, new_secret, alert_kinds)
    channel.name, channel.webhook_url, channel.secret = name.strip(), url, new_secret
    channel.alert_kinds, channel.active = kinds, active
    channel.save()
    record_event(
        shop_id=channel.shop_id,
        type="alert_robot_configured",
        by=by,
        before=before,
        after=_public(channel),
        payload={"robot": channel.pk},
    )
    return channel


def _public(channel: RobotChannel) -> dict[str, Any]:
    """What the record keeps of a robot: never its secrets."""
    return {
        "kind": channel.kind,
        "name": channel.name,
        "webhook_url": robots.masked_url(channel.webhook_url),
        "signed": bool(channel.secret),
        "alert_kinds": list(channel.alert_kinds),
        "active": channel.active,
    }


# --- Raising --------------------------------------------------------------------------------


def raise_alert(
    *,
    shop_id: int,
    kind: str,
    key: str,
    title: str,
    lines: Iterable[str] = (),
    link: str = "",
    case_id: int | None = None,
) -> Alert | None:
    """Raise an alert once per `key`, in the caller's transaction; the deliveries leave when
    it commits. Returns None when the key was raised before."""
    with transaction.atomic():
        if Alert.objects.filter(key=key).exists():
            return None
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    shop_id=shop_id,
                    kind=kind,
                    key=key[:100],
                    title=title[:200],
                    lines=[line[:500] for line in lines],
                    link=link[:300],
                    case_id=case_id,
                    created_at=timezone.now(),
                )
        except IntegrityError:
            return None  # raised by someone else just now
        channels = [
            c
            for c in RobotChannel.objects.filter(shop_id=shop_id, active=True)
            if kind in c.alert_kinds
        ]
        deliveries = [AlertDelivery.objects.create(alert=alert, channel=c) for c in channels]
        for delivery in deliveries:
            _queue(delivery.pk)
    return alert


def _queue(delivery_id: int, run_after: datetime | None = None) -> None:
    from .tasks import deliver_alert_task

    task: Any = deliver_alert_task
    if run_after is not None:
        if not task.get_backend().supports_defer:
            return  # the sweep sends it when its wait is over
        task = task.using(run_after=run_after)
    transaction.on_commit(lambda: task.enqueue(delivery_id))


def public_link(path: str) -> str:
    base = getattr(settings, "AFTERSALES_PUBLIC_BASE_URL", "")
    return f"{base.rstrip('/')}{path}" if base else path


# --- Delivering -----------------------------------------------------------------------------


def deliver(delivery_id: int, now: datetime | None = None) -> str:
    """One try of one delivery. Returns its status afterwards."""
    now = now or timezone.now()
    claimed = (
        AlertDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING)
        .exclude(next_attempt_at__gt=now)
        .update(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
    )
    delivery = AlertDelivery.objects.select_related("alert", "channel").get(pk=delivery_id)
    if not claimed:
        return str(delivery.status)  # sent, given up, waiting, or being tried elsewhere
    channel, alert = delivery.channel, delivery.alert
    message = robots.Message(title=alert.title, lines=tuple(alert.lines), link=alert.link)
    request = robots.build_request(
        channel.kind, channel.webhook_url, channel.secret, message, now=time.time()
    )
    ok, error = _post(channel.kind, request)
    delivery.attempts += 1
    if ok:
        delivery.status, delivery.sent_at, delivery.last_error = DeliveryStatus.SENT, now, ""
        delivery.next_attempt_at = None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status, delivery.last_error, delivery.next_attempt_at = (
            DeliveryStatus.FAILED,
            error,
            None,
        )
        logger.warning("alert %s to robot %s failed for good: %s", alert.pk, channel.pk, error)
    else:
        wait = RETRY_WAITS[min(delivery.attempts - 1, len(RETRY_WAITS) - 1)]
        delivery.last_error, delivery.next_attempt_at = error, now + timedelta(seconds=wait)
        logger.info(
            "alert %s to robot %s failed, again in %ss: %s", alert.pk, channel.pk, wait, error
        )
    with transaction.atomic():
        delivery.save(
            update_fields=["status", "attempts", "next_attempt_at", "last_error", "sent_at"]
        )
        if delivery.status == DeliveryStatus.PENDING:
            _queue(delivery.pk, run_after=delivery.next_attempt_at)
    return str(delivery.status)


def _post(kind: str, request: robots.Request) -> tuple[bool, str]:
    http = urllib.request.Request(
        request.url,
        data=request.body,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    timeout = getattr(settings, "AFTERSALES_ALERT_TIMEOUT_SECONDS", 5)
    try:
        with urllib.request.urlopen(http, timeout=timeout) as answer:  # noqa: S310 (checked hosts)
            return robots.accepted(kind, answer.status, answer.read(65536))
    except urllib.error.HTTPError as exc:
        return False, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return False, str(getattr(exc, "reason", exc))[:500]


# --- The safety net -------------------------------------------------------------------------


def raise_breach_alerts(now: datetime | None = None) -> int:
    """An alert for every merchant's clock that breached lately and has none yet."""
    now = now or timezone.now()
    clocks = (
        SlaClock.objects.filter(breached_at__gte=now - BREACH_LOOKBACK, is_buyer_clock=False)
        .select_related("case")
        .order_by("breached_at")[:500]
    )
    raised = 0
    keys = {f"sla_breach:{c.pk}": c for c in clocks}
    known = set(Alert.objects.filter(key__in=list(keys)).values_list("key", flat=True))
    for key, clock in keys.items():
        if key in known:
            continue
        with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
            alert = raise_alert(
                shop_id=clock.shop_id,
                kind=AlertKind.SLA_BREACHED,
                key=key,
                title=gettext("Deadline breached: case #%(case)s") % {"case": clock.case_id},
                lines=[
                    gettext("Deadline: %(clock)s") % {"clock": clock.get_kind_display()},
                    gettext("Was due at %(due)s")
                    % {"due": timezone.localtime(clock.due_at).strftime("%Y-%m-%d %H:%M")},
                ],
                link=public_link(f"/cases/{clock.case_id}/"),
                case_id=clock.case_id,
            )
        raised += alert is not None
    return raised


def send_due_alerts(now: datetime | None = None, *, limit: int = 200) -> tuple[int, int]:
    """Raise the missing breach alerts, then try every delivery whose wait is over.
    Returns (alerts raised, deliveries tried)."""
    now = now or timezone.now()
    raised = raise_breach_alerts(now)
    due = list(
        AlertDelivery.objects.filter(status=DeliveryStatus.PENDING)
        .exclude(next_attempt_at__gt=now)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in due:
        deliver(pk, now)
    return raised, len(due)


def recent_deliveries(actor: Actor, shop_id: int, limit: int = 50) -> list[AlertDelivery]:
    _check(actor, shop_id, READ_ROLES)
    return list(
        AlertDelivery.objects.filter(alert__shop_id=shop_id)
        .select_related("alert", "channel")
        .order_by("-alert__created_at", "-pk")[:limit]
    )


def send_test_alert(*, channel: RobotChannel, by: Actor) -> Alert | None:
    """A message to one robot to check its set-up (its own alert, sent to it alone)."""
    _check(by, channel.shop_id, MANAGE_ROLES)
    with transaction.atomic():
        alert = Alert.objects.create(
            shop_id=channel.shop_id,
            kind=AlertKind.PLATFORM_WARNING,
            key=f"test:{channel.pk}:{timezone.now().timestamp()}"[:100],
            title=gettext("Test message from the after-sales system"),
            lines=[gettext("This robot is set up: alerts will arrive here.")],
            created_at=timezone.now(),
        )
        delivery = AlertDelivery.objects.create(alert=alert, channel=channel)
        _queue(delivery.pk)
    return alert
