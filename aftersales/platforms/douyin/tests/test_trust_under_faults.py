"""Issue 15: trust under faults — what the platform closed, lost answers, inputs PostgreSQL
refuses. Each test strikes the fault the soak found and asserts what must (not) happen."""

from __future__ import annotations

import pytest
from django.test import Client

from aftersales.cases import services
from aftersales.cases.models import Case, RefundExecution
from aftersales.core.actors import Actor
from aftersales.orders.models import OrderItem
from aftersales.platforms.douyin.models import OutboxOperation

from .mini_platform import MiniPlatform
from .support import body_of, message, post_push

pytestmark = pytest.mark.django_db(transaction=True)

AGENT = Actor.system("agent")


@pytest.fixture
def platform(linked, gateway):
    return MiniPlatform(gateway, linked.platform_shop_id)


def push(link, tag, aftersale_id, **data):
    body = body_of(message(tag, aftersale_id, link.platform_shop_id, **data))
    response = post_push(Client(), body, app_key=link.app_key, secret=link.app_secret)
    assert response.status_code == 200, response.content
    return response


def test_r1_4_a_refund_the_platform_closed_before_paying_releases_its_booking(linked, platform):
    """F1: approved refund-only, the buyer withdraws on the platform (207), the agreement is
    refused (50002, status 28): the case closes, the item shows nothing refunded, the
    execution is cancelled and never claimed again."""
    order = platform.add_order(status=3, shipped=True, signed=True, pay_amount=38900)
    aftersale_id = platform.add_aftersale(order, type=1, reason_code=2)
    push(linked, "200", aftersale_id)
    case = Case.objects.get(platform_case_id=aftersale_id)
    if case.status == "pending_review":
        services.approve_case(case=case, by=AGENT)
    platform.set_status(aftersale_id, 28, refund_status=0)  # the buyer withdrew meanwhile
    case.refresh_from_db()
    if case.refund_status == "none":
        services.refund_case(case=case, by=AGENT)
    agree = OutboxOperation.objects.get(case=case, kind="agree")
    assert agree.status == "failed" and "20309541" in agree.last_error
    item = OrderItem.objects.get(order__cases=case)
    assert RefundExecution.objects.get(decision__case=case).status == "failed"

    push(linked, "207", aftersale_id, close_time=1)

    case.refresh_from_db()
    item.refresh_from_db()
    assert (case.status, case.refund_status) == ("closed", "none")
    assert item.refunded_amount_fen == 0  # the refunded figure is money that left: none did
    assert item.order.shipping_refunded_fen == 0
    execution = RefundExecution.objects.get(decision__case=case)
    assert execution.status == "cancelled"
    cancelled = case.events.get(type="refund_cancelled")
    assert cancelled.actor_kind == "platform" and cancelled.payload["released_fen"] > 0
    # Nothing retries or pays it afterwards.
    with pytest.raises(Exception, match="no failed refund"):
        services.retry_refund(case=case, by=AGENT)
    services.execute_refund(execution=execution, by=AGENT)
    execution.refresh_from_db()
    assert execution.status == "cancelled" and execution.attempts == 1
    # The item may be refunded in full by another case now.
    assert services.case_item_caps(case)[0].cap_fen == 38900


@pytest.mark.parametrize(
    "local", ["awaiting_inspection", "pending_final_review", "awaiting_shipment"]
)
def test_r1_2_every_open_status_follows_the_platform_closing(linked, platform, local):
    """F1: states that had no edge to closed follow the platform's 28."""
    order = platform.add_order(status=5, shipped=True, signed=True)
    aftersale_id = platform.add_aftersale(order, type=3 if local == "awaiting_shipment" else 0)
    push(linked, "200", aftersale_id)
    case = Case.objects.get(platform_case_id=aftersale_id)
    Case.objects.filter(pk=case.pk).update(status=local)
    platform.set_status(aftersale_id, 28, refund_status=0)

    push(linked, "207", aftersale_id)

    case.refresh_from_db()
    assert case.status == "closed"
    assert case.events.get(type="case_closed").actor_kind == "platform"


def test_r1_2_a_merchant_closes_only_what_goes_no_further(linked, platform):
    """The new edges to closed are the platform's; an agent still cannot close a case whose
    goods are being inspected or whose refund is moving."""
    order = platform.add_order(status=5, shipped=True, signed=True)
    aftersale_id = platform.add_aftersale(order, type=0)
    push(linked, "200", aftersale_id)
    case = Case.objects.get(platform_case_id=aftersale_id)
    Case.objects.filter(pk=case.pk).update(status="awaiting_inspection")
    with pytest.raises(Exception, match="awaiting_inspection|cannot|not allowed"):
        services.close_case(case=case, note="想关掉", by=AGENT)
    case.refresh_from_db()
    assert case.status == "awaiting_inspection"


# --- Lost answers: what the platform did counts as done, a message is sent once ------------


def attempts_of(operation):
    return list(operation.attempt_log.order_by("number").values_list("outcome", flat=True))


