"""The admin's read-only page of reason codes (cases.reasons), linked from the admin index.

Proves: a superuser sees every buyer's reason and every reject reason with its meaning, who
is responsible and the evidence the default policy asks for; the index links to it; anyone
not staff (anonymous, or a shop's agent) is sent to the admin login and sees none of it.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from aftersales import testing
from aftersales.cases.reasons import REASONS, REJECT_REASONS

pytestmark = pytest.mark.django_db

URL = "/admin/douyin/douyinshoplink/reason-codes/"


def client_of(user=None, language: str = "en") -> Client:
    client = Client()
    client.cookies["django_language"] = language
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def operator():
    return get_user_model().objects.create_superuser("root", password="pw-not-used-1")


def test_the_url_is_the_admins():
    assert reverse("admin:douyin_reason_codes") == URL


def test_a_superuser_sees_every_reason_code(operator):
    response = client_of(operator).get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Reason codes" in html
    rows = {row["code"]: row for row in response.context["reasons"]}
    assert list(rows) == list(REASONS)
    assert [row["code"] for row in response.context["reject_reasons"]] == list(REJECT_REASONS)
    for code in [*REASONS, *REJECT_REASONS]:
        assert f"<code>{code}</code>" in html
    # Meaning, platform wording, Douyin code, responsible party and the policy's evidence.
    assert "Quality problem" in html and "质量问题" in html
    assert rows["quality_issue"]["douyin_codes"] == "4"
    assert str(rows["damaged"]["responsible"]) == "Carrier"
    assert [str(kind) for kind in rows["functional_fault"]["policy_evidence"]] == ["Video"]
    assert rows["no_reason"]["policy_evidence"] == []
    assert "买家未提供有效凭证" in html  # a reject reason's Douyin wording


def test_the_labels_follow_the_screen_language(operator):
    html = client_of(operator, language="zh-hans").get(URL).content.decode()
    assert '<html lang="zh-hans"' in html
    assert "<td>物流公司</td>" in html and "Carrier" not in html


def test_the_admin_index_links_to_it(operator):
    html = client_of(operator).get("/admin/").content.decode()
    assert f'href="{URL}"' in html
    assert "Reason codes" in html
    assert 'id="recent-actions-module"' in html  # Django's own index is still there


def test_anonymous_users_are_sent_to_the_login(client):
    response = client_of().get(URL)

    assert response.status_code == 302
    assert response.url == f"/admin/login/?next={URL}"


def test_shop_staff_without_admin_access_are_sent_to_the_login(shop_a):
    agent = testing.make_user("alice", shop_a)

    response = client_of(agent).get(URL)

    assert response.status_code == 302 and response.url.startswith("/admin/login/")
