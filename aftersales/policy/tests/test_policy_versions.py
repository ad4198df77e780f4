"""R6.3: policy as versioned data with an effective date; every decision records its version.

Also R3.1 triage: `triage_case` approves and refunds what the policy allows without a person,
in the policy's name, and nothing else.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from aftersales import testing
from aftersales.audit.models import AuditEvent
from aftersales.cases.choices import CaseStatus, RefundStatus
from aftersales.cases.models import RefundDecision, RefundExecution
from aftersales.core.errors import InvalidInput
from aftersales.orders.choices import OrderStatus
from aftersales.policy import services
from aftersales.policy.models import PolicyDecision, PolicyVersion, PolicyVersionLocked

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SH)
BY = testing.SYSTEM
DEFAULT = "default@2025.1"

LIMIT_10_YUAN = "[triage]\nauto_approve_limit_fen = 1000\n"
LIMIT_700_YUAN = "[triage]\nauto_approve_limit_fen = 70000\n"


def publish(shop, document=LIMIT_10_YUAN, *, effective_from=None, note=""):
    return services.publish_policy_version(
        shop=shop,
        document=document,
        effective_from=effective_from or timezone.now(),
        by=BY,
        note=note,
    )


def published_events(shop):
    return AuditEvent.objects.filter(shop=shop, type="policy_published")


# --- publishing -------------------------------------------------------------------------------


def test_r6_3_versions_are_numbered_per_shop_and_audited(shop_a, shop_b):
    first = publish(shop_a, note="首版")
    second = publish(shop_a, LIMIT_700_YUAN)
    other = publish(shop_b)

    assert (first.number, second.number, other.number) == (1, 2, 1)
    assert second.label == f"shop{shop_a.pk}v2"
    assert second.document_sha256 != first.document_sha256
    events = list(published_events(shop_a).order_by("seq"))
    assert [e.payload["version"] for e in events] == [first.label, second.label]
    assert events[0].payload["note"] == "首版"
    assert events[0].actor_label == BY.label


BAD_DOCUMENTS = [
    pytest.param("[triage]\nauto_aprove_limit_fen = 1\n", id="R6.3-unknown-key"),
    pytest.param("[triaje]\nauto_approve_limit_fen = 1\n", id="R6.3-unknown-section"),
    pytest.param("[special.food]\nnear_expiry_dayz = 10\n", id="R6.3-typo-inside-special"),
    pytest.param("[high_risk.electronics]\nhandler = ['x']\n", id="R6.3-typo-inside-a-plan"),
    pytest.param("[evidence]\nquality_issu = ['photo']\n", id="R6.3-evidence-for-unknown-reason"),
    pytest.param("[evidence]\nquality_issue = ['phto']\n", id="R6.3-unknown-evidence-kind"),
    pytest.param("[high_risk.toys]\nrequired_evidence = 'photo'\n", id="R6.3-new-plan-wrong-shape"),
    pytest.param("[triage]\nauto_approve_limit_fen = '50000'\n", id="R6.3-string-for-number"),
    pytest.param("[triage]\nauto_approve_limit_fen = 500.5\n", id="R6.3-float-for-fen"),
    pytest.param("[triage]\nauto_approve_limit_fen = true\n", id="R6.3-bool-for-number"),
    pytest.param("[triage]\nintercept_before_refund = 1\n", id="R6.3-number-for-bool"),
    pytest.param("[complexity]\ncomplex_categories = 'electronics'\n", id="R6.3-string-for-list"),
    pytest.param("triage = 5\n", id="R6.3-number-for-table"),
    pytest.param("[triage]\nauto_approve_limit_fen = -1\n", id="R6.3-negative-limit"),
    pytest.param("[sla]\nvip_factor = -0.5\n", id="R6.3-negative-factor"),
    pytest.param("[triage\nauto_approve_limit_fen = 1\n", id="R6.3-not-toml"),
]


@pytest.mark.parametrize("document", BAD_DOCUMENTS)
def test_r6_3_bad_documents_are_refused_and_nothing_is_stored(shop_a, document):
    with pytest.raises(InvalidInput):
        publish(shop_a, document)
    assert not PolicyVersion.objects.exists()
    assert not published_events(shop_a).exists()


def test_r6_3_shop_may_add_a_plan_and_evidence_and_they_apply(shop_a):
    publish(
        shop_a,
        "[high_risk.toys]\nrequired_evidence = ['video']\nhandlers = ['王主管']\n"
        "[evidence]\nwrong_size = ['photo']\n",
    )
    policy = services.policy_for(shop_a.pk)
    assert policy.data["high_risk"]["toys"]["handlers"] == ["王主管"]
    assert policy.data["evidence"]["wrong_size"] == ["photo"]
    # The default's plans and evidence are still there.
    assert policy.data["high_risk"]["electronics"]["handlers"] == ["supervisor"]
    assert policy.data["evidence"]["quality_issue"] == ["photo"]


@pytest.mark.parametrize(
    "ago", [timedelta(days=1), timedelta(minutes=2)], ids=["R6.3-yesterday", "R6.3-2-min-ago"]
)
def test_r6_3_a_version_cannot_take_effect_in_the_past(shop_a, ago):
    with pytest.raises(InvalidInput):
        publish(shop_a, effective_from=timezone.now() - ago)
    assert not PolicyVersion.objects.exists()
    assert not published_events(shop_a).exists()


# --- which version is in force ------------------------------------------------------------


def test_r6_3_policy_for_picks_the_version_in_force_at_that_time(shop_a, shop_b):
    with time_machine.travel(T0, tick=False):
        v1 = publish(shop_a, LIMIT_700_YUAN, effective_from=T0 + timedelta(days=7))
        v2 = publish(shop_a, LIMIT_10_YUAN, effective_from=T0 + timedelta(days=14))

        def limit(at):
            policy = services.policy_for(shop_a.pk, at)
            return policy.version, policy.data["triage"]["auto_approve_limit_fen"]

        assert limit(T0 + timedelta(days=6, hours=23)) == (DEFAULT, 50000)
        assert limit(T0 + timedelta(days=7)) == (f"{DEFAULT}+{v1.label}", 70000)
        assert limit(T0 + timedelta(days=13)) == (f"{DEFAULT}+{v1.label}", 70000)
        assert limit(T0 + timedelta(days=30)) == (f"{DEFAULT}+{v2.label}", 1000)
        # Without a time: now, which is before either takes effect.
        assert services.policy_for(shop_a.pk).version == DEFAULT

    with time_machine.travel(T0 + timedelta(days=8), tick=False):
        assert services.policy_for(shop_a.pk).version == f"{DEFAULT}+{v1.label}"
        # Another shop's version never applies.
        assert services.policy_for(shop_b.pk).version == DEFAULT
        assert services.policy_for(shop_b.pk).data["triage"]["auto_approve_limit_fen"] == 50000
        assert services.policy_for(None).version == DEFAULT


def test_r6_3_a_later_published_version_with_an_earlier_date_wins_from_its_date(shop_a):
    with time_machine.travel(T0, tick=False):
        publish(shop_a, LIMIT_700_YUAN, effective_from=T0 + timedelta(days=10))
        v2 = publish(shop_a, LIMIT_10_YUAN, effective_from=T0 + timedelta(days=3))
    at = T0 + timedelta(days=5)
    assert services.policy_for(shop_a.pk, at).version == f"{DEFAULT}+{v2.label}"


# --- history cannot be rewritten -------------------------------------------------------------


def test_r6_3_an_effective_version_cannot_be_edited_or_deleted(shop_a):
    with time_machine.travel(T0, tick=False):
        version = publish(shop_a, LIMIT_700_YUAN, effective_from=T0 + timedelta(hours=1))
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        version.document = LIMIT_10_YUAN
        with pytest.raises(PolicyVersionLocked):
            version.save()
        with pytest.raises(PolicyVersionLocked):
            version.delete()
        with pytest.raises(PolicyVersionLocked):
            PolicyVersion.objects.filter(shop=shop_a).update(document=LIMIT_10_YUAN)
        with pytest.raises(PolicyVersionLocked):
            PolicyVersion.objects.filter(shop=shop_a).delete()
        stored = PolicyVersion.objects.get(pk=version.pk)
        assert stored.document == LIMIT_700_YUAN
        assert services.policy_for(shop_a.pk).data["triage"]["auto_approve_limit_fen"] == 70000


def test_r6_3_a_future_version_can_be_edited_and_deleted_but_not_moved_into_the_past(shop_a):
    with time_machine.travel(T0, tick=False):
        version = publish(shop_a, LIMIT_700_YUAN, effective_from=T0 + timedelta(days=1))
        version.document = LIMIT_10_YUAN
        version.save()
        assert PolicyVersion.objects.get(pk=version.pk).document == LIMIT_10_YUAN

        version.effective_from = T0 - timedelta(days=1)
        with pytest.raises(PolicyVersionLocked):
            version.save()
        assert PolicyVersion.objects.get(pk=version.pk).effective_from == T0 + timedelta(days=1)

        PolicyVersion.objects.get(pk=version.pk).delete()
        assert not PolicyVersion.objects.exists()


# --- decide_case and triage_case ---------------------------------------------------------------


def test_r6_3_decide_case_records_the_version_and_an_audit_event(shop_a, alice):
    version = publish(shop_a, LIMIT_700_YUAN)
    order = testing.make_order(
        shop_a, lines=[testing.Line(list_price_fen=10000, paid_amount_fen=8800)]
    )
    case = testing.make_case(order, type="return_refund", reason="wrong_size")
    by = testing.actor(alice)

    stored = services.decide_case(case=case, by=by)

    label = f"{DEFAULT}+{version.label}"
    assert stored.policy_version == label == stored.payload["policy_version"]
    assert (stored.recommendation, stored.complexity, stored.auto_approve) == (
        "needs_review",
        "simple",
        False,
    )
    # R3.2: the amount actually paid, not the list price.
    assert stored.payload["goods_refund_fen"] == 8800
    assert stored.shop_id == shop_a.pk
    event = AuditEvent.objects.get(case=case, type="policy_decided")
    assert event.payload["policy_version"] == label
    assert event.payload["decision"] == stored.pk
    assert event.actor_user_id == alice.pk
    # Deciding is not acting: the case still waits for a person.
    case.refresh_from_db()
    assert case.status == CaseStatus.PENDING_REVIEW
    assert services.latest_decision(case) == stored


def test_r3_1_triage_approves_and_refunds_a_small_unshipped_order_in_the_policys_name(
    shop_a, django_capture_on_commit_callbacks
):
    order = testing.make_order(
        shop_a,
        status=OrderStatus.UNSHIPPED,
        lines=[testing.Line(list_price_fen=15000, paid_amount_fen=12000, category="home")],
        shipping_fee_fen=800,
    )
    case = testing.make_case(order, type="refund_unshipped", reason="changed_mind")

    with django_capture_on_commit_callbacks(execute=True):
        stored = services.triage_case(case=case, by=BY)

    assert (stored.recommendation, stored.auto_approve) == ("approve_refund", True)
    case.refresh_from_db()
    assert (case.status, case.refund_status) == (CaseStatus.COMPLETED, RefundStatus.REFUNDED)
    refund = RefundDecision.objects.get(case=case)
    assert (refund.goods_amount_fen, refund.shipping_amount_fen, refund.is_partial) == (
        12000,
        800,
        False,
    )
    assert RefundExecution.objects.get(decision=refund).status == "succeeded"
    policy_actor = f"policy:{DEFAULT}"
    for kind in ("case_approved", "refund_decided"):
        event = AuditEvent.objects.get(case=case, type=kind)
        assert (event.actor_kind, event.actor_label) == ("system", policy_actor)

    # Triage again (a redelivered message): no second refund, the refusal is on record.
    with django_capture_on_commit_callbacks(execute=True):
        services.triage_case(case=case, by=BY)
    assert RefundDecision.objects.filter(case=case).count() == 1
    assert RefundExecution.objects.filter(decision__case=case).count() == 1
    assert AuditEvent.objects.filter(case=case, type="automation_refused").count() == 1
    assert PolicyDecision.objects.filter(case=case).count() == 2


def test_r3_1_r6_3_triage_follows_the_shops_lower_limit(
    shop_a, shop_b, django_capture_on_commit_callbacks
):
    publish(shop_a, LIMIT_10_YUAN)
    orders = [
        testing.make_order(
            shop,
            status=OrderStatus.UNSHIPPED,
            lines=[testing.Line(paid_amount_fen=12000, category="home")],
        )
        for shop in (shop_a, shop_b)
    ]
    case_a, case_b = (
        testing.make_case(o, type="refund_unshipped", reason="changed_mind") for o in orders
    )

    with django_capture_on_commit_callbacks(execute=True):
        decided_a = services.triage_case(case=case_a, by=BY)
        decided_b = services.triage_case(case=case_b, by=BY)

    assert (decided_a.recommendation, decided_a.auto_approve) == ("approve_refund", False)
    assert decided_a.policy_version.endswith(f"shop{shop_a.pk}v1")
    case_a.refresh_from_db()
    assert case_a.status == CaseStatus.PENDING_REVIEW
    assert not RefundDecision.objects.filter(case=case_a).exists()
    # Shop A's version never touches shop B: its 120-yuan case is refunded automatically.
    assert (decided_b.policy_version, decided_b.auto_approve) == (DEFAULT, True)
    case_b.refresh_from_db()
    assert case_b.status == CaseStatus.COMPLETED


@pytest.mark.parametrize(
    ("status", "type", "reason", "paid", "recommendation"),
    [
        pytest.param(
            OrderStatus.DELIVERED,
            "return_refund",
            "no_reason",
            8800,
            "needs_review",
            id="R3.1-delivered-only-decided",
        ),
        pytest.param(
            OrderStatus.SHIPPED,
            "refund_shipped",
            "changed_mind",
            8800,
            "intercept_first",
            id="R3.1-shipped-only-decided",
        ),
        pytest.param(
            OrderStatus.UNSHIPPED,
            "refund_unshipped",
            "changed_mind",
            50001,
            "approve_refund",
            id="R3.1-unshipped-over-limit-only-decided",
        ),
    ],
)
def test_r3_1_triage_leaves_everything_else_to_a_person(
    shop_a, django_capture_on_commit_callbacks, status, type, reason, paid, recommendation
):
    order = testing.make_order(shop_a, status=status, lines=[testing.Line(paid_amount_fen=paid)])
    case = testing.make_case(order, type=type, reason=reason)

    with django_capture_on_commit_callbacks(execute=True):
        stored = services.triage_case(case=case, by=BY)

    assert (stored.recommendation, stored.auto_approve) == (recommendation, False)
    case.refresh_from_db()
    assert (case.status, case.refund_status) == (CaseStatus.PENDING_REVIEW, RefundStatus.NONE)
    assert not RefundDecision.objects.filter(case=case).exists()
    assert not AuditEvent.objects.filter(case=case, type="case_approved").exists()
    assert AuditEvent.objects.filter(case=case, type="policy_decided").count() == 1
