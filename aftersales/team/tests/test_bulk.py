"""R9.2 / R12.1 bulk actions from the queue: POST /team/bulk/.

Proves:
- approve approves only cases awaiting review whose latest policy decision supports it
  (approve_refund, or needs_review with no evidence missing); the rest are skipped with the
  reason shown, and stay as they were;
- another shop's case id, or one that does not exist, is "not found" and never changed —
  even mixed into a batch of the user's own cases;
- one refused case does not undo the others (each is its own transaction);
- assign is for supervisors and admins; an agent's bulk assignment changes nothing;
- the templated message is recorded per case with its filled-in text, and stops the
  first-response clock (it is a reply to the buyer);
- malformed input is a 400 and changes nothing; an auditor gets 403;
- R3.5: each case gets its own shop's wording of the template (another shop keeps the
  default); a template the case's shop switched off is refused for that case only; an
  unknown code is refused; an unknown variable in an edited text is sent as written.
"""

from __future__ import annotations

import pytest

from aftersales import testing
from aftersales.audit.models import AuditEvent
from aftersales.cases import services as case_services
from aftersales.cases.choices import CaseStatus
from aftersales.cases.models import Case
from aftersales.core.errors import Conflict, InvalidInput
from aftersales.core.money import fen_to_yuan
from aftersales.orders.choices import OrderStatus
from aftersales.policy.engine import APPROVE_REFUND, NEEDS_EVIDENCE, NEEDS_REVIEW
from aftersales.policy.services import decide_case
from aftersales.shops.choices import Role
from aftersales.shops.services import add_member
from aftersales.sla.models import ClockKind, ClockState, SlaClock
from aftersales.team.models import ReplyTemplate
from aftersales.team.services import send_templated_message

from .conftest import logged_in
from .support import new_case

SYSTEM = testing.SYSTEM


def decided(case, expected):
    decision = decide_case(case=case, by=SYSTEM)
    assert decision.recommendation == expected, decision.payload["trace"]
    return case


def statuses(*cases):
    return {c.pk: Case.objects.get(pk=c.pk).status for c in cases}


@pytest.fixture
def batch(shop_a, shop_b):
    """Shop A cases of every kind the bulk approval must tell apart, and one of shop B."""
    review = decided(new_case(shop_a), NEEDS_REVIEW)  # delivered, no-reason return
    unshipped = testing.make_case(
        testing.make_order(shop_a, status=OrderStatus.UNSHIPPED),
        type="refund_unshipped",
        reason="changed_mind",
    )
    unshipped = decided(unshipped, APPROVE_REFUND)
    quality = testing.make_case(testing.make_order(shop_a), reason="quality_issue")
    quality = decided(quality, NEEDS_EVIDENCE)  # photos missing
    undecided = new_case(shop_a)  # the policy never looked at it
    approved = decided(new_case(shop_a), NEEDS_REVIEW)
    case_services.approve_case(case=approved, by=SYSTEM)
    other_shop = decided(new_case(shop_b), NEEDS_REVIEW)
    return {
        "review": review,
        "unshipped": unshipped,
        "quality": quality,
        "undecided": undecided,
        "approved": approved,
        "other_shop": other_shop,
    }


def post_bulk(user, **data):
    return logged_in(user).post("/team/bulk/", data)


def test_r9_2_bulk_approve_only_where_the_policy_allows(batch, alice):
    before = statuses(*batch.values())

    response = post_bulk(
        alice,
        action="approve",
        case_ids=[c.pk for c in batch.values()] + [987654],
        next="/?status=pending_review",
    )

    assert response.status_code == 200
    after = statuses(*batch.values())
    assert after[batch["review"].pk] == CaseStatus.AWAITING_RETURN
    assert after[batch["unshipped"].pk] == CaseStatus.AWAITING_REFUND
    for name in ("quality", "undecided", "approved", "other_shop"):
        assert after[batch[name].pk] == before[batch[name].pk], name
    content = response.content.decode()
    assert "Approved 2 cases" in content
    assert "skipped 5" in content
    skipped = response.context["skipped"]
    by_reason = {group["code"]: {c["pk"] for c in group["cases"]} for group in skipped}
    assert by_reason == {
        "not_allowed_by_policy": {batch["quality"].pk, batch["undecided"].pk},
        "wrong_status": {batch["approved"].pk},
        "not_found": {batch["other_shop"].pk, 987654},
    }
    # The approvals are on the record under alice's name; nothing happened in shop B.
    approvals = AuditEvent.objects.filter(type="case_approved", actor_label="alice")
    assert set(approvals.values_list("case_id", flat=True)) == {
        batch["review"].pk,
        batch["unshipped"].pk,
    }
    assert not AuditEvent.objects.filter(case=batch["other_shop"], actor_label="alice").exists()
    assert 'href="/?status=pending_review"' in content


