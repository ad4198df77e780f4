"""R13.4: a second sales platform plugs in as an adapter, without the core changing.

A fake platform, registered here in the settings as a real one would be, must receive the
operations (every case event) and the buyer's messages of its own shop's cases, and execute
their refunds; a Douyin shop's adapter must receive none of them, and a shop on no connected
platform keeps its messages for the staff.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.test import override_settings

from aftersales import testing
from aftersales.cases import services
from aftersales.cases.models import Case, RefundExecution
from aftersales.cases.ports import CaseChange, RefundReceipt
from aftersales.core.actors import Actor
from aftersales.core.errors import InvalidInput
from aftersales.platforms.adapter import PLAIN, SyncState, adapter_for_case, buyer_text
from aftersales.platforms.douyin.models import OutboxOperation
from aftersales.platforms.douyin.tests import factories
from aftersales.platforms.models import StoredBuyerMessage
from aftersales.shops.models import Shop
from aftersales.sla.services import extend_deadline

pytestmark = pytest.mark.django_db

AGENT = Actor.system("agent-test")


@dataclass
class Heard:
    events: list[tuple[int, str]] = field(default_factory=list)
    messages: list[tuple[int, str, str]] = field(default_factory=list)
    refunds: list[int] = field(default_factory=list)
    extensions: list[int] = field(default_factory=list)


HEARD = Heard()


class FakeAdapter:
    """What a second platform's adapter would be: it only writes down what it is told."""

    name = "fake"
    linked = True

    def react(self, change: CaseChange) -> None:
        HEARD.events.append((change.case.pk, change.event))
        if text := buyer_text(change):
            self.send_to_buyer(change.case, text, cause=change.event)

    def send_to_buyer(self, case: Case, text: str, *, cause: str) -> None:
        HEARD.messages.append((case.pk, cause, text))

    def refund(self, execution: RefundExecution) -> RefundReceipt:
        HEARD.refunds.append(execution.pk)
        return RefundReceipt(reference=f"fake:{execution.pk}")

    def request_interception(self, *, case: Case, by: Actor) -> None:
        raise InvalidInput("no interception on the fake platform")

    def request_time_extension(self, *, case: Case, by: Actor) -> None:
        HEARD.extensions.append(case.pk)

    def add_order_remark(self, *, case: Case, remark: str, by: Actor) -> None:
        pass

    def sync_state(self, case: Case) -> SyncState:
        return SyncState(state="synced")

    def retry_failed(self, *, case: Case, by: Actor) -> None:
        pass

    def cases_out_of_sync(self) -> set[int]:
        return set()

    def explain_error(self, error: str) -> str:
        return ""

    def objection(self, case, event):
        return ""

    def refund_applied_for(self, case):
        return None


def fake_adapter_for_shop(shop_id: int) -> FakeAdapter:
    return FakeAdapter()


FAKE_PLATFORMS = {
    "douyin": "aftersales.platforms.douyin.adapter.adapter_for_shop",
    "fake": f"{__name__}.fake_adapter_for_shop",
}


@pytest.fixture(autouse=True)
def fresh_ears():
    HEARD.__init__()  # type: ignore[misc]
    with override_settings(AFTERSALES_PLATFORM_ADAPTERS=FAKE_PLATFORMS):
        yield


def fake_shop_case(**kwargs) -> Case:
    shop = testing.make_shop("第二平台的店")
    shop.platform = "fake"  # the case's opening keeps this shop object: saved, not updated
    shop.save(update_fields=["platform"])
    order = testing.make_order(shop, status="unshipped")
    return testing.make_case(
        order, type="refund_unshipped", platform_case_id=testing.next_id("fake"), **kwargs
    )


def test_r13_4_a_second_platform_hears_its_cases_events_messages_and_refunds(
    django_capture_on_commit_callbacks,
):
    douyin_shop = testing.make_shop("抖音店")
    factories.link(douyin_shop)
    douyin_case = factories.platform_case(douyin_shop)
    douyin_operations = OutboxOperation.objects.filter(case=douyin_case).count()

    case = fake_shop_case()
    assert isinstance(adapter_for_case(case), FakeAdapter)
    services.message_buyer(case=case, text="您好，已收到您的申请。", by=AGENT)
    services.approve_case(case=case, by=AGENT)
    with django_capture_on_commit_callbacks(execute=True):
        decision = services.refund_case(case=case, by=AGENT)

    assert [event for pk, event in HEARD.events if pk == case.pk] == [
        "case_opened",
        "buyer_message_sent",
        "case_approved",
        "refund_decided",
        "refund_executed",
    ]
    # The agent's message, and the satisfaction survey once the refund ended the case (R8.6).
    assert HEARD.messages[0] == (case.pk, "buyer_message_sent", "您好，已收到您的申请。")
    assert [(pk, cause) for pk, cause, _text in HEARD.messages[1:]] == [
        (case.pk, "satisfaction_survey")
    ]
    execution = RefundExecution.objects.get(decision=decision)
    assert HEARD.refunds == [execution.pk]
    assert execution.external_reference == f"fake:{execution.pk}"
    # Douyin heard nothing of it, and nothing was kept as if the case had no platform.
    assert not OutboxOperation.objects.filter(case=case).exists()
    assert OutboxOperation.objects.filter(case=douyin_case).count() == douyin_operations
    assert not StoredBuyerMessage.objects.exists()
    assert not any(pk == douyin_case.pk for pk, _ in HEARD.events)


def test_r13_4_a_deadline_extension_reaches_the_buyer_through_the_cases_platform():
    case = fake_shop_case()
    clock = case.clocks.get(kind="first_response")

    extend_deadline(
        clock=clock, hours=4, reason="仓库盘点", message_to_buyer="我们需要多4小时核实。", by=AGENT
    )

    assert HEARD.messages == [(case.pk, "deadline_extended", "我们需要多4小时核实。")]


def test_r13_4_a_case_on_no_connected_platform_keeps_its_messages_for_the_staff():
    shop = testing.make_shop("未接入平台的店")
    case = testing.make_case(testing.make_order(shop, status="unshipped"), type="refund_unshipped")

    assert adapter_for_case(case) is PLAIN
    services.message_buyer(case=case, text="请提供照片。", by=AGENT)

    stored = StoredBuyerMessage.objects.get(case=case)
    assert (stored.text, stored.cause, stored.shop_id) == (
        "请提供照片。",
        "buyer_message_sent",
        shop.pk,
    )
    assert HEARD.events == [] and not OutboxOperation.objects.exists()
    with pytest.raises(InvalidInput):
        PLAIN.request_time_extension(case=case, by=AGENT)


def test_r13_4_a_platform_without_an_adapter_is_served_by_the_plain_one():
    shop = testing.make_shop("无适配器的平台")
    Shop.objects.filter(pk=shop.pk).update(platform="unknown-platform")
    order = testing.make_order(shop, status="unshipped")
    case = testing.make_case(order, type="refund_unshipped", platform_case_id=testing.next_id("x"))

    assert adapter_for_case(case) is PLAIN
