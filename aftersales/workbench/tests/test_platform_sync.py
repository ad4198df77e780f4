"""The case page's platform sync panel and platform operations.

What the product tells Douyin goes through the outbox (R13.1): the page shows the case's
operations with their state and the platform's reason for a failure, and a writer can send the
failed ones again. Two operations that existed only as services are offered: asking the
platform for more time on the current step (R2.6: the platform's own deadline) and a remark on
the platform's order. Cases not from a connected Douyin shop show neither.

No delivery happens here: the test backend runs tasks after commit, and these tests never
commit, so every operation stays as written.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aftersales import testing
from aftersales.audit.models import AuditEvent
from aftersales.cases import services
from aftersales.cases.choices import TERMINAL_STATUSES
from aftersales.cases.models import Case
from aftersales.cases.tests.steps import path_to, reachable_statuses
from aftersales.cases.transitions import ALLOWED_TRANSITIONS
from aftersales.platforms.douyin.choices import OperationKind, OperationStatus
from aftersales.platforms.douyin.models import DouyinAftersale, DouyinShopLink, OutboxOperation
from aftersales.platforms.douyin.tests import factories
from aftersales.shops.services import actor_for_user
from aftersales.workbench.actions import available_actions
from aftersales.workbench.forms import PLATFORM_REMARK_MAX_LENGTH

pytestmark = pytest.mark.django_db

SYSTEM = testing.SYSTEM
PLATFORM_ACTIONS = {"platform-extension", "platform-remark"}


@pytest.fixture(autouse=True)
def english(client):
    """Messages are checked in English, whatever catalogue is compiled."""
    client.cookies["django_language"] = "en"


@pytest.fixture
def linked_case(shop_a) -> Case:
    """A Douyin after-sale of shop A, connected to Douyin (the gateway is never called)."""
    factories.link(shop_a)
    return factories.platform_case(shop_a)


@pytest.fixture
def failed_case(shop_a) -> Case:
    """A linked case whose message to the buyer failed to go out ("HTTP 503")."""
    return factories.sync_failed(shop_a)


def page(client, case: Case) -> str:
    response = client.get(f"/cases/{case.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def retry(client, case: Case, **kwargs):
    return client.post(f"/cases/{case.pk}/platform/retry/", **kwargs)


def post(client, case: Case, action: str, data: dict | None = None):
    return client.post(f"/cases/{case.pk}/do/{action}/", data or {}, follow=True)


def statuses(case: Case) -> list[str]:
    return list(
        OutboxOperation.objects.filter(case=case).order_by("pk").values_list("status", flat=True)
    )


def event_types(case: Case) -> list[str]:
    return list(AuditEvent.objects.filter(case=case).order_by("seq").values_list("type", flat=True))


def operations(case: Case, kind: str) -> list[OutboxOperation]:
    return list(OutboxOperation.objects.filter(case=case, kind=kind))


def panel(html: str) -> str:
    start = html.find('id="platform-sync"')
    assert start != -1, "no platform sync panel"
    return html[start : html.find("</section>", start)]


# --- Seeing the sync state -------------------------------------------------------------------


def test_the_panel_shows_a_failed_operation_with_its_error_and_the_retry_button(
    client, alice, failed_case
):
    """R13.1: a failure is visible on the case, with the platform's reason, and retryable."""
    client.force_login(alice)
    html = panel(page(client, failed_case))
    assert 'data-sync-state="failed"' in html and "Sync failed" in html
    assert "HTTP 503" in html
    assert "Message to the buyer" in html  # the operation's kind, in words
    operation = OutboxOperation.objects.get(case=failed_case)
    row = html[html.find(f'data-operation="{operation.pk}"') :]
    assert "Failed" in row and ">1<" in row  # its status and attempts
    local = timezone.localtime(operation.created_at).strftime("%m-%d %H:%M")
    assert local in row  # in the shop's time zone
    assert f'action="/cases/{failed_case.pk}/platform/retry/"' in html
    assert "Retry failed operations" in html
    assert "wait until it is retried" not in html  # a failed message holds nothing up


