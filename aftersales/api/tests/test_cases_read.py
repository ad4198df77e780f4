"""Reading cases through the v1 API.

Proves:
- tenant isolation: a shop-B user never sees a shop-A case, in the list (whatever the filters,
  the search term or the shop_id asked for) or in the detail, where another shop's case is a
  404 identical, byte for byte, to a case id that does not exist;
- the list filters an agent's queue needs: status (repeatable), type, reason, refund status,
  assignee (me / none / a user id), search by case id, platform case id, order id or buyer
  id, applied_after / applied_before, ordering, limit / offset with the total count;
- bad paging or filters are a 400 JSON error (``invalid_input``);
- R3.2: the detail shows each item's actually paid amount beside the list price;
- R1.2 / R6.2: the detail carries the case's audit events, evidence and refund;
- R6.5: the buyer's phone and the receiver are masked (138****5678); the real values never
  appear anywhere in the response body;
- anonymous callers get 401 with code ``unauthenticated``.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from aftersales import testing
from aftersales.api.schemas import BuyerOut, CaseOut, CasePage
from aftersales.cases import services
from aftersales.shops.choices import Role
from aftersales.testing import png_bytes

from .support import API, assert_error

SYSTEM = testing.SYSTEM


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [c["id"] for c in response.json()["results"]]


@pytest.fixture
def queue(shop_a, shop_b, alice):
    """Shop A's queue: cases of several types, reasons and states; and one case in shop B."""
    now = timezone.now()
    bob = testing.make_user("bob", shop_a, Role.AGENT)
    buyer_order = testing.make_order(shop_a)
    cases = {
        "old_return": testing.make_case(
            testing.make_order(shop_a), applied_at=now - timedelta(days=3)
        ),
        "refund": testing.make_case(
            testing.make_order(shop_a, status="unshipped"),
            type="refund_unshipped",
            reason="changed_mind",
            platform_case_id="7300000000000000001",
            applied_at=now - timedelta(days=2),
        ),
        "quality": testing.make_case(
            buyer_order, reason="quality_issue", applied_at=now - timedelta(days=1)
        ),
        "exchange": testing.make_case(
            testing.make_order(shop_a),
            type="exchange",
            reason="wrong_size",
            applied_at=now - timedelta(hours=1),
        ),
    }
    services.approve_case(case=cases["refund"], by=SYSTEM)
    services.refund_case(case=cases["refund"], by=SYSTEM)  # refund_status pending
    services.request_evidence(case=cases["quality"], note="请上传照片", by=SYSTEM)
    services.withdraw_case(case=cases["exchange"], by=SYSTEM)
    services.assign_case(case=cases["old_return"], assignee=alice, by=SYSTEM)
    services.assign_case(case=cases["quality"], assignee=bob, by=SYSTEM)
    cases["foreign"] = testing.make_case(
        testing.make_order(shop_b),
        platform_case_id="7300000000000000999",
        applied_at=now - timedelta(hours=2),
    )
    for case in cases.values():
        case.refresh_from_db()
    cases["bob"] = bob
    return cases


def a_ids(queue, *names: str) -> list[int]:
    return [queue[n].pk for n in names]


# --- The list --------------------------------------------------------------------------------


def test_tenant_isolation_list_shows_only_the_users_shop(queue, alice_client, carol_client):
    response = alice_client.get(f"{API}/cases")
    assert ids(response) == a_ids(queue, "exchange", "quality", "refund", "old_return")
    assert response.json()["count"] == 4
    assert ids(carol_client.get(f"{API}/cases")) == [queue["foreign"].pk]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?status=pending_review",
        "?type=return_refund",
        "?reason=no_reason",
        "?assignee=none",
        "?order_by=applied_at",
        "?limit=200",
    ],
)
def test_tenant_isolation_no_filter_reaches_another_shops_cases(queue, carol_client, query):
    results = carol_client.get(f"{API}/cases{query}").json()["results"]
    assert {c["shop_id"] for c in results} <= {queue["foreign"].shop_id}
    assert queue["old_return"].pk not in [c["id"] for c in results]


