"""Issue 14, item 1, end to end against the simulator: a case must never stay out of step
with the platform for good (R13.1).

A rejection the platform refuses (it needs evidence) leaves the case 已拒绝 here while the
platform still waits for the merchant — and will agree by itself at its deadline. The agent
must be able to fix it: attach the evidence and retry (the retry sends what the case holds
now), or reopen and decide again (the refused rejection is superseded, not queued in front of
the new decision). Until then the case is flagged as out of sync, in the queue too.

The platform's rules change (§8): here it starts to want evidence for "超过七天无理由退货期限",
which the product still sends without — the simulator runs in this process, so its rule table
is patched for the test.
"""

from __future__ import annotations

import dataclasses

import pytest
from django.utils import translation

from aftersales.cases import services
from aftersales.cases.choices import EvidenceSource
from aftersales.cases.tests.steps import png_upload
from aftersales.platforms.adapter import adapter_for_case, out_of_sync_case_ids
from aftersales.platforms.douyin.models import OutboxOperation

from .e2e_support import AGENT, apply, case_of, new_order, platform_case, settled

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stricter_platform(sim, monkeypatch):
    """The platform now wants evidence for 超过七天无理由退货期限 (code 3)."""
    rules = pytest.importorskip("douyin_sim.rules")
    stricter = tuple(
        dataclasses.replace(r, evidence_need=True, evidence_description="请上传签收时间截图")
        if r.code == 3
        else r
        for r in rules.REJECT_REASONS
    )
    monkeypatch.setattr(rules, "REJECT_REASONS", stricter)
    monkeypatch.setattr(rules, "REJECT_REASON_BY_CODE", {r.code: r for r in stricter})
    return rules


def refused_rejection(product, control, sim_link):
    """A delivered return rejected as "outside the period" without evidence: the platform
    refuses, the case says 已拒绝, the platform still waits for the merchant (6)."""
    order = new_order(control, sim_link, delivered=True)
    aftersale_id = apply(control, order, type=0, reason_code=1)
    case = product.wait_for(lambda: case_of(aftersale_id), what="the case")
    settled(product, control)
    with product.db():
        services.reject_case(
            case=case, reason_code="beyond_window", note="签收已超过七天", by=AGENT
        )
    failed = product.wait_for(
        lambda: OutboxOperation.objects.filter(case=case, kind="reject", status="failed").first(),
        what="the refused rejection",
    )
    assert "needs evidence" in failed.last_error or "凭证" in failed.last_error
    assert platform_case(control, aftersale_id)["status"] == 6
    return aftersale_id, case_of(aftersale_id), failed


def rejected_messages(control, aftersale_id):
    return [
        m["content"]
        for m in control.get("messages", aftersale_id=aftersale_id)
        if "未能通过" in m["content"]
    ]


def test_r13_1_evidence_attached_after_the_refusal_goes_with_the_retry(
    product, control, sim_link, stricter_platform
):
    aftersale_id, case, failed = refused_rejection(product, control, sim_link)
    with product.db():
        assert adapter_for_case(case).sync_state(case).state == "failed"
        photo = services.attach_evidence(
            case=case,
            upload=png_upload(),
            source=EvidenceSource.MERCHANT,
            note="签收记录截图",
            by=AGENT,
        )
        adapter_for_case(case).retry_failed(case=case, by=AGENT)

    product.wait_for(lambda: platform_case(control, aftersale_id)["status"] == 27, what="27")
    settled(product, control)
    operation = OutboxOperation.objects.get(pk=failed.pk)
    assert operation.status == "synced" and operation.params["evidence"] == [photo.pk]
    (sent,) = [
        op
        for op in control.get("operations", aftersale_id=aftersale_id, method="afterSale.operate")
        if op["code"] == 10000
    ]
    (item,) = sent["params"]["items"]
    assert item["reject_reason_code"] == 3
    assert item["evidence"][0]["url"].endswith(f"/cases/{case.pk}/evidence/{photo.pk}/file")
    # The buyer hears of the refusal once, after the platform took it.
    assert len(rejected_messages(control, aftersale_id)) == 1
    assert adapter_for_case(case).sync_state(case).state == "synced"


def test_r13_1_reopening_supersedes_the_refused_rejection_and_the_new_one_goes_out(
    product, control, sim_link, stricter_platform
):
    aftersale_id, case, failed = refused_rejection(product, control, sim_link)
    with product.db():
        services.reopen_case(case=case, note="补充凭证后重新处理", by=AGENT)
        photo = services.attach_evidence(
            case=case, upload=png_upload(), source=EvidenceSource.MERCHANT, by=AGENT
        )
        services.reject_case(
            case=case,
            reason_code="beyond_window",
            note="签收已超过七天（见截图）",
            evidence_ids=[photo.pk],
            by=AGENT,
        )

    product.wait_for(lambda: platform_case(control, aftersale_id)["status"] == 27, what="27")
    settled(product, control)
    rejects = list(OutboxOperation.objects.filter(case=case, kind="reject").order_by("pk"))
    assert [op.status for op in rejects] == ["superseded", "synced"]
    first_message = OutboxOperation.objects.get(
        case=case, kind="notify_buyer", cause="case_rejected", pk__lt=rejects[1].pk
    )
    assert first_message.status == "superseded"  # the buyer was never refused by it
    assert len(rejected_messages(control, aftersale_id)) == 1
    with product.db():
        state = adapter_for_case(case).sync_state(case)
        assert state.state == "synced" and not state.out_of_sync
        assert case.pk not in out_of_sync_case_ids([case.shop_id])


def test_r13_1_a_case_out_of_step_with_the_platform_is_flagged_for_the_queue(
    product, control, sim_link, stricter_platform
):
    """The refused rejection is out of sync at once; when the platform then agrees by itself
    at its deadline, the case follows it (issue 15: a rejection the platform overruled or never
    received is reopened and the agreement applied), the refused rejection and its message
    are superseded, and nothing is out of sync any more."""
    aftersale_id, case, failed = refused_rejection(product, control, sim_link)
    with product.db():
        state = adapter_for_case(case).sync_state(case)
        assert state.out_of_sync and state.platform_status == "待商家同意"
        assert state.platform_deadline is not None  # when the platform acts by itself
        assert out_of_sync_case_ids([case.shop_id]) == {case.pk}

    control.post("clock/advance", {"hours": 49})  # the merchant's 48 h pass: 6 → 7
    product.wait_for(
        lambda: case_of(aftersale_id).douyin.platform_status == 7, what="the timeout's push"
    )
    with product.db(), translation.override("zh-hans"):
        case = case_of(aftersale_id)
        assert case.status == "awaiting_return"  # the platform's agreement, followed
        failed.refresh_from_db()
        assert failed.status == "superseded"
        state = adapter_for_case(case).sync_state(case)
        assert state.platform_status == "待买家退货"
        assert state.drift == []
        assert out_of_sync_case_ids([case.shop_id]) == set()
