"""Every service an edge calls brings its own transaction.

Views, the API, commands and tasks call services outside any transaction (there is no
ATOMIC_REQUESTS), while the rest of the suite runs each test inside one: there a service
that lacks `@transaction.atomic` still works, and `audit.chain.record_event`, which refuses
to write outside a transaction, never complains. These tests run outside one
(`transaction=True`) and call each service as its edge does: it must work and leave its
audit event.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from aftersales import testing
from aftersales.api.tests.support import logged_in, post_json
from aftersales.audit.models import AuditEvent
from aftersales.cases import services as case_services
from aftersales.cases.choices import CaseStatus, RefundStatus
from aftersales.cases.models import Case
from aftersales.cases.tests.steps import path_to, quality_ok, reachable_statuses
from aftersales.core.errors import Conflict
from aftersales.orders.choices import OrderStatus
from aftersales.policy.services import decide_case, triage_case
from aftersales.shops.choices import Role
from aftersales.shops.services import actor_for_user, create_api_key, revoke_api_key
from aftersales.team import services as team_services
from aftersales.team.models import ReplyTemplate
from aftersales.testing import png_bytes
from aftersales.workbench import services as workbench_services
from aftersales.workbench.actions import ACTIONS, available_actions
from aftersales.workbench.tests.test_actions import VALID_DATA

pytestmark = pytest.mark.django_db(transaction=True)

SYSTEM = testing.SYSTEM


@pytest.fixture
def sam(shop_a):
    """A supervisor of shop A (alice is its agent)."""
    return testing.make_user("sam", shop_a, Role.SUPERVISOR)


def outside(service, **kwargs: Any) -> Any:
    """Call the service as an edge does: with no transaction open."""
    assert not connection.in_atomic_block
    return service(**kwargs)


def event_types(**filters: Any) -> list[str]:
    return list(AuditEvent.objects.filter(**filters).order_by("seq").values_list("type", flat=True))


def unshipped_case(shop) -> Case:
    """A small unshipped refund: the default policy approves and refunds it by itself."""
    order = testing.make_order(shop, status=OrderStatus.UNSHIPPED)
    return testing.make_case(order, type="refund_unshipped", reason="changed_mind")


# --- The policy: triage and decisions (API, workbench, Douyin ingestion) -----------------------


def test_triage_refunds_automatically_outside_a_transaction(shop_a):
    case = unshipped_case(shop_a)

    stored = outside(triage_case, case=case, by=SYSTEM)

    assert stored.auto_approve
    case.refresh_from_db()
    assert (case.status, case.refund_status) == (CaseStatus.COMPLETED, RefundStatus.REFUNDED)
    assert event_types(case=case)[1:] == [
        "policy_decided",
        "case_approved",
        "refund_decided",
        "refund_executed",
    ]


def test_triage_records_a_refused_automatic_refund_outside_a_transaction(shop_a):
    """A redelivered message triages a case again: approving it again is refused, and the
    refusal is on record (it used to raise: `record_event` outside a transaction)."""
    case = unshipped_case(shop_a)
    outside(triage_case, case=case, by=SYSTEM)

    outside(triage_case, case=case, by=SYSTEM)

    assert event_types(case=case)[-2:] == ["policy_decided", "automation_refused"]


def test_decide_case_outside_a_transaction(shop_a):
    case = unshipped_case(shop_a)

    outside(decide_case, case=case, by=SYSTEM)

    assert event_types(case=case) == ["case_opened", "policy_decided"]


# --- The API -----------------------------------------------------------------------------------


def open_through_api(client, order):
    return post_json(
        client,
        "/cases",
        {
            "order_id": order.platform_order_id,
            "type": "refund_unshipped",
            "reason": "changed_mind",
            "items": [{"order_item_id": order.items.get().pk, "quantity": 1}],
        },
    )


def test_the_api_opens_a_case_the_policy_refunds(shop_a, alice):
    order = testing.make_order(shop_a, status=OrderStatus.UNSHIPPED)

    response = open_through_api(logged_in(alice), order)

    assert response.status_code == 201, response.content
    case = Case.objects.get(pk=response.json()["id"])
    assert case.refund_status == RefundStatus.REFUNDED
    assert "refund_executed" in event_types(case=case)


def test_the_api_opens_a_case_whose_automatic_refund_is_refused(shop_a, alice, monkeypatch):
    """The refusal is recorded and the case waits for a person: a 201, not a 500."""

    def refused(**kwargs: Any) -> None:
        raise Conflict("the refund is refused")

    monkeypatch.setattr(case_services, "refund_case", refused)
    order = testing.make_order(shop_a, status=OrderStatus.UNSHIPPED)

    response = open_through_api(logged_in(alice), order)

    assert response.status_code == 201, response.content
    case = Case.objects.get(pk=response.json()["id"])
    assert (case.status, case.refund_status) == (CaseStatus.AWAITING_REFUND, RefundStatus.NONE)
    assert event_types(case=case)[-2:] == ["case_approved", "automation_refused"]


def test_the_api_records_buyer_evidence_and_decides_again(shop_a, alice):
    case = testing.make_case(testing.make_order(shop_a), reason="quality_issue")
    case_services.request_evidence(case=case, note="请上传照片", by=SYSTEM)

    response = logged_in(alice).post(
        f"/api/v1/cases/{case.pk}/buyer-evidence",
        {"files": [_png()], "note": "破损处"},
    )

    assert response.status_code == 200, response.content
    assert event_types(case=case)[-2:] == ["buyer_evidence_recorded", "policy_decided"]


def _png() -> SimpleUploadedFile:
    return SimpleUploadedFile("photo.png", png_bytes(), content_type="image/png")


# --- The workbench's case page: every action, as the view performs it --------------------------

FILE_FIELDS = {
    "buyer-evidence": "uploads",
    "evidence": "uploads",
    "reject": "uploads",
    "inspect": "photos",
}
# Not here: `retry-refund` needs a failed refund, the `platform-*` actions a shop linked
# to Douyin (their services are atomic; the Douyin adapter's tests run them), and `packaging`
# an outbound parcel of the order (atomic too; analytics/tests/test_packaging.py runs it).
NOT_HERE = {"retry-refund", "platform-extension", "platform-remark", "packaging"}
ACTION_DATA = {name: data for name, data in VALID_DATA.items() if name not in NOT_HERE}

CASE_TYPES = [
    ("return_refund", "quality_issue"),
    ("exchange", "wrong_size"),
    ("resend", "missing_item"),
    ("repair", "functional_fault"),
]
# The replacement is shipped only once it passed its quality check.
EXTRA_STEPS = {"ship-replacement": [quality_ok]}


def first_case_offering(shop, name: str, actor) -> Case:
    """A fresh case walked to the first status where the page offers the action."""
    for case_type, reason in CASE_TYPES:
        for status in reachable_statuses(case_type):
            case = testing.make_case(testing.make_order(shop), type=case_type, reason=reason)
            steps = path_to(case_type, status)
            if name in EXTRA_STEPS and status == CaseStatus.AWAITING_SHIPMENT:
                steps = [*steps, *EXTRA_STEPS[name]]
            for step in steps:
                step(Case.objects.get(pk=case.pk), SYSTEM)
            case = Case.objects.get(pk=case.pk)
            if name in {a.name for a in available_actions(case, actor)}:
                return case
    raise AssertionError(f"no case offers {name}")


@pytest.mark.parametrize("name", sorted(ACTION_DATA))
def test_each_case_page_action_outside_a_transaction(shop_a, alice, sam, name):
    actor = actor_for_user(alice)
    case = first_case_offering(shop_a, name, actor)
    action = next(a for a in ACTIONS if a.name == name)
    data = dict(ACTION_DATA[name])
    if name == "extend":
        data["clock"] = action.form_class(case=case, action=name).fields["clock"].choices[0][0]
    if name == "assign":
        data["assignee"] = str(sam.pk)
    files = [_png()] if name in FILE_FIELDS else []
    form = action.form_class(data, {FILE_FIELDS.get(name, "-"): files}, case=case, action=name)
    assert form.is_valid(), form.errors
    before = AuditEvent.objects.filter(case=case).count()

    assert not connection.in_atomic_block
    action.perform(Case.objects.get(pk=case.pk), actor, form.cleaned_data, files)

    assert AuditEvent.objects.filter(case=case).count() > before


def test_revealing_the_buyers_contact_outside_a_transaction(shop_a, sam):
    case = testing.make_case(testing.make_order(shop_a))

    outside(workbench_services.reveal_buyer_contact, case=case, by=actor_for_user(sam))

    assert event_types(case=case)[-1] == "pii_revealed"


# --- The team pages --------------------------------------------------------------------------


def test_the_team_services_outside_a_transaction(shop_a, alice, sam):
    adam = testing.make_user("adam", shop_a, Role.ADMIN)
    lead, admin = actor_for_user(sam), actor_for_user(adam)
    ReplyTemplate.objects.create(code="hello", name="问候", text="您好,售后单 {case_id}")
    case = testing.make_case(testing.make_order(shop_a))

    outside(team_services.set_on_duty, user=alice, shop=shop_a, on_duty=True, by=lead)
    outside(team_services.set_skills, user=alice, shop=shop_a, skills=["apparel"], by=lead)
    outside(team_services.assign_automatically, case=case, by=SYSTEM)
    outside(team_services.reassign, case=case, to_user=sam, by=lead)
    outside(team_services.send_templated_message, case=case, template="hello", by=lead)
    outside(
        team_services.create_staff_user,
        shop=shop_a,
        username="dora",
        password="a-long-pass-phrase",
        role=Role.AGENT,
        by=admin,
    )
    outside(
        team_services.add_existing_member, shop=shop_a, user=alice, role=Role.SUPERVISOR, by=admin
    )
    key, _raw = outside(create_api_key, shop=shop_a, name="ERP", by=admin)
    outside(revoke_api_key, key=key, by=admin)

    assert event_types(shop=shop_a, case__isnull=True)[-6:] == [
        "duty_changed",
        "staff_skills_changed",
        "member_added",
        "member_added",
        "api_key_created",
        "api_key_revoked",
    ]
    assert event_types(case=case)[-3:] == ["case_assigned", "case_assigned", "buyer_message_sent"]
