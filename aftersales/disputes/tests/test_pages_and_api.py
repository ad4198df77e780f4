"""R5.1–R5.3 in the API and the workbench: the actions work for the shop's staff; another
shop's user gets a 404 on every endpoint and page, an auditor a 403 on every write."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from aftersales import testing
from aftersales.cases import services as cs
from aftersales.cases.models import RefundDecision
from aftersales.cases.tests import steps
from aftersales.disputes import services
from aftersales.disputes.models import EvidencePackage, Offer
from aftersales.platforms.douyin.ingest import record_platform_dispute
from aftersales.shops.choices import Role

API = "/api/v1"
BY = testing.SYSTEM


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def disputed(shop_a):
    """A rejected case under the platform's intervention, with a photo, an offer, a package."""
    case = steps.new_case(shop_a, "refund_shipped", reason="quality_issue")
    cs.reject_case(case=case, reason_code="no_evidence", note="未提供凭证", by=BY)
    due = timezone.now() + timedelta(hours=30)
    record_platform_dispute(
        case=case,
        dispute_status="platform_intervening",
        details={"arbitrate_id": "ARB-9", "evidence_deadline": due.isoformat()},
    )
    steps.attach_photo(case)
    offer = services.make_offer(case=case, kind="partial_refund", amount_fen=1000, by=BY)
    package = services.build_package(case=case, by=BY)
    return case, offer, package


def test_r5_1_offer_and_answer_through_the_api(alice, shop_a, django_capture_on_commit_callbacks):
    case = steps.new_case(shop_a, "refund_shipped", reason="quality_issue")
    client = client_for(alice)
    made = client.post(
        f"{API}/cases/{case.pk}/offers",
        {"kind": "partial_refund", "amount_fen": 2500, "note": "协商"},
        content_type="application/json",
    )
    assert made.status_code == 200, made.content
    offer_id = made.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        answered = client.post(
            f"{API}/cases/{case.pk}/offers/{offer_id}/answer",
            {"accepted": True, "note": "买家同意"},
            content_type="application/json",
        )
    assert answered.status_code == 200 and answered.json()["status"] == "accepted"
    assert RefundDecision.objects.get(case=case).goods_amount_fen == 2500
    body = client.get(f"{API}/cases/{case.pk}/dispute").json()
    assert [o["status"] for o in body["offers"]] == ["accepted"]


def test_r5_1_an_offer_too_large_is_refused_in_both_languages_and_changes_nothing(alice, shop_a):
    case = steps.new_case(shop_a, "refund_shipped", reason="quality_issue")
    refused = client_for(alice).post(
        f"{API}/cases/{case.pk}/offers",
        {"kind": "partial_refund", "amount_fen": 999999},
        content_type="application/json",
    )
    assert refused.status_code == 400
    body = refused.json()
    assert body["field"] == "amount_fen" and body["message_zh"] != body["message_en"]
    assert not Offer.objects.exists()


def test_r5_2_package_files_and_the_case_page_panel(alice, disputed):
    case, offer, package = disputed
    client = client_for(alice)
    pdf = client.get(f"{API}/cases/{case.pk}/evidence-packages/{package.pk}/pdf")
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF")
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert 'id="disputes"' in page and "data-evidence-due" in page
    assert f'data-offer="{offer.pk}"' in page and 'data-action="submit-evidence"' in page
    submitted = client.post(
        f"/disputes/cases/{case.pk}/packages/{package.pk}/submit/",
        {"evidence_ids": [package.manifest[0]["evidence_id"]], "comment": "照片可见完好"},
    )
    assert submitted.status_code == 302
    package.refresh_from_db()
    assert package.submitted_at is not None


def test_tenant_isolation_on_every_dispute_endpoint_and_page(carol, audrey, disputed, shop_a):
    case, offer, package = disputed
    foreign = client_for(carol)
    reads = [
        f"{API}/cases/{case.pk}/dispute",
        f"{API}/cases/{case.pk}/evidence-packages/{package.pk}/pdf",
        f"{API}/cases/{case.pk}/evidence-packages/{package.pk}/zip",
        f"/disputes/cases/{case.pk}/packages/{package.pk}/pdf/",
        f"/disputes/?shop={shop_a.pk}",
        f"{API}/disputes/week?shop={shop_a.pk}",
        f"{API}/disputes/rejections?shop={shop_a.pk}",
    ]
    for url in reads:
        assert foreign.get(url).status_code == 404, url
    writes = [
        (f"{API}/cases/{case.pk}/offers", {"kind": "resend"}),
        (f"{API}/cases/{case.pk}/offers/{offer.pk}/answer", {"accepted": True}),
        (f"{API}/cases/{case.pk}/evidence-packages", {}),
        (
            f"{API}/cases/{case.pk}/evidence-packages/{package.pk}/submit",
            {"evidence_ids": [1], "comment": "x"},
        ),
        (f"{API}/cases/{case.pk}/appeal", {"statement": "x"}),
        (f"{API}/cases/{case.pk}/appeal/outcome", {"outcome": "upheld"}),
    ]
    for url, body in writes:
        assert foreign.post(url, body, content_type="application/json").status_code == 404, url
        # The auditor reads but never writes.
        assert (
            client_for(audrey).post(url, body, content_type="application/json").status_code == 403
        ), url
    for url in [
        f"/disputes/cases/{case.pk}/offers/",
        f"/disputes/cases/{case.pk}/offers/{offer.pk}/answer/",
        f"/disputes/cases/{case.pk}/packages/",
        f"/disputes/cases/{case.pk}/packages/{package.pk}/submit/",
        f"/disputes/cases/{case.pk}/appeal/",
        f"/disputes/cases/{case.pk}/appeal/outcome/",
    ]:
        assert foreign.post(url, {}).status_code == 404, url
    assert Offer.objects.filter(case=case).count() == 1
    assert EvidencePackage.objects.filter(case=case).count() == 1


def test_the_week_page_is_for_supervisors_and_shows_the_lines(shop_a, alice, disputed):
    lead = testing.make_user("week-lead", shop_a, Role.SUPERVISOR)
    page = client_for(lead).get("/disputes/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "data-late-share" in text and 'data-reason="no_evidence"' in text
    assert client_for(alice).get("/disputes/").status_code == 404  # an agent leads no shop
    saved = client_for(lead).post(
        f"/disputes/?shop={shop_a.pk}",
        {"handler": str(lead.pk), "baseline_per_mille": "40", "warn_multiple": "5"},
    )
    assert saved.status_code == 302
    assert services.settings_for(shop_a.pk).handler == lead