def test_r9_2_bulk_never_reaches_across_shops_even_for_a_shop_b_supervisor(batch, bert):
    response = post_bulk(bert, action="approve", case_ids=[batch["review"].pk])

    assert response.status_code == 200
    assert response.context["done"] == []
    assert Case.objects.get(pk=batch["review"].pk).status == CaseStatus.PENDING_REVIEW


def test_r9_2_bulk_approve_by_an_auditor_is_refused(batch, audrey):
    response = post_bulk(audrey, action="approve", case_ids=[batch["review"].pk])

    assert response.status_code == 403
    assert Case.objects.get(pk=batch["review"].pk).status == CaseStatus.PENDING_REVIEW


@pytest.mark.parametrize(
    "data",
    [
        {"action": "delete", "case_ids": ["1"]},
        {"action": "approve"},
        {"action": "approve", "case_ids": ["1", "abc"]},
        {"action": "approve", "case_ids": ["²"]},
        {"action": "approve", "case_ids": ["99999999999999999999999"]},
        {"action": "assign", "case_ids": ["1"]},
        {"action": "message", "case_ids": ["1"], "template": "no-such-template"},
        {"action": "approve", "case_ids": [str(n) for n in range(1, 502)]},
    ],
)
def test_r9_2_malformed_bulk_input_is_a_400_and_changes_nothing(batch, alice, data):
    events_before = AuditEvent.objects.count()
    before = statuses(*batch.values())

    response = logged_in(alice).post("/team/bulk/", data)

    assert response.status_code == 400
    assert "Nothing was changed" in response.content.decode()
    assert AuditEvent.objects.count() == events_before
    assert statuses(*batch.values()) == before


def test_r9_2_bulk_assign_by_a_supervisor(shop_a, shop_b, sam, alice, carol):
    mine, foreign = new_case(shop_a), new_case(shop_b)

    response = post_bulk(sam, action="assign", assignee_id=alice.pk, case_ids=[mine.pk, foreign.pk])

    assert response.status_code == 200
    assert Case.objects.get(pk=mine.pk).assignee == alice
    assert Case.objects.get(pk=foreign.pk).assignee is None
    # Someone who is not a member of the case's shop is refused per case, nothing changes.
    other = new_case(shop_a)
    response = post_bulk(sam, action="assign", assignee_id=carol.pk, case_ids=[other.pk])
    assert response.context["done"] == []
    assert response.context["skipped"][0]["code"] == "refused"
    assert Case.objects.get(pk=other.pk).assignee is None


def test_r9_2_an_agent_cannot_bulk_assign(shop_a, alice):
    case = new_case(shop_a)

    response = post_bulk(alice, action="assign", assignee_id=alice.pk, case_ids=[case.pk])

    assert response.status_code == 200
    assert response.context["skipped"][0]["code"] == "not_permitted"
    assert Case.objects.get(pk=case.pk).assignee is None


def test_r12_1_bulk_templated_message_is_recorded_per_case_and_stops_the_first_response_clock(
    shop_a, shop_b, alice
):
    cases = [new_case(shop_a), new_case(shop_a)]
    foreign = new_case(shop_b)

    response = post_bulk(
        alice,
        action="message",
        template="delay_notice",
        case_ids=[c.pk for c in cases] + [foreign.pk],
    )

    assert response.status_code == 200
    assert "Sent the message on 2 cases" in response.content.decode()
    for case in cases:
        event = AuditEvent.objects.get(case=case, type="buyer_message_sent")
        assert event.actor_label == "alice"
        assert event.payload["template"] == "delay_notice"
        # The number the buyer knows (the order's, for a case with no platform after-sale).
        assert f"单号 {case.order.platform_order_id}" in event.payload["text"]
        clock = SlaClock.objects.get(case=case, kind=ClockKind.FIRST_RESPONSE)
        assert clock.state == ClockState.STOPPED
    assert not AuditEvent.objects.filter(case=foreign, type="buyer_message_sent").exists()
    assert (
        SlaClock.objects.get(case=foreign, kind=ClockKind.FIRST_RESPONSE).state
        == ClockState.RUNNING
    )


# --- R3.5 the templates are the shops' own (workbench.ReplyTemplate) -------------------------


def shop_template(shop, code, **fields):
    """The shop's own row for a default template, as an admin adds it."""
    default = ReplyTemplate.objects.get(shop=None, code=code)
    values = {"name": default.name, "text": default.text, "position": default.position}
    return ReplyTemplate.objects.create(shop=shop, code=code, **{**values, **fields})


def sent_text(case):
    return AuditEvent.objects.get(case=case, type="buyer_message_sent").payload["text"]


