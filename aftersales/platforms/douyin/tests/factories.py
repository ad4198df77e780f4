"""Builders for the Douyin adapter's tests (and the API's endpoint table)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from aftersales import testing
from aftersales.cases.models import Case
from aftersales.shops.models import Shop

from ..choices import OperationKind, OperationStatus
from ..models import DouyinShopLink, OutboxOperation
from ..outbox import quiet_notifications
from ..services import link_shop

# Nothing listens on port 1: a call there is refused at once.
NOWHERE = "http://127.0.0.1:1"


def link(
    shop: Shop,
    *,
    gateway_url: str = NOWHERE,
    app_key: str | None = None,
    secret: str = "test-secret-不要泄露",
    sign_method: str = "md5",
    with_token: bool = True,
) -> DouyinShopLink:
    linked = link_shop(
        shop=shop,
        app_key=app_key or testing.next_id("app"),
        app_secret=secret,
        platform_shop_id=shop.platform_shop_id,
        gateway_url=gateway_url,
        sign_method=sign_method,
        receiver_address_id="addr-1",
        by=testing.SYSTEM,
    )
    if with_token:
        DouyinShopLink.objects.filter(pk=linked.pk).update(
            access_token="token-0",
            refresh_token="refresh-0",
            token_expires_at=timezone.now() + timedelta(hours=2),
        )
        linked.refresh_from_db()
    return linked


def platform_case(shop: Shop, *, type: str = "return_refund", reason: str = "no_reason", **kw):
    """A case that came from a Douyin after-sale (it has a platform case id), opened without
    the buyer's "request received" message, so a test starts with no operations."""
    status = {"refund_unshipped": "unshipped", "refund_shipped": "shipped"}.get(type, "delivered")
    order = testing.make_order(shop, status=status, **kw)
    with quiet_notifications():
        return testing.make_case(
            order, type=type, reason=reason, platform_case_id=testing.next_id("as")
        )


def operation(case: Case, kind: str, status: str, *, key: str = "", **fields) -> OutboxOperation:
    """An outbox operation of `case` written as it stands, without delivery."""
    return OutboxOperation.objects.create(
        shop=case.shop,
        case=case,
        kind=kind,
        params=fields.pop("params", {}),
        idempotency_key=f"test-{case.pk}-{kind}{key}",
        status=status,
        created_at=fields.pop("created_at", timezone.now()),
        **fields,
    )


def sync_failed(shop: Shop) -> Case:
    """A case of a linked shop with one message to the buyer that failed to go out.

    The link's gateway refuses connections, so a retry is attempted and fails again (a
    transient failure: the operation is pending once more, nothing else changes)."""
    if not DouyinShopLink.objects.filter(shop=shop).exists():
        link(shop)
    case = platform_case(shop)
    operation(
        case,
        OperationKind.NOTIFY_BUYER,
        OperationStatus.FAILED,
        params={"content": "您好", "step": "case_opened"},
        attempts=1,
        last_error="HTTP 503",
    )
    return case
