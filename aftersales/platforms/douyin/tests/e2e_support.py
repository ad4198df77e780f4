"""Helpers of the end-to-end tests against the simulator (its control API, our database)."""

from __future__ import annotations

from aftersales.cases.models import Case
from aftersales.core.actors import Actor
from aftersales.platforms.douyin.models import InboundMessage, OutboxOperation

APP_KEY = "e2e-app-key"
APP_SECRET = "e2e-app-secret-测试"
AGENT = Actor.system("agent-e2e")


def new_order(control, link, *, shipped=False, delivered=False, pay=8800, origin=10000):
    return control.post(
        "orders",
        {
            "shop_id": link.platform_shop_id,
            "items": [
                {
                    "product_name": "纯棉短袖T恤",
                    "category": "apparel",
                    "origin_amount": origin,
                    "pay_amount": pay,
                }
            ],
            "shipping_fee": 1000,
            "shipped": shipped,
            "delivered": delivered,
        },
    )


def apply(control, order, *, type, reason_code=2):
    return control.post(
        "aftersales", {"order_id": order["order_id"], "type": type, "reason_code": reason_code}
    )["aftersale_id"]


def platform_case(control, aftersale_id):
    return control.get(f"aftersales/{aftersale_id}")


def case_of(aftersale_id):
    return Case.objects.filter(platform_case_id=str(aftersale_id)).first()


def settled(product, control):
    """Wait until every push was answered and nothing of ours is waiting to be sent."""

    def quiet():
        pending = [p for p in control.get("pushes") if p["status"] not in ("delivered", "dead")]
        busy = OutboxOperation.objects.filter(status__in=["pending", "sending"]).exists()
        unprocessed = InboundMessage.objects.filter(status__in=["received", "processing"])
        return not pending and not busy and not unprocessed.exists()

    product.wait_for(quiet, what="pushes and operations to settle")
    assert not [p for p in control.get("pushes") if p["status"] == "dead"]


def successful_operations(control, aftersale_id, method="afterSale.operate"):
    return [
        op
        for op in control.get("operations", aftersale_id=aftersale_id, method=method)
        if op["code"] == 10000
    ]


def completed_and_refunded(control, aftersale_id):
    case = case_of(aftersale_id)
    return (
        case is not None
        and (case.status, case.refund_status) == ("completed", "refunded")
        and platform_case(control, aftersale_id)["refund_status"] == 3
    )