def test_r3_5_bulk_message_sends_the_shops_own_wording_and_other_shops_keep_the_default(
    shop_a, shop_b, alice, carol
):
    shop_template(shop_a, "delay_notice", text="A店：售后单 {case_id} 稍有延迟，请见谅。")
    case_a, case_b = new_case(shop_a), new_case(shop_b)

    response = post_bulk(alice, action="message", template="delay_notice", case_ids=[case_a.pk])
    post_bulk(carol, action="message", template="delay_notice", case_ids=[case_b.pk])

    assert response.context["done"] == [case_a.pk]
    assert sent_text(case_a) == f"A店：售后单 {case_a.order.platform_order_id} 稍有延迟，请见谅。"
    assert sent_text(case_b).startswith("亲，非常抱歉") and "A店" not in sent_text(case_b)


def test_r3_5_a_template_the_cases_shop_switched_off_is_refused_for_that_case_only(
    shop_a, shop_b, alice
):
    add_member(shop=shop_b, user=alice, role=Role.AGENT, by=SYSTEM)  # alice works in both
    shop_template(shop_b, "incident_apology", is_active=False)
    case_a, case_b = new_case(shop_a), new_case(shop_b)

    response = post_bulk(
        alice, action="message", template="incident_apology", case_ids=[case_a.pk, case_b.pk]
    )

    assert response.context["done"] == [case_a.pk]
    assert response.context["skipped"][0]["code"] == "refused"
    assert "Unknown message template" in response.context["skipped"][0]["cases"][0]["detail"]
    assert not AuditEvent.objects.filter(case=case_b, type="buyer_message_sent").exists()


def test_r3_5_a_template_none_of_the_users_shops_offers_is_a_400(shop_a, alice):
    ReplyTemplate.objects.filter(shop=None, code="incident_apology").update(is_active=False)
    case = new_case(shop_a)

    response = post_bulk(alice, action="message", template="incident_apology", case_ids=[case.pk])

    assert response.status_code == 400
    assert not AuditEvent.objects.filter(case=case, type="buyer_message_sent").exists()


def test_r3_5_unknown_template_code_is_refused_by_the_service(shop_a, alice):
    case = new_case(shop_a)
    with pytest.raises(InvalidInput):
        send_templated_message(case=case, template="no-such-template", by=testing.actor(alice))
    assert not AuditEvent.objects.filter(case=case, type="buyer_message_sent").exists()


def test_r3_5_the_refund_progress_message_names_the_amount_the_buyer_asked_for(shop_a, alice):
    case = new_case(shop_a)

    send_templated_message(case=case, template="refund_progress", by=testing.actor(alice))

    assert f"申请退款 {fen_to_yuan(case.requested_amount_fen)} 元" in sent_text(case)


def test_r3_5_an_unknown_variable_in_an_edited_template_is_sent_as_written(shop_a, alice):
    shop_template(shop_a, "in_progress", text="{buyer_name} 您好，售后单 {case_id} 处理中。")
    case = new_case(shop_a)

    response = post_bulk(alice, action="message", template="in_progress", case_ids=[case.pk])

    assert response.context["done"] == [case.pk]
    assert sent_text(case) == f"{{buyer_name}} 您好，售后单 {case.order.platform_order_id} 处理中。"


def test_r12_1_bulk_return_reminder_skips_buyers_who_have_shipped_and_cases_without_return(
    shop_a, alice
):
    """Issue 14: "提醒寄回商品" reached a buyer who had already shipped the goods back."""
    waiting = new_case(shop_a)
    case_services.approve_case(case=waiting, by=SYSTEM)  # the buyer is to send it back
    shipped = new_case(shop_a)
    case_services.approve_case(case=shipped, by=SYSTEM)
    case_services.record_return_shipment(
        case=shipped, carrier="中通快递", tracking_number="7312345678901", by=SYSTEM
    )
    refund_only = testing.make_case(
        testing.make_order(shop_a, status=OrderStatus.UNSHIPPED),
        type="refund_unshipped",
        reason="changed_mind",
    )

    response = post_bulk(
        alice,
        action="message",
        template="return_reminder",
        case_ids=[waiting.pk, shipped.pk, refund_only.pk],
    )

    assert response.status_code == 200
    assert response.context["done"] == [waiting.pk]
    (group,) = response.context["skipped"]
    assert group["code"] == "does_not_fit"
    details = {item["pk"]: item["detail"] for item in group["cases"]}
    assert details == {
        shipped.pk: "The buyer has already sent the goods back.",
        refund_only.pk: "The case needs no return.",
    }
    sent = AuditEvent.objects.filter(type="buyer_message_sent").values_list("case_id", flat=True)
    assert list(sent) == [waiting.pk]


def test_r3_5_the_service_refuses_a_return_reminder_once_the_goods_are_on_their_way(shop_a, alice):
    case = new_case(shop_a)
    case_services.approve_case(case=case, by=SYSTEM)
    case_services.record_return_shipment(
        case=case, carrier="中通快递", tracking_number="7312345678901", by=SYSTEM
    )
    with pytest.raises(Conflict):
        send_templated_message(case=case, template="return_reminder", by=testing.actor(alice))
    assert not AuditEvent.objects.filter(case=case, type="buyer_message_sent").exists()
