"""R5.2, R5.3 end to end against the simulator (douyin_sim, in this process), the product
served over real HTTP for its pushes: the buyer asks the platform to step in → the case shows
the platform's deadline → the evidence package is built and submitted through the outbox →
the platform rules → the ruling is carried out once, whatever the redelivery → the appeal.
"""

from __future__ import annotations

import pytest
from django.test import Client

from aftersales import testing
from aftersales.cases import services as cs
from aftersales.cases.models import RefundDecision, RefundExecution
from aftersales.cases.tests import steps
from aftersales.core.errors import Conflict
from aftersales.disputes import services
from aftersales.disputes.models import Intervention
from aftersales.platforms.douyin.models import InboundMessage, OutboxOperation
from aftersales.platforms.douyin.tests.e2e_support import (
    AGENT,
    apply,
    case_of,
    new_order,
    platform_case,
    settled,
    successful_operations,
)
from aftersales.shops.choices import Role

pytestmark = pytest.mark.django_db(transaction=True)


def rejected_then_intervened(product, control, sim_link):
    """A delivered refund-only request the shop rejected; the buyer asks the platform."""
    order = new_order(control, sim_link, delivered=True)
    aftersale_id = apply(control, order, type=1, reason_code=2)
    case = product.wait_for(lambda: case_of(aftersale_id), what="the case")
    settled(product, control)
    with product.db():
        cs.reject_case(case=case, reason_code="no_evidence", note="未提供凭证", by=AGENT)
    product.wait_for(lambda: platform_case(control, aftersale_id)["status"] == 27, what="27")
    control.post(f"aftersales/{aftersale_id}/arbitrate", {"statement": "商家无理拒绝"})
    product.wait_for(
        lambda: Intervention.objects.filter(case=case).exists(), what="the intervention ticket"
    )
    settled(product, control)
    return aftersale_id, case


def test_r5_2_r5_3_intervention_package_ruling_for_the_buyer_refund_once_and_appeal(
    product, control, sim_link, shop_a
):
    with product.db():
        lead = testing.make_user("dispute-lead", shop_a, Role.SUPERVISOR)
        services.set_dispute_settings(
            shop_id=shop_a.pk,
            by=testing.actor(lead),
            handler_id=lead.pk,
            baseline_per_mille=50,
            warn_multiple=5,
        )
    aftersale_id, case = rejected_then_intervened(product, control, sim_link)
    remote = platform_case(control, aftersale_id)

    with product.db():
        ticket = Intervention.objects.get(case=case)
        case.refresh_from_db()
        # The platform's own deadline for the evidence, as a clock of its own, and the handler.
        deadline = remote["detail"]["process_info"]["arbitrate_info"]["arbitrate_status_deadline"]
        assert int(ticket.evidence_due_at.timestamp()) == deadline
        assert case.clocks.get(kind="platform_evidence").state == "running"
        assert case.dispute_status == "platform_intervening" and case.assignee == lead
        client = Client()
        client.force_login(lead)
        body = client.get(f"/api/v1/cases/{case.pk}/dispute").json()
        assert body["interventions"][0]["evidence_due_at"] == ticket.evidence_due_at.isoformat()
        page = client.get(f"/cases/{case.pk}/")
        assert 'data-evidence-due="' in page.content.decode()

        photos = [steps.attach_photo(case, by=AGENT) for _ in range(5)]
        package = services.build_package(case=case, by=AGENT)
        services.submit_package(
            package=package,
            evidence_ids=[p.pk for p in photos],
            comment="聊天记录显示买家已同意不退款",
            by=AGENT,
        )
    settled(product, control)
    calls = successful_operations(control, aftersale_id, "afterSale.submitEvidence")
    # Five photos, four per call: two calls, the comment with the first.
    assert [len(c["params"]["evidence"]) for c in calls] == [4, 1]
    assert calls[0]["params"]["comment"] == "聊天记录显示买家已同意不退款"
    with product.db():
        kinds = set(OutboxOperation.objects.filter(case=case).values_list("kind", "status"))
        assert ("submit_evidence", "synced") in kinds  # what the sync panel lists

    control.post("faults", {"push_duplicate": 3})  # every push of the ruling three times
    control.post(f"aftersales/{aftersale_id}/arbitrate/rule", {"conclusion": 1, "blame": 1})
    product.wait_for(
        lambda: case_of(aftersale_id).refund_status == "refunded", what="the ruled refund"
    )
    settled(product, control)
    with product.db():
        case.refresh_from_db()
        assert (case.status, case.dispute_status) == ("completed", "ruled_for_buyer")
        assert RefundDecision.objects.filter(case=case).count() == 1
        assert RefundExecution.objects.get(decision__case=case).status == "succeeded"
        ticket.refresh_from_db()
        assert (ticket.ruling, ticket.responsible) == ("for_buyer", "merchant")
        assert ticket.ruling_executed_at is not None
        assert case.clocks.get(kind="appeal").state == "running"
        assert InboundMessage.objects.filter(deliveries__gte=2).exists()  # redelivered indeed
        services.file_appeal(case=case, statement="证据显示买家已签收且同意", by=AGENT)
        assert case.clocks.get(kind="appeal").state == "stopped"
    # No refund instruction of ours: the platform refunded by its ruling.
    assert successful_operations(control, aftersale_id) == [
        op for op in successful_operations(control, aftersale_id) if op["params"]["type"] == 202
    ]
    assert platform_case(control, aftersale_id)["status"] == 12


def test_r5_3_ruling_for_the_shop_closes_the_case_and_nothing_is_refunded(
    product, control, sim_link
):
    aftersale_id, case = rejected_then_intervened(product, control, sim_link)
    control.post(f"aftersales/{aftersale_id}/arbitrate/rule", {"conclusion": 2, "blame": 2})
    product.wait_for(lambda: case_of(aftersale_id).status == "closed", what="closed")
    settled(product, control)
    with product.db():
        case.refresh_from_db()
        assert case.dispute_status == "ruled_for_merchant"
        assert not RefundDecision.objects.filter(case=case).exists()
        ticket = Intervention.objects.get(case=case)
        assert (ticket.ruling, ticket.responsible) == ("for_shop", "buyer")
        with pytest.raises(Conflict):
            services.file_appeal(case=case, statement="-", by=AGENT)
    assert platform_case(control, aftersale_id)["status"] == 28