def test_tenant_isolation_searching_another_shops_ids_finds_nothing(queue, shop_a, carol_client):
    refund = queue["refund"]
    for term in (
        str(refund.pk),
        refund.platform_case_id,
        refund.order.platform_order_id,
        refund.order.buyer.platform_buyer_id,
    ):
        response = carol_client.get(f"{API}/cases", {"q": term})
        assert ids(response) == [] and response.json()["count"] == 0
    response = carol_client.get(f"{API}/cases", {"shop_id": shop_a.pk})
    assert ids(response) == []


def test_list_filters_by_repeated_status(queue, alice_client):
    response = alice_client.get(f"{API}/cases?status=awaiting_evidence&status=closed")
    assert ids(response) == a_ids(queue, "exchange", "quality")
    assert ids(alice_client.get(f"{API}/cases?status=pending_review")) == a_ids(queue, "old_return")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=refund_unshipped", ["refund"]),
        ("type=exchange", ["exchange"]),
        ("reason=quality_issue", ["quality"]),
        ("reason=no_reason", ["old_return"]),
        ("refund_status=pending", ["refund"]),
        ("refund_status=none", ["exchange", "quality", "old_return"]),
        ("type=return_refund&reason=quality_issue", ["quality"]),
        ("type=return_refund&status=closed", []),
    ],
)
def test_list_filters_by_type_reason_and_refund_status(queue, alice_client, query, expected):
    assert ids(alice_client.get(f"{API}/cases?{query}")) == a_ids(queue, *expected)


def test_list_filters_by_assignee(queue, alice_client):
    assert ids(alice_client.get(f"{API}/cases?assignee=me")) == a_ids(queue, "old_return")
    assert ids(alice_client.get(f"{API}/cases?assignee=none")) == a_ids(queue, "exchange", "refund")
    bob = queue["bob"]
    assert ids(alice_client.get(f"{API}/cases?assignee={bob.pk}")) == a_ids(queue, "quality")
    assert_error(alice_client.get(f"{API}/cases?assignee=someone"), 400, "invalid_input")


def test_list_searches_case_platform_case_order_and_buyer_ids(queue, alice_client):
    refund = queue["refund"]
    for term in (
        str(refund.pk),
        refund.platform_case_id,
        refund.order.platform_order_id,
        refund.order.buyer.platform_buyer_id,
        f"  {refund.order.platform_order_id} ",
    ):
        assert ids(alice_client.get(f"{API}/cases", {"q": term})) == [refund.pk], term
    assert ids(alice_client.get(f"{API}/cases", {"q": "no-such-thing"})) == []


def test_list_filters_by_application_time(queue, alice_client):
    now = timezone.now()
    after = (now - timedelta(days=2, hours=1)).isoformat()
    before = (now - timedelta(hours=12)).isoformat()
    response = alice_client.get(f"{API}/cases", {"applied_after": after})
    assert ids(response) == a_ids(queue, "exchange", "quality", "refund")
    response = alice_client.get(f"{API}/cases", {"applied_before": before})
    assert ids(response) == a_ids(queue, "quality", "refund", "old_return")
    response = alice_client.get(f"{API}/cases", {"applied_after": after, "applied_before": before})
    assert ids(response) == a_ids(queue, "quality", "refund")
    assert_error(
        alice_client.get(f"{API}/cases", {"applied_after": "yesterday"}), 400, "invalid_input"
    )


def test_list_orders_newest_first_by_default_and_on_request(queue, alice_client):
    newest_first = a_ids(queue, "exchange", "quality", "refund", "old_return")
    assert ids(alice_client.get(f"{API}/cases")) == newest_first
    assert ids(alice_client.get(f"{API}/cases?order_by=applied_at")) == newest_first[::-1]
    assert_error(alice_client.get(f"{API}/cases?order_by=password"), 400, "invalid_input")


def test_list_pages_with_limit_offset_and_total_count(queue, alice_client):
    newest_first = a_ids(queue, "exchange", "quality", "refund", "old_return")
    page = alice_client.get(f"{API}/cases?limit=2&offset=0").json()
    assert (page["count"], page["limit"], page["offset"]) == (4, 2, 0)
    assert [c["id"] for c in page["results"]] == newest_first[:2]
    page = alice_client.get(f"{API}/cases?limit=2&offset=2").json()
    assert [c["id"] for c in page["results"]] == newest_first[2:]
    page = alice_client.get(f"{API}/cases?limit=2&offset=10").json()
    assert page["count"] == 4 and page["results"] == []
    page = alice_client.get(f"{API}/cases?status=pending_review&limit=1").json()
    assert page["count"] == 1 and page["count_exact"] is True


