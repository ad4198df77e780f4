"""R6.3/R11.2: `policy_check` (what-if for one case) and `policy_replay` (what-if for history).

`policy_check` dates the later deadlines from the approval and receipt times when given
(R2.4, R2.5), and says what they count from when not.

Both only read: every test counts the rows they could have written, before and after.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from aftersales import testing
from aftersales.audit.models import AuditEvent
from aftersales.cases import services as case_services
from aftersales.cases.models import Case, CaseCost, RefundDecision
from aftersales.orders.choices import OrderStatus
from aftersales.policy import services
from aftersales.policy.models import PolicyDecision, PolicyVersion

DEFAULT = "default@2025.1"

TSHIRT = {
    "type": "return_refund",
    "reason": "no_reason",
    "order_status": "delivered",
    "applied_at": "2026-11-20T10:00:00+08:00",
    "delivered_at": "2026-11-15T18:00:00+08:00",
    "shipping_fee_paid_fen": 1000,
    "has_shipping_insurance": True,
    "items": [
        {"category": "apparel", "quantity": 1, "ordered_quantity": 1, "paid_amount_fen": 8800}
    ],
}
UNSHIPPED = {
    "type": "refund_unshipped",
    "reason": "changed_mind",
    "order_status": "unshipped",
    "applied_at": "2026-11-20T10:00:00+08:00",
    "shipping_fee_paid_fen": 800,
    "items": [{"category": "home", "paid_amount_fen": 12000}],
}


def counts():
    return {
        model.__name__: model.objects.count()
        for model in (Case, PolicyDecision, PolicyVersion, AuditEvent, RefundDecision)
    }


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def write_json(tmp_path, data, name="case.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


# --- policy_check ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_r6_1_r4_4_policy_check_prints_the_decision_of_the_docs_example(tmp_path):
    before = counts()
    decision = json.loads(run("policy_check", write_json(tmp_path, TSHIRT)))

    assert decision["policy_version"] == DEFAULT
    assert decision["recommendation"] == "needs_review"
    assert decision["complexity"] == "simple"
    assert (decision["no_reason_eligible"], decision["no_reason_last_day"]) == (True, "2026-11-22")
    assert (decision["goods_refund_fen"], decision["shipping_refund_fen"]) == (8800, 0)
    assert decision["return_shipping_payer"] == "insurance"
    assert {"rule", "requirement", "zh", "en"} <= set(decision["trace"][0])
    assert counts() == before


@pytest.mark.django_db
def test_r3_1_policy_check_reads_standard_input(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(UNSHIPPED)))
    decision = json.loads(run("policy_check", "-"))
    assert (decision["recommendation"], decision["auto_approve"]) == ("approve_refund", True)
    assert (decision["goods_refund_fen"], decision["shipping_refund_fen"]) == (12000, 800)


def test_r6_3_policy_check_uses_the_shops_version_and_writes_nothing(tmp_path, shop_a, shop_b):
    version = services.publish_policy_version(
        shop=shop_a,
        document="[triage]\nauto_approve_limit_fen = 10000\n",
        effective_from=timezone.now(),
        by=testing.SYSTEM,
    )
    case = {**UNSHIPPED, "applied_at": (timezone.now() + timedelta(hours=1)).isoformat()}
    before = counts()

    in_a = json.loads(run("policy_check", write_json(tmp_path, {**case, "shop_id": shop_a.pk})))
    in_b = json.loads(run("policy_check", write_json(tmp_path, {**case, "shop_id": shop_b.pk})))

    assert (in_a["policy_version"], in_a["auto_approve"]) == (f"{DEFAULT}+{version.label}", False)
    assert (in_b["policy_version"], in_b["auto_approve"]) == (DEFAULT, True)
    assert counts() == before


BAD_CASES = [
    pytest.param("{not json", id="R6.3-bad-json"),
    pytest.param({**TSHIRT, "colour": "red"}, id="R6.3-unknown-field"),
    pytest.param(
        {**TSHIRT, "items": [{**TSHIRT["items"][0], "colour": "red"}]}, id="R6.3-unknown-item-field"
    ),
    pytest.param({**TSHIRT, "applied_at": "2026-11-20T10:00:00"}, id="R6.1-naive-applied-at"),
    pytest.param({**TSHIRT, "delivered_at": "2026-11-15T18:00:00"}, id="R6.1-naive-delivered-at"),
    pytest.param({**TSHIRT, "reason": "bored"}, id="R6.3-unknown-reason"),
    pytest.param({**TSHIRT, "type": "refund"}, id="R6.3-unknown-type"),
    pytest.param({**TSHIRT, "order_status": "signed"}, id="R6.3-unknown-order-status"),
    pytest.param({**TSHIRT, "items": []}, id="R6.3-no-items"),
    pytest.param(
        {**TSHIRT, "items": [{"category": "apparel", "paid_amount_fen": -1}]},
        id="R3.2-negative-paid",
    ),
    pytest.param({**TSHIRT, "approved_at": "2026-11-20T12:00:00"}, id="R2.4-naive-approved-at"),
    pytest.param({**TSHIRT, "received_at": "2026-11-24T12:00:00"}, id="R2.5-naive-received-at"),
    pytest.param(
        {**TSHIRT, "approved_at": "2026-11-20T09:00:00+08:00"}, id="R2.4-approved-before-applying"
    ),
    pytest.param(
        {
            **TSHIRT,
            "approved_at": "2026-11-21T10:00:00+08:00",
            "received_at": "2026-11-21T09:00:00+08:00",
        },
        id="R2.5-received-before-approval",
    ),
    pytest.param(
        {**UNSHIPPED, "received_at": "2026-11-24T12:00:00+08:00"}, id="R2.5-nothing-comes-back"
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("data", BAD_CASES)
def test_r6_3_policy_check_refuses_bad_input_and_writes_nothing(tmp_path, data):
    before = counts()
    with pytest.raises(CommandError):
        run("policy_check", write_json(tmp_path, data))
    assert counts() == before


@pytest.mark.django_db
def test_r2_4_r2_5_policy_check_dates_the_return_and_the_inspection_from_the_given_times(tmp_path):
    """Approved the afternoon before 国庆 2026, the parcel back on 12 October: the buyer's 7
    working days end at 24:00 on 15 October (1–7 October off, Saturday 10 October worked),
    inspection 48 h after arrival; the second review and the refund count from steps not
    given, so they have no time."""
    case = {
        **TSHIRT,
        "applied_at": "2026-09-29T10:00:00+08:00",
        "delivered_at": "2026-09-27T18:00:00+08:00",
        "approved_at": "2026-09-30T15:00:00+08:00",
        "received_at": "2026-10-12T11:30:00+08:00",
    }
    deadlines = json.loads(run("policy_check", write_json(tmp_path, case)))["deadlines"]

    assert deadlines["return_shipment"] == {
        "counts_from": "approval",
        "hours": None,
        "working_days": 7,
        "buyer_clock": True,
        "due_at": "2026-10-16T00:00:00+08:00",
    }
    assert deadlines["inspection"]["counts_from"] == "receipt"
    assert deadlines["inspection"]["due_at"] == "2026-10-14T11:30:00+08:00"
    assert deadlines["first_response"]["due_at"] == "2026-09-29T12:00:00+08:00"
    assert {c: d["due_at"] for c, d in deadlines.items() if d["due_at"] is None} == {
        "final_review": None,
        "refund": None,
    }
    assert (deadlines["final_review"]["counts_from"], deadlines["final_review"]["hours"]) == (
        "inspection",
        24,
    )


@pytest.mark.django_db
def test_r2_4_r2_5_policy_check_without_the_times_says_what_the_deadlines_count_from(tmp_path):
    deadlines = json.loads(run("policy_check", write_json(tmp_path, TSHIRT)))["deadlines"]
    assert {c: (d["counts_from"], d["due_at"]) for c, d in deadlines.items()} == {
        "first_response": ("application", "2026-11-20T12:00:00+08:00"),
        "plan": ("application", "2026-11-21T10:00:00+08:00"),
        "review": ("application", "2026-11-22T10:00:00+08:00"),
        "return_shipment": ("approval", None),
        "inspection": ("receipt", None),
        "final_review": ("inspection", None),
        "refund": ("final_approval", None),
    }


@pytest.mark.django_db
def test_r6_3_policy_check_missing_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError):
        run("policy_check", str(tmp_path / "nope.json"))


# --- policy_replay ---------------------------------------------------------------------------


def unshipped_case(shop, paid, **kwargs):
    order = testing.make_order(
        shop,
        status=OrderStatus.UNSHIPPED,
        lines=[testing.Line(paid_amount_fen=paid, category="home")],
        shipping_fee_fen=800,
    )
    return testing.make_case(order, type="refund_unshipped", reason="changed_mind", **kwargs)


@pytest.fixture
def history(shop_a, shop_b):
    """Shop A: 120 and 600 yuan unshipped, a 1500-yuan unshipped, a delivered return, and an
    old 600-yuan case from before the replay window. Shop B: a 700-yuan unshipped."""
    return {
        "a_small": unshipped_case(shop_a, 12000),
        "a_600": unshipped_case(shop_a, 60000),
        "a_1500": unshipped_case(shop_a, 150000),
        "a_return": testing.make_case(testing.make_order(shop_a), reason="no_reason"),
        "a_old": unshipped_case(shop_a, 60000, applied_at=timezone.now() - timedelta(days=40)),
        "b_700": unshipped_case(shop_b, 70000),
    }


@pytest.fixture
def candidate(tmp_path):
    path = tmp_path / "candidate.toml"
    path.write_text("[triage]\nauto_approve_limit_fen = 100000\n", encoding="utf-8")
    return str(path)


def since(days_ago=7):
    return (timezone.localdate() - timedelta(days=days_ago)).isoformat()


def replay_json(*args):
    return json.loads(run("policy_replay", *args, "--json"))


def test_r11_2_raising_the_limit_shows_more_auto_approvals_and_writes_nothing(history, candidate):
    before = counts()
    report = replay_json("--policy", candidate, "--since", since())

    assert report["cases"] == 5  # the 40-day-old case is before --since
    assert report["current"]["auto_approvals"] == 1
    assert report["candidate"]["auto_approvals"] == 3
    assert report["decisions_changed"] == 2
    assert report["changes"] == {"approve_refund -> approve_refund (auto)": 2}
    changed = {e["case"] for e in report["examples"]}
    assert changed == {history["a_600"].pk, history["b_700"].pk}
    for example in report["examples"]:
        assert (example["before"], example["after"]) == ("approve_refund", "approve_refund (auto)")
        # The rule that made the difference, in Chinese and English, with the new limit in yuan.
        assert "自动同意上限 1000.00 元" in example["why"]
        assert "within the 1000.00 yuan limit" in example["why"]
    # Money does not move: the same refunds, decided by the system instead of a person.
    assert report["current"]["goods_refund_fen"] == report["candidate"]["goods_refund_fen"]
    assert report["current"]["recommendations"] == report["candidate"]["recommendations"]
    assert counts() == before


def test_r11_2_shop_option_replays_one_shop_only(history, candidate, shop_a, shop_b):
    in_a = replay_json("--policy", candidate, "--since", since(), "--shop", str(shop_a.pk))
    in_b = replay_json("--policy", candidate, "--since", since(), "--shop", str(shop_b.pk))

    assert (in_a["cases"], in_a["decisions_changed"]) == (4, 1)
    assert [e["case"] for e in in_a["examples"]] == [history["a_600"].pk]
    assert (in_b["cases"], in_b["decisions_changed"]) == (1, 1)
    assert [e["case"] for e in in_b["examples"]] == [history["b_700"].pk]


def test_r11_2_the_in_force_side_uses_each_shops_version(history, candidate, shop_a):
    """A case opened under shop A's 10-yuan limit was manual then; the candidate automates it."""
    services.publish_policy_version(
        shop=shop_a,
        document="[triage]\nauto_approve_limit_fen = 1000\n",
        effective_from=timezone.now(),
        by=testing.SYSTEM,
    )
    later = unshipped_case(shop_a, 12000, applied_at=timezone.now() + timedelta(minutes=5))

    report = replay_json("--policy", candidate, "--since", since(), "--shop", str(shop_a.pk))

    assert report["cases"] == 5
    assert report["current"]["auto_approvals"] == 1  # a_small, opened before the version
    assert report["candidate"]["auto_approvals"] == 3
    assert later.pk in {e["case"] for e in report["examples"]}