def test_a_failed_decision_says_that_later_operations_wait(client, alice, linked_case):
    """R13.1: a refused agreement holds up what the case decided after it."""
    factories.operation(
        linked_case, OperationKind.AGREE, OperationStatus.FAILED, key="-0", last_error="地址不存在"
    )
    factories.operation(linked_case, OperationKind.AGREE, OperationStatus.PENDING, key="-1")
    client.force_login(alice)
    html = panel(page(client, linked_case))
    assert 'data-sync-state="failed"' in html and "地址不存在" in html
    assert "Operations decided after a failed one wait until it is retried." in html


def test_a_linked_case_with_everything_sent_shows_synced_and_no_retry(client, alice, linked_case):
    """R13.1: operations the platform has taken show as synced; nothing to retry."""
    OutboxOperation.objects.filter(case=linked_case).delete()
    now = timezone.now()
    factories.operation(
        linked_case,
        OperationKind.AGREE,
        OperationStatus.SYNCED,
        attempts=1,
        created_at=now,
        synced_at=now,
    )
    client.force_login(alice)
    html = panel(page(client, linked_case))
    assert 'data-sync-state="synced"' in html and "Agree" in html
    assert "/platform/retry/" not in html


def test_the_page_reads_the_operations_in_one_query_however_many(client, alice, linked_case):
    """The panel adds two queries to a Douyin case's page (is the shop connected; its
    operations), whatever the number of operations, and none to other cases' pages."""
    client.force_login(alice)

    def queries(case: Case) -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            page(client, case)
        return [q["sql"] for q in captured.captured_queries]

    page(client, linked_case)  # warm up (session, language, templates)
    few = len(queries(linked_case))
    for number in range(10):
        OutboxOperation.objects.create(
            shop=linked_case.shop,
            case=linked_case,
            kind=OperationKind.REMARK,
            params={"remark": f"备注{number}"},
            idempotency_key=f"test-{linked_case.pk}-remark-{number}",
            created_at=timezone.now(),
        )
    assert len(queries(linked_case)) == few

    other = testing.make_case(testing.make_order(linked_case.shop))
    assert not any("douyin_" in sql for sql in queries(other))


# --- Retrying --------------------------------------------------------------------------------