def test_issue_16_the_count_stops_at_the_cap_and_says_so(queue, alice_client, monkeypatch):
    """Counting a million cases on every call costs more than the page: past the cap the
    count is the cap and `count_exact` is false; the pages themselves go on."""
    from aftersales.api import api as api_module

    monkeypatch.setattr(api_module, "COUNT_CAP", 3)
    page = alice_client.get(f"{API}/cases?limit=2&offset=2").json()
    assert (page["count"], page["count_exact"]) == (3, False)
    assert len(page["results"]) == 2
    page = alice_client.get(f"{API}/cases?status=pending_review").json()
    assert (page["count"], page["count_exact"]) == (1, True)


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=201", "limit=-1", "limit=abc", "offset=-1", "offset=x"]
)
def test_bad_paging_is_400_json(queue, alice_client, query):
    assert_error(alice_client.get(f"{API}/cases?{query}"), 400, "invalid_input")


def test_list_rows_mask_the_buyer_phone_r6_5(queue, alice_client):
    response = alice_client.get(f"{API}/cases")
    assert {c["buyer"]["phone"] for c in response.json()["results"]} == {"138****5678"}
    assert "13812345678" not in response.content.decode()


def test_list_labels_follow_the_requested_language(queue, alice_client):
    """Chinese by default, English on request; an integrator reads the codes either way."""
    alice_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-CN,zh;q=0.9"
    zh = {c["id"]: c for c in alice_client.get(f"{API}/cases").json()["results"]}
    alice_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    en = {c["id"]: c for c in alice_client.get(f"{API}/cases").json()["results"]}
    refund = queue["refund"].pk
    assert (zh[refund]["type"], en[refund]["type"]) == ("refund_unshipped", "refund_unshipped")
    assert zh[refund]["reason_label"] != en[refund]["reason_label"]
    exchange = queue["exchange"].pk
    assert (zh[exchange]["type_label"], zh[exchange]["status_label"]) == ("换货", "已关闭")
    assert (en[exchange]["type_label"], en[exchange]["status_label"]) == (
        "Exchange",
        "Closed",
    )
    assert en[exchange]["reason_label"] == "Size or fit not suitable"
    assert zh[exchange]["reason_label"] == "尺码或版型不合适"


def test_issue_16_list_rows_are_exactly_the_schema_and_what_the_detail_says(queue, alice_client):
    """The list is rendered as built, without ninja's validation per row: each row must
    still be exactly `CaseOut` (no field more or less, each of its type) and say what the
    case's detail, which is validated, says of the same case."""
    body = alice_client.get(f"{API}/cases").json()

    page = CasePage.model_validate(body)
    assert len(page.results) == len(body["results"]) == 4
    for row in body["results"]:
        assert set(row) == set(CaseOut.model_fields)
        assert set(row["buyer"]) == set(BuyerOut.model_fields)
        detail = alice_client.get(f"{API}/cases/{row['id']}").json()
        assert {key: detail[key] for key in row} == row
    assert {r["assignee_id"] for r in body["results"]} == {
        None,
        queue["bob"].pk,
        queue["old_return"].assignee_id,
    }


# --- The detail ------------------------------------------------------------------------------


@pytest.fixture
def full_case(shop_a):
    """A returned, inspected and refunded case of two lines, with a photo on it."""
    order = testing.make_order(
        shop_a,
        lines=[
            testing.Line(quantity=2, list_price_fen=10000, paid_amount_fen=15000),
            testing.Line(quantity=1, list_price_fen=5000, paid_amount_fen=4200, name="帆布袋"),
        ],
    )
    case = testing.make_case(order, reason="quality_issue", buyer_statement="衣服开线")
    services.attach_evidence(
        case=case,
        upload=services.Upload(stream=io.BytesIO(png_bytes()), name="13812345678.png"),
        source="merchant",
        by=SYSTEM,
    )
    services.approve_case(case=case, by=SYSTEM)
    services.receive_return(case=case, by=SYSTEM)
    services.inspect_return(case=case, result="pass", condition="good", by=SYSTEM)
    services.approve_after_inspection(case=case, by=SYSTEM)
    services.refund_case(case=case, by=SYSTEM)
    return case


