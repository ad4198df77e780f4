"""The API describes itself for integrators (DESIGN: OpenAPI at /api/docs, versioned /api/v1/).

Proves:
- /api/v1/openapi.json lists every case endpoint with both ways to authenticate, and
  documents the error shape (code, message_zh, message_en) integrators program against;
- /api/docs redirects to /api/v1/docs, which renders;
- tenant isolation: describing the API reveals no shop's data.
"""

from __future__ import annotations

import pytest

from aftersales import testing

from .support import API

CASE_ENDPOINTS = {
    ("get", "/cases"),
    ("post", "/cases"),
    ("get", "/cases/{case_id}"),
    ("get", "/cases/{case_id}/evidence/{evidence_id}/file"),
    *(
        ("post", f"/cases/{{case_id}}/{action}")
        for action in (
            "approve",
            "reject",
            "request-evidence",
            "buyer-evidence",
            "evidence",
            "return-shipment",
            "receive-return",
            "inspect",
            "approve-final",
            "refund",
            "refund/retry",
            "quality-check",
            "ship-replacement",
            "resend",
            "return-repaired",
            "confirm-receipt",
            "convert-to-refund",
            "withdraw",
            "close",
            "reopen",
            "costs",
            "assign",
        )
    ),
}


@pytest.fixture
def schema(client, db):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def test_openapi_lists_every_case_endpoint(schema):
    listed = {
        (method, path.removeprefix(API))
        for path, operations in schema["paths"].items()
        for method in operations
    }
    assert listed >= CASE_ENDPOINTS
    assert schema["info"]["version"] == "1"


def test_openapi_documents_both_ways_to_authenticate(schema):
    schemes = schema["components"]["securitySchemes"]
    assert {(s["type"], s["in"], s["name"]) for s in schemes.values()} == {
        ("apiKey", "header", "X-API-Key"),
        ("apiKey", "cookie", "sessionid"),
    }
    approve = schema["paths"][f"{API}/cases/{{case_id}}/approve"]["post"]
    assert approve["security"]


def test_openapi_documents_the_error_shape(schema):
    error = schema["components"]["schemas"]["ErrorOut"]
    assert {"code", "message", "message_zh", "message_en"} <= set(error["required"])
    refund = schema["paths"][f"{API}/cases/{{case_id}}/refund"]["post"]
    assert {"400", "401", "403", "404", "409"} <= set(refund["responses"])


def test_openapi_reveals_no_shop_data(shop_a, client):
    case = testing.make_case(testing.make_order(shop_a), platform_case_id="7300000000000012345")
    text = client.get(f"{API}/openapi.json").content.decode()
    assert case.platform_case_id not in text
    assert case.order.platform_order_id not in text


def test_api_docs_redirects_to_the_versioned_docs_which_render(client, db):
    response = client.get("/api/docs")
    assert response.status_code == 302
    assert response["Location"] == f"{API}/docs"

    docs = client.get("/api/docs", follow=True)
    assert docs.redirect_chain == [(f"{API}/docs", 302)]
    assert docs.status_code == 200
    assert docs["Content-Type"].startswith("text/html")
    page = docs.content.decode()
    assert f"{API}/openapi.json" in page
    assert "swagger" in page.lower()


def test_api_docs_load_their_assets_locally_not_from_a_cdn(client, db):
    page = client.get(f"{API}/docs").content.decode()
    assert "cdn.jsdelivr.net" not in page
    assert "/static/ninja/swagger-ui-bundle.js" in page