def test_r11_2_merchant_paid_returns_and_cost_estimate_per_shop(shop_a, shop_b, tmp_path):
    testing.make_case(testing.make_order(shop_a), type="return_refund", reason="wrong_size")
    b_case = testing.make_case(
        testing.make_order(shop_b), type="return_refund", reason="wrong_size"
    )
    case_services.add_cost(
        case=b_case, kind="return_shipping", amount_fen=5000, payer="merchant", by=testing.SYSTEM
    )
    path = tmp_path / "shop-pays.toml"
    path.write_text("[shipping]\nbuyer_reasons_pay_return = false\n", encoding="utf-8")

    report = replay_json("--policy", str(path), "--since", since(), "--shop", str(shop_a.pk))

    assert CaseCost.objects.filter(shop=shop_b).exists()
    assert report["current"]["merchant_paid_returns"] == 0
    assert report["candidate"]["merchant_paid_returns"] == 1
    # Shop A recorded no return-shipping cost: the default estimate, not shop B's 50 yuan.
    assert report["candidate"]["merchant_return_shipping_fen"] == 1200
    assert report["decisions_changed"] == 0


def test_r11_2_human_readable_report(history, candidate):
    before = counts()
    text = run("policy_replay", "--policy", candidate, "--since", since())

    assert "Replayed 5 cases" in text
    assert "Decisions changed: 2" in text
    assert "approve_refund -> approve_refund (auto): 2" in text
    auto_line = next(line for line in text.splitlines() if line.startswith("auto-approvals"))
    assert auto_line.split()[-2:] == ["1", "3"]
    assert f"case {history['a_600'].pk}:" in text
    assert counts() == before