def test_r3_5_a_message_whose_answer_was_lost_reaches_the_buyer_once(linked, platform):
    """The platform sent the buyer's message, then the answer was lost (HTTP 502 after the
    fact): the retry carries the same key, the platform says it has it, the operation is done
    and the buyer has one message, not two."""
    order = platform.add_order(status=3, shipped=True, signed=True)
    aftersale_id = platform.add_aftersale(order, type=0)
    push(linked, "200", aftersale_id)
    case = Case.objects.get(platform_case_id=aftersale_id)
    platform.faults["im.sendMessage"] = ["after:502"]
    sent_before = len(platform.messages)

    services.message_buyer(case=case, text="您好，请问商品是哪里有问题？", by=AGENT)

    texts = [m["content"] for m in platform.messages[sent_before:]]
    assert texts == ["您好，请问商品是哪里有问题？"]
    operation = OutboxOperation.objects.filter(case=case, kind="notify_buyer").latest("pk")
    assert operation.status == "synced"
    assert attempts_of(operation) == ["transient_error", "already_done"]
    assert not case.events.filter(type="platform_operation_failed").exists()


def test_r2_6_an_extension_whose_answer_was_lost_is_done_not_failed(linked, platform):
    """timeExtend applied, answer lost; the retry is told "already extended this step": the
    operation is done (the platform is where it should be), not a false failure."""
    from aftersales.platforms.douyin.outbox import request_platform_extension

    order = platform.add_order(status=3, shipped=True, signed=True)
    aftersale_id = platform.add_aftersale(order, type=0)
    push(linked, "200", aftersale_id)
    case = Case.objects.get(platform_case_id=aftersale_id)
    extended: list[str] = []
    answer = platform._answer

    def once_per_step(method, params):
        if method == "afterSale.timeExtend":
            if extended:
                from .fake_gateway import error

                return error(
                    50002, "isv.business-failed:20309541", "售后状态错误：本阶段已延长过一次时效"
                )
            extended.append(params["aftersale_id"])
        return answer(method, params)

    platform._answer = once_per_step
    platform.faults["afterSale.timeExtend"] = ["after:502"]

    operation = request_platform_extension(case=case, by=AGENT)

    operation.refresh_from_db()
    assert extended == [aftersale_id]
    assert operation.status == "synced"
    assert attempts_of(operation) == ["transient_error", "already_done"]


# --- NUL characters: sanitised at the boundary, never a lost request ------------------------
# SQLite stores NUL; PostgreSQL refuses it (text and jsonb). These matter on PostgreSQL.


def test_r13_2_a_buyer_statement_with_nul_opens_the_case_and_the_push_is_processed(
    linked, platform
):
    from aftersales.platforms.douyin.models import DouyinAftersale, InboundMessage

    order = platform.add_order(status=3, shipped=True, signed=True)
    aftersale_id = platform.add_aftersale(order, type=0)
    platform.info(aftersale_id)["buyer_statement"] = "衣服有破洞\x00\x00请处理"

    push(linked, "200", aftersale_id)

    case = Case.objects.get(platform_case_id=aftersale_id)
    assert case.buyer_statement == "衣服有破洞\ufffd\ufffd请处理"
    assert InboundMessage.objects.get(aftersale_id=aftersale_id).status == "processed"
    assert (
        "\ufffd"
        in DouyinAftersale.objects.get(case=case).detail["process_info"]["after_sale_info"][
            "buyer_statement"
        ]
    )


def test_r13_2_a_signed_push_whose_data_holds_nul_is_stored_and_applied(linked, platform):
    import json

    from aftersales.platforms.douyin.models import InboundMessage

    order = platform.add_order(status=3, shipped=True, signed=True)
    aftersale_id = platform.add_aftersale(order, type=0)
    item = message("200", aftersale_id, linked.platform_shop_id, note="a\x00b")
    body = json.dumps([item]).encode()
    assert b"\\u0000" in body

    response = post_push(Client(), body, app_key=linked.app_key, secret=linked.app_secret)

    assert response.status_code == 200
    stored = InboundMessage.objects.get(aftersale_id=aftersale_id)
    assert stored.status == "processed"
    assert "\\u0000" in stored.body  # the original, as sent
    assert Case.objects.filter(platform_case_id=aftersale_id).exists()


def test_r13_2_a_nul_byte_in_the_body_is_refused_as_malformed_and_kept(linked):
    from aftersales.platforms.douyin.models import InboundMessage

    body = b'[{"tag":"200","msg_id":"m1","data":"{}"}]\x00'
    response = post_push(Client(), body, app_key=linked.app_key, secret=linked.app_secret)

    assert response.status_code == 400
    stored = InboundMessage.objects.get()
    assert stored.status == "malformed" and stored.body.endswith("\\u0000")


# --- The webhook keeps a bounded record of what nobody signed -------------------------------


def test_r13_2_unsigned_pushes_are_kept_bounded_in_size_and_rate(linked, settings):
    from aftersales.platforms.douyin.models import InboundMessage

    settings.DOUYIN_REFUSED_BODY_KEPT_BYTES = 1024
    settings.DOUYIN_REFUSED_PER_MINUTE = 3
    body = b"[" + b"x" * (512 * 1024) + b"]"
    client = Client()
    answers = [
        post_push(client, body, app_key=linked.app_key, signature="forged").status_code
        for _ in range(6)
    ]

    assert answers == [401] * 6
    kept = list(InboundMessage.objects.all())
    assert len(kept) == 3  # the rest only logged
    assert all(m.status == "bad_signature" and len(m.body) <= 1024 for m in kept)
    assert all(f"{len(body)} bytes, sha256" in m.error for m in kept)
    # Another source is not silenced by the first one's flood.
    other = Client(REMOTE_ADDR="198.51.100.7")
    assert post_push(other, b"[]", app_key="nobody", signature="x").status_code == 401
    assert InboundMessage.objects.count() == 4


def test_r13_2_an_app_id_with_nul_is_refused_not_a_500(linked):
    response = post_push(Client(), b"[]", app_key="app\x00id", signature="x")
    assert response.status_code == 401
