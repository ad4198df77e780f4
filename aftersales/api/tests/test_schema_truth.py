"""Issue 15: the API answers what its schema says — inputs it refuses are refused with a 4xx
naming the field in Chinese and English, never a 500 and never a silent acceptance."""

from __future__ import annotations

import pytest

from aftersales import testing
from aftersales.cases.models import Case

from .support import API, assert_error, db_state, post_json


def pending(shop) -> Case:
    return testing.make_case(testing.make_order(shop), type="return_refund", reason="no_reason")


@pytest.mark.django_db
def test_r6_2_a_nul_character_in_a_text_input_is_refused_naming_the_field(alice_client, shop_a):
    case = pending(shop_a)
    before = db_state()

    response = post_json(alice_client, f"/cases/{case.pk}/approve", {"note": "好\x00的"})

    body = assert_error(response, 400, "invalid_input")
    assert body["field"] == "note"
    assert "note" in body["message_en"] and "NUL" in body["message_en"]
    assert "note" in body["message_zh"]
    assert db_state() == before
    case.refresh_from_db()
    assert case.status == "pending_review"


@pytest.mark.django_db
def test_r6_2_a_nul_character_in_a_query_is_refused_not_a_500(alice_client, shop_a):
    response = alice_client.get(f"{API}/cases", {"q": "a\x00b"})
    assert_error(response, 400, "invalid_input")


@pytest.mark.django_db
def test_r1_3_a_body_that_is_not_an_object_approves_nothing(alice_client, shop_a):
    case = pending(shop_a)
    before = db_state()

    response = post_json(alice_client, f"/cases/{case.pk}/approve", [None, None])

    assert_error(response, 400, "invalid_input")
    assert db_state() == before
    case.refresh_from_db()
    assert case.status == "pending_review"


@pytest.mark.django_db
def test_r6_2_a_number_is_not_a_date_time(alice_client, shop_a):
    response = alice_client.get(f"{API}/cases", {"applied_before": "0.5"})
    body = assert_error(response, 400, "invalid_input")
    assert any("applied_before" in e["loc"] for e in body["errors"])
    assert (
        alice_client.get(
            f"{API}/cases", {"applied_before": "2025-06-01T00:00:00+08:00"}
        ).status_code
        == 200
    )


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["evidence", "buyer-evidence"])
def test_r4_1_multipart_without_a_boundary_is_a_400_not_a_500(alice_client, shop_a, path):
    case = pending(shop_a)
    before = db_state()
    response = alice_client.post(
        f"{API}/cases/{case.pk}/{path}", b"--x\r\n", content_type="multipart/form-data"
    )
    assert_error(response, 400, "invalid_input")
    assert db_state() == before


@pytest.mark.django_db
def test_r6_2_a_refused_field_is_named_in_chinese_and_english_without_pydantic_text(
    alice_client, shop_a
):
    response = alice_client.get(f"{API}/cases", {"limit": "many"})
    body = assert_error(response, 400, "invalid_input")
    assert body["field"] == "limit"
    assert body["errors"] == [
        {
            "loc": ["query", "limit"],
            "field": "limit",
            "type": "int_parsing",
            "message_zh": "“limit”须为整数。",
            "message_en": "“limit” must be a whole number.",
        }
    ]
    assert (body["message_zh"], body["message_en"]) == (
        "“limit”须为整数。",
        "“limit” must be a whole number.",
    )
    text = response.content.decode()
    assert "Input should" not in text and "pydantic" not in text and "http" not in text


@pytest.mark.django_db
def test_r6_2_a_too_long_body_field_says_its_limit(alice_client, shop_a):
    case = pending(shop_a)
    response = post_json(
        alice_client, f"/cases/{case.pk}/reject", {"reason_code": "x", "note": "x" * 50000}
    )
    body = assert_error(response, 400, "invalid_input")
    (error,) = [e for e in body["errors"] if e["field"] == "note"]
    assert error["loc"] == ["body", "payload", "note"]
    assert "most" in error["message_en"] and "个字符" in error["message_zh"]


def test_r6_2_every_operation_declares_the_errors_it_can_answer():
    from aftersales.api.api import api

    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            for status in ("400", "401", "403", "404", "409"):
                declared = operation["responses"].get(status)
                assert declared, f"{method.upper()} {path} does not declare {status}"
                ref = declared["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/ErrorOut"
    assert "errors" in schema["components"]["schemas"]["ErrorOut"]["properties"]