@pytest.mark.django_db
def test_r11_2_nothing_since_the_date(candidate):
    report = replay_json("--policy", candidate, "--since", since(-1))
    assert (report["cases"], report["decisions_changed"], report["examples"]) == (0, 0, [])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("document", "since_arg"),
    [
        pytest.param("[triage]\nauto_aprove_limit_fen = 1\n", "2026-01-01", id="R6.3-unknown-key"),
        pytest.param("[triage]\nauto_approve_limit_fen = -5\n", "2026-01-01", id="R6.3-negative"),
        pytest.param("[triage\n", "2026-01-01", id="R6.3-not-toml"),
        pytest.param("[triage]\nauto_approve_limit_fen = 1\n", "01/09/2026", id="R11.2-bad-date"),
    ],
)
def test_r11_2_bad_candidate_or_date_is_a_command_error(tmp_path, document, since_arg):
    path = tmp_path / "candidate.toml"
    path.write_text(document, encoding="utf-8")
    before = counts()
    with pytest.raises(CommandError):
        run("policy_replay", "--policy", str(path), "--since", since_arg)
    assert counts() == before


@pytest.mark.django_db
def test_r11_2_missing_candidate_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError):
        run("policy_replay", "--policy", str(tmp_path / "nope.toml"), "--since", "2026-01-01")
