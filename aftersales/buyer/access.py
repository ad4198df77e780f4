"""Access without an account (R10.2): order number + last four phone digits + a one-time
code, or a signed link the shop sends. Either opens a session scoped to that one order.

- The same answer whether the order number or the phone digits are wrong (`request_code`
  returns the same outcome; only a channel that shows the code shows it, and only for a
  match).
- Rate limits per order number (as typed) and per client address, counted in the database.
- Codes: six digits, stored as a keyed hash, single-use, expiring, a few tries each.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

from aftersales.core.errors import DomainError
from aftersales.orders.models import Order

from .channels import code_channel
from .models import AccessAttempt, AccessCode, LinkRevocation

RATE_WINDOW = timedelta(hours=1)
LINK_SALT = "aftersales.buyer.link"


class TooManyAttempts(DomainError):
    code = "rate_limited"
    status = 429
    default_message = _("Too many attempts. Please wait a while and try again.")


class AccessRefused(DomainError):
    """A wrong, expired or used code, or a bad link: one message for all of them."""

    code = "access_refused"
    status = 400
    default_message = _("The code is wrong or has expired. Request a new one.")


@dataclass(frozen=True)
class CodeRequest:
    """What the page may say: always the same, except the code a showing channel gives."""

    shown_code: str = ""


def _key(value: str) -> str:
    return salted_hmac("aftersales.buyer.attempt", value, algorithm="sha256").hexdigest()


def _normalise_order_number(number: str) -> str:
    return "".join(number.split())


def _check_and_count(*, order_number: str, address: str, action: str) -> None:
    """Refuse when either limit is reached, else count this attempt against both."""
    now = timezone.now()
    since = now - RATE_WINDOW
    limits = {
        AccessAttempt.Scope.ORDER: (_key(order_number), settings.AFTERSALES_BUYER_RATE_PER_ORDER),
        AccessAttempt.Scope.ADDRESS: (_key(address), settings.AFTERSALES_BUYER_RATE_PER_ADDRESS),
    }
    for scope, (key, limit) in limits.items():
        used = AccessAttempt.objects.filter(
            scope=scope, key=key, action=action, at__gt=since
        ).count()
        if used >= limit:
            raise TooManyAttempts()
    AccessAttempt.objects.bulk_create(
        [
            AccessAttempt(scope=scope, key=key, action=action, at=now)
            for scope, (key, _l) in limits.items()
        ]
    )


def _matching_order(order_number: str, phone_last4: str) -> Order | None:
    if len(phone_last4) != 4 or not phone_last4.isdigit():
        return None
    matches = [
        order
        for order in Order.objects.select_related("buyer").filter(platform_order_id=order_number)
        if phone_last4 in {order.buyer.phone.strip()[-4:], order.receiver_phone.strip()[-4:]}
    ]
    # Order numbers are the platform's and unique there; two shops with the same number and
    # the same digits cannot be told apart, so neither is opened.
    return matches[0] if len(matches) == 1 else None


def _code_hash(order_id: int, code: str) -> str:
    return salted_hmac(
        "aftersales.buyer.code", f"{order_id}:{code}", algorithm="sha256"
    ).hexdigest()


def request_code(*, order_number: str, phone_last4: str, address: str) -> CodeRequest:
    """Send a code if the order and the digits match; the same outcome when they do not."""
    order_number = _normalise_order_number(order_number)
    with transaction.atomic():
        _check_and_count(order_number=order_number, address=address, action="request")
        order = _matching_order(order_number, phone_last4.strip())
        if order is None:
            return CodeRequest()
        code = f"{secrets.randbelow(10**6):06d}"
        now = timezone.now()
        channel = code_channel()
        AccessCode.objects.create(
            shop_id=order.shop_id,
            order=order,
            code_hash=_code_hash(order.pk, code),
            channel=channel.name,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.AFTERSALES_BUYER_CODE_TTL_SECONDS),
        )
        delivery = channel.deliver(order, code)
    return CodeRequest(shown_code=delivery.shown_code)


def verify_code(*, order_number: str, code: str, address: str) -> Order:
    """The order the code opens, used up; `AccessRefused` for anything else."""
    order_number = _normalise_order_number(order_number)
    code = code.strip()
    with transaction.atomic():
        _check_and_count(order_number=order_number, address=address, action="verify")
        now = timezone.now()
        live = AccessCode.objects.filter(
            order__platform_order_id=order_number,
            used_at__isnull=True,
            expires_at__gt=now,
            failed_tries__lt=settings.AFTERSALES_BUYER_CODE_MAX_TRIES,
        ).select_related("order")
        for candidate in live:
            if constant_time_compare(candidate.code_hash, _code_hash(candidate.order_id, code)):
                # Single use even against a concurrent try: only one update wins.
                if AccessCode.objects.filter(pk=candidate.pk, used_at__isnull=True).update(
                    used_at=now
                ):
                    return candidate.order
                break
        live.update(failed_tries=F("failed_tries") + 1)
    raise AccessRefused()


def signed_link_token(order: Order) -> str:
    """A token the shop can send the buyer; it opens the order until it expires or the shop
    withdraws the order's links. It carries when it was issued (to the microsecond)."""
    return signing.dumps({"order": order.pk, "at": timezone.now().timestamp()}, salt=LINK_SALT)


@dataclass(frozen=True)
class LinkAccess:
    order: Order
    issued_at: float  # POSIX seconds; links made before revocations existed count as 0


def order_for_link(token: str) -> LinkAccess:
    try:
        data = signing.loads(
            token, salt=LINK_SALT, max_age=settings.AFTERSALES_BUYER_LINK_MAX_AGE_SECONDS
        )
        order = Order.objects.select_related("shop").get(pk=int(data["order"]))
        issued_at = float(data.get("at", 0))
    except (signing.BadSignature, KeyError, TypeError, ValueError, Order.DoesNotExist) as exc:
        raise AccessRefused(
            _("The link is not valid or has expired. Ask the shop for a new one.")
        ) from exc
    if link_withdrawn(order.pk, issued_at):
        raise AccessRefused(_("The shop has withdrawn this link. Ask the shop for a new one."))
    return LinkAccess(order=order, issued_at=issued_at)


def link_withdrawn(order_id: int, issued_at: float) -> bool:
    """Whether the shop withdrew the order's links after this one was issued."""
    revocation = LinkRevocation.objects.filter(order_id=order_id).first()
    return revocation is not None and issued_at <= revocation.revoked_at.timestamp()