def test_r3_2_detail_lists_items_with_paid_amounts(full_case, alice_client):
    body = alice_client.get(f"{API}/cases/{full_case.pk}").json()
    items = [
        (i["product_name"], i["quantity"], i["list_price_fen"], i["paid_amount_fen"])
        for i in body["items"]
    ]
    assert items == [("纯棉短袖T恤", 2, 10000, 15000), ("帆布袋", 1, 5000, 4200)]
    assert [i["paid_amount"] for i in body["items"]] == ["150.00", "42.00"]
    # The refund was what was paid (150 + 42), not the list prices (200 + 50).
    assert body["refund"]["goods_amount_fen"] == 19200
    assert body["refund"]["total"] == "192.00"
    assert body["refund"]["execution_status"] == "pending"
    assert [i["refunded_amount_fen"] for i in body["items"]] == [15000, 4200]


def test_r6_2_detail_carries_events_and_evidence(full_case, alice_client):
    body = alice_client.get(f"{API}/cases/{full_case.pk}").json()
    assert [e["type"] for e in body["events"]] == [
        "case_opened",
        "evidence_attached",
        "case_approved",
        "return_received",
        "return_inspected",
        "case_final_approved",
        "refund_decided",
    ]
    seqs = [e["seq"] for e in body["events"]]
    assert seqs == sorted(seqs)
    assert body["events"][2]["before"]["status"] == "pending_review"
    assert body["events"][2]["after"]["status"] == "awaiting_return"
    (evidence,) = body["evidence"]
    assert (evidence["kind"], evidence["content_type"], evidence["source"]) == (
        "image",
        "image/png",
        "merchant",
    )
    assert evidence["url"] == f"{API}/cases/{full_case.pk}/evidence/{evidence['id']}/file"
    assert len(evidence["sha256"]) == 64
    assert [i["result"] for i in body["inspections"]] == ["pass"]
    assert (body["status"], body["refund_status"], body["return_status"]) == (
        "awaiting_refund",
        "pending",
        "inspected",
    )


def test_r6_5_detail_masks_the_buyer_and_receiver_and_never_leaks_them(full_case, alice_client):
    response = alice_client.get(f"{API}/cases/{full_case.pk}")
    body = response.json()
    assert body["buyer"]["phone"] == "138****5678"
    assert body["order"]["receiver"] == {
        "name": "张**",
        "phone": "139****4321",
        "address": "浙江省杭州市****",
    }
    # Nowhere in the body, whether the JSON escapes Chinese or not.
    texts = [response.content.decode(), json.dumps(body, ensure_ascii=False)]
    for secret in ("13812345678", "13987654321", "张三丰", "西湖区", "文三路100号"):
        for text in texts:
            assert secret not in text, secret


def test_tenant_isolation_another_shops_case_is_404_identical_to_a_missing_one(
    full_case, carol_client
):
    foreign = carol_client.get(f"{API}/cases/{full_case.pk}")
    missing = carol_client.get(f"{API}/cases/987654321")
    body = assert_error(foreign, 404, "not_found")
    assert missing.status_code == 404
    assert foreign.content == missing.content
    assert body == missing.json()
    assert "13812345678" not in foreign.content.decode()


def test_non_numeric_case_id_is_400_json_not_a_crash(alice_client):
    body = assert_error(alice_client.get(f"{API}/cases/abc"), 400, "invalid_input")
    assert ["path", "case_id"] in [e["loc"] for e in body["errors"]]


@pytest.mark.parametrize("path", ["/cases", "/cases/1", "/cases/1/evidence/1/file"])
def test_anonymous_read_is_401_unauthenticated(full_case, anon_client, path):
    response = anon_client.get(API + path.replace("/1", f"/{full_case.pk}", 1))
    assert_error(response, 401, "unauthenticated")
    assert "138" not in response.content.decode()


def test_code_lists_for_integrators(alice_client):
    reasons = {c["code"]: c["label"] for c in alice_client.get(f"{API}/codes/reasons").json()}
    assert "quality_issue" in reasons and reasons["quality_issue"]
    statuses = [c["code"] for c in alice_client.get(f"{API}/codes/case-statuses").json()]
    assert "awaiting_refund" in statuses