def test_retry_turns_failed_into_pending_and_is_on_the_record(client, alice, failed_case):
    """R13.1: the failed operations are queued again (same rows), by a person, on the record."""
    client.force_login(alice)
    response = retry(client, failed_case, follow=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert "message-success" in html and "message-error" not in html
    assert "The failed platform operations are queued again." in html
    assert statuses(failed_case) == [OperationStatus.PENDING]
    event = AuditEvent.objects.get(case=failed_case, type="platform_sync_retried")
    assert event.payload == {"operations": [OutboxOperation.objects.get(case=failed_case).pk]}
    assert event.actor_label and "alice" in event.actor_label
    after = panel(html)
    assert 'data-sync-state="pending"' in after
    assert "/platform/retry/" not in after
    assert "Platform sync retried" in html  # on the timeline


def test_retry_with_nothing_failed_is_a_message_and_changes_nothing(client, alice, linked_case):
    """R13.1: nothing failed, nothing to retry: an error message, no 500, no event."""
    client.force_login(alice)
    before = statuses(linked_case)
    response = retry(client, linked_case, follow=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert "message-error" in html
    assert "There is no failed platform operation to retry." in html
    assert statuses(linked_case) == before
    assert "platform_sync_retried" not in event_types(linked_case)


def test_the_auditor_sees_the_panel_but_cannot_retry(client, audrey, failed_case):
    """R13.1: an auditor reads the sync state; their retry is refused like any change."""
    client.force_login(audrey)
    html = page(client, failed_case)
    assert "HTTP 503" in panel(html)
    assert "/platform/retry/" not in html
    assert not any(f'data-action="{name}"' in html for name in PLATFORM_ACTIONS)
    events = event_types(failed_case)

    assert retry(client, failed_case).status_code == 403
    assert statuses(failed_case) == [OperationStatus.FAILED]
    assert event_types(failed_case) == events


def test_another_shops_agent_gets_404_for_the_case_and_the_retry(client, carol, failed_case):
    client.force_login(carol)
    events = event_types(failed_case)
    assert client.get(f"/cases/{failed_case.pk}/").status_code == 404
    assert retry(client, failed_case).status_code == 404
    assert statuses(failed_case) == [OperationStatus.FAILED]
    assert event_types(failed_case) == events


def test_retry_is_post_only_and_needs_a_login(client, alice, failed_case):
    assert retry(client, failed_case).status_code == 302  # to the login page
    client.force_login(alice)
    assert client.get(f"/cases/{failed_case.pk}/platform/retry/").status_code == 405
    assert statuses(failed_case) == [OperationStatus.FAILED]


# --- Cases not connected to the platform -----------------------------------------------------


def test_a_case_not_from_the_platform_shows_no_panel_and_no_platform_actions(client, alice, shop_a):
    factories.link(shop_a)  # even in a connected shop: the case did not come from Douyin
    case = testing.make_case(testing.make_order(shop_a))
    client.force_login(alice)
    html = page(client, case)
    assert 'id="platform-sync"' not in html
    assert "Not connected to a platform" in html
    assert not any(f'data-action="{name}"' in html for name in PLATFORM_ACTIONS)
    for name in PLATFORM_ACTIONS:
        response = post(client, case, name, {"remark": "备注"})
        assert "message-error" in response.content.decode()
    assert not OutboxOperation.objects.filter(case=case).exists()
    assert not {"platform_extension_requested", "platform_remark_added"} & set(event_types(case))


def test_a_platform_case_of_a_disconnected_shop_offers_no_platform_actions(
    client, alice, failed_case
):
    """The failure stays visible, but nothing can reach the platform: no actions, no retry."""
    DouyinShopLink.objects.filter(shop=failed_case.shop).update(is_active=False)
    client.force_login(alice)
    html = panel(page(client, failed_case))
    assert "HTTP 503" in html and "Not connected to a platform" in html
    assert "/platform/retry/" not in html
    assert not any(f'data-action="{name}"' in html for name in PLATFORM_ACTIONS)


# --- The two platform operations -------------------------------------------------------------


def test_r2_6_the_platform_extension_queues_one_operation_on_the_record(client, alice, linked_case):
    """R2.6: the platform's own deadline is extended by asking it (afterSale/timeExtend),
    after a confirmation; one operation, one audit event."""
    client.force_login(alice)
    html = page(client, linked_case)
    assert 'data-action="platform-extension"' in html
    assert 'data-confirm="Ask the platform for 48 more hours' in html
    response = post(client, linked_case, "platform-extension")
    assert "message-success" in response.content.decode()
    assert "message-error" not in response.content.decode()
    [operation] = operations(linked_case, OperationKind.EXTEND)
    assert (operation.status, operation.params) == (OperationStatus.PENDING, {})
    assert event_types(linked_case).count("platform_extension_requested") == 1


def test_only_actions_that_refuse_or_end_something_are_red(client, alice, linked_case):
    """The extension asks first but harms nobody: a plain button. Reject and close are red."""
    client.force_login(alice)
    html = page(client, linked_case)

    def button_of(action: str) -> str:
        form = html[html.index(f'data-action="{action}"') :]
        return form[form.index("<button") : form.index("</button>")]

    assert 'class="button primary"' in button_of("platform-extension")
    assert 'class="button danger"' in button_of("reject")
    assert 'class="button danger"' in button_of("close")


def test_a_remark_on_the_platform_order_queues_one_operation_on_the_record(
    client, alice, linked_case
):
    """R13.1: a remark reaches the platform's order through the outbox."""
    client.force_login(alice)
    assert 'data-action="platform-remark"' in page(client, linked_case)
    response = post(client, linked_case, "platform-remark", {"remark": "已电话联系买家"})
    assert "message-success" in response.content.decode()
    [operation] = operations(linked_case, OperationKind.REMARK)
    assert operation.params == {"remark": "已电话联系买家"}
    event = AuditEvent.objects.get(case=linked_case, type="platform_remark_added")
    assert event.payload == {"remark": "已电话联系买家"}
    assert "已电话联系买家" in page(client, linked_case)  # on the timeline


@pytest.mark.parametrize("remark", ["", "   ", "长" * (PLATFORM_REMARK_MAX_LENGTH + 1)])
def test_an_empty_or_too_long_remark_is_a_form_error_and_creates_nothing(
    client, alice, linked_case, remark
):
    client.force_login(alice)
    before = (OutboxOperation.objects.filter(case=linked_case).count(), event_types(linked_case))
    response = post(client, linked_case, "platform-remark", {"remark": remark})
    html = response.content.decode()
    assert "message-error" in html and "Remark" in html
    after = (OutboxOperation.objects.filter(case=linked_case).count(), event_types(linked_case))
    assert after == before


def test_the_auditor_cannot_use_the_platform_actions(client, audrey, linked_case):
    client.force_login(audrey)
    for name in PLATFORM_ACTIONS:
        assert post(client, linked_case, name, {"remark": "备注"}).status_code == 403
    assert not operations(linked_case, OperationKind.EXTEND)
    assert not operations(linked_case, OperationKind.REMARK)


def test_a_closed_case_offers_the_remark_but_not_the_extension(client, alice, linked_case):
    services.close_case(case=linked_case, note="买家撤销", by=SYSTEM)
    client.force_login(alice)
    html = page(client, linked_case)
    assert 'data-action="platform-remark"' in html
    assert 'data-action="platform-extension"' not in html


def test_every_offered_platform_action_is_accepted_by_its_service(alice, shop_a):
    """As test_actions checks for cases of no platform: wherever a Douyin case can be, the
    platform actions the page offers succeed and do not move the case."""
    factories.link(shop_a)
    actor = actor_for_user(alice)
    data = {"platform-extension": {}, "platform-remark": {"remark": "备注"}}
    seen = set()
    for status in reachable_statuses("return_refund"):
        case = factories.platform_case(shop_a)
        for step in path_to(case.type, status):
            step(Case.objects.get(pk=case.pk), SYSTEM)
        case = Case.objects.get(pk=case.pk)
        if case.status != status:
            # A Douyin refund waits for the agreement to reach the platform, which it does
            # not here: "completed" is out of reach.
            continue
        seen.add(status)
        offered = {a.name for a in available_actions(case, actor)} & PLATFORM_ACTIONS
        expected = {"platform-remark"} | (
            set() if status in TERMINAL_STATUSES else {"platform-extension"}
        )
        assert offered == expected, (status, offered)
        for action in available_actions(case, actor):
            if action.name not in PLATFORM_ACTIONS:
                continue
            form = action.form_class(data[action.name], case=case, action=action.name)
            assert form.is_valid(), (status, action.name, form.errors)
            action.perform(Case.objects.get(pk=case.pk), actor, form.cleaned_data, [])
            after = Case.objects.get(pk=case.pk).status
            assert after == status or after in ALLOWED_TRANSITIONS[status]
    assert {"pending_review", "awaiting_return", "rejected", "closed"} <= seen


def test_r13_1_a_rejection_the_platform_would_refuse_never_reaches_the_outbox(
    client, alice, linked_case
):
    """Issue 14: "agreed another solution" without the chat screenshot would be refused by
    Douyin while the case showed 已拒绝; the form refuses it first and nothing is queued."""
    client.force_login(alice)
    response = post(
        client, linked_case, "reject", {"reason_code": "agreed_other_solution", "note": "已协商"}
    )
    assert "needs evidence" in response.content.decode()
    linked_case.refresh_from_db()
    assert linked_case.status == "pending_review"
    assert not OutboxOperation.objects.filter(case=linked_case).exists()


# --- Out of sync with the platform (issue 14) ------------------------------------------------


def platform_record(case: Case, platform_status: int, **fields) -> DouyinAftersale:
    """The platform's last Detail of the case, as ingest stores it."""
    return DouyinAftersale.objects.create(
        link=DouyinShopLink.objects.get(shop=case.shop),
        case=case,
        aftersale_id=case.platform_case_id,
        order_id=case.order.platform_order_id,
        platform_status=platform_status,
        update_time=1,
        synced_at=fields.pop("synced_at", timezone.now()),
        **fields,
    )


def queue_row(html: str, case: Case) -> str:
    start = html.find(f'data-case="{case.pk}"')
    assert start != -1, f"case {case.pk} not in the queue"
    return html[start : html.find("</tr>", start)]


def test_r13_1_a_refused_decision_is_flagged_in_the_queue_and_filtered_out_of_the_rest(
    client, alice, carol, linked_case
):
    factories.operation(
        linked_case, OperationKind.REJECT, OperationStatus.FAILED, last_error="需要上传凭证"
    )
    in_step = factories.platform_case(linked_case.shop)
    client.force_login(alice)

    html = client.get("/").content.decode()
    assert "data-out-of-sync" in queue_row(html, linked_case)
    assert "data-out-of-sync" not in queue_row(html, in_step)
    html = client.get("/?out_of_sync=on").content.decode()
    assert f'data-case="{linked_case.pk}"' in html and f'data-case="{in_step.pk}"' not in html

    # The case page says it too, beside the case's status.
    assert "data-out-of-sync" in page(client, linked_case)
    # Another shop's people see nothing of it.
    client.force_login(carol)
    html = client.get("/?out_of_sync=on").content.decode()
    assert f'data-case="{linked_case.pk}"' not in html


def test_r13_1_a_case_where_the_platform_is_elsewhere_is_out_of_sync_with_the_difference_named(
    client, alice, linked_case
):
    """No operation failed, but the platform agreed by itself (待买家退货) while the case was
    still in review here: drift, with the platform's state and its deadline on the page."""
    deadline = timezone.now() + timezone.timedelta(hours=30)
    platform_record(linked_case, 7, status_deadline=deadline)
    client.force_login(alice)
    html = panel(page(client, linked_case))
    assert "Out of sync" in html and "待买家退货" in html
    assert "This case: Awaiting review · on the platform: 待买家退货" in html
    assert timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M") in html
    assert "data-out-of-sync" in queue_row(client.get("/").content.decode(), linked_case)


def test_a_case_whose_decision_reached_the_platform_after_its_last_detail_is_not_drift(
    client, alice, linked_case
):
    """We agreed, the platform took it, its push has not come yet: our copy of the platform
    (still 待商家同意) is older than the platform, so it proves nothing."""
    read_at = timezone.now() - timezone.timedelta(seconds=5)
    platform_record(linked_case, 6, synced_at=read_at)
    services.approve_case(case=linked_case, by=SYSTEM)
    OutboxOperation.objects.filter(case=linked_case).update(
        status=OperationStatus.SYNCED, synced_at=timezone.now()
    )
    client.force_login(alice)
    assert "Out of sync" not in panel(page(client, linked_case))
    assert "data-out-of-sync" not in queue_row(client.get("/").content.decode(), linked_case)


def test_the_sync_panel_shows_the_text_of_each_message_to_the_buyer(client, alice, linked_case):
    """R3.5: not only "Message to the buyer · Synced": what the buyer was told."""
    factories.operation(
        linked_case,
        OperationKind.NOTIFY_BUYER,
        OperationStatus.SYNCED,
        params={"content": "您好，您的售后申请已通过审核。", "step": "case_approved"},
    )
    client.force_login(alice)
    html = panel(page(client, linked_case))
    assert "您好，您的售后申请已通过审核。" in html
    response = client.get(f"/api/v1/cases/{linked_case.pk}/sync")
    assert response.json()["operations"][-1]["text"] == "您好，您的售后申请已通过审核。"


def test_the_case_page_shows_the_interception_requested_and_the_platforms_answer(
    client, alice, linked_case
):
    """Issue 14, item 11: requested → result, beside the outbound parcel it is about."""
    from aftersales.orders.services import create_shipment

    create_shipment(
        order=linked_case.order, kind="outbound", carrier="zhongtong", tracking_number="ZT42"
    )
    factories.operation(
        linked_case,
        OperationKind.INTERCEPT,
        OperationStatus.FAILED,
        params={"company_code": "zhongtong", "tracking_no": "ZT42"},
        last_error="快递公司拦截失败",
    )
    client.force_login(alice)
    html = page(client, linked_case)
    logistics = html[html.find('id="logistics"') :]
    logistics = logistics[: logistics.find("</section>")]
    assert "ZTO Express" in logistics and "ZT42" in logistics
    assert 'data-interception="failed"' in logistics
    assert "The interception failed: 快递公司拦截失败" in logistics
