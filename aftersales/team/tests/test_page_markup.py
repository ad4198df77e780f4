"""The team pages' markup: every visible form control has a <label>, forms that change
something carry the CSRF token, there are no inline scripts, and the pages extend the
workbench layout."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from aftersales import testing
from aftersales.shops.services import create_api_key
from aftersales.team.services import set_on_duty

from .conftest import logged_in
from .support import new_case


class Controls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_targets: set[str] = set()
        self.inline_scripts = 0
        self.post_forms = 0
        self.csrf_inputs = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in {"input", "select", "textarea"} and a.get("type") not in {"hidden", "submit"}:
            self.controls.append(a)
        if tag == "label" and a.get("for"):
            self.label_targets.add(a["for"])
        if tag == "script" and not a.get("src"):
            self.inline_scripts += 1
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self.post_forms += 1
        if tag == "input" and a.get("name") == "csrfmiddlewaretoken":
            self.csrf_inputs += 1


@pytest.fixture
def pages(shop_a, alice, sam, ada):
    set_on_duty(user=alice, shop=shop_a, on_duty=True, by=testing.SYSTEM)
    new_case(shop_a)
    create_api_key(shop=shop_a, name="ERP", by=testing.SYSTEM)
    return {
        "dashboard": logged_in(sam).get("/team/?days=30"),
        "duty": logged_in(alice).get("/team/duty/"),
        "staff": logged_in(ada).get("/team/staff/"),
        "api_keys": logged_in(ada).get("/team/api-keys/"),
        "api_key_created": logged_in(ada).post(
            "/team/api-keys/", {"shop": shop_a.pk, "name": "BI", "role": "auditor"}
        ),
    }


@pytest.mark.parametrize("page", ["dashboard", "duty", "staff", "api_keys", "api_key_created"])
def test_r9_every_control_is_labelled_and_no_inline_script(pages, page):
    response = pages[page]
    assert response.status_code == 200
    parsed = Controls()
    parsed.feed(response.content.decode())

    unlabelled = [c for c in parsed.controls if c.get("id") not in parsed.label_targets]
    assert unlabelled == []
    assert parsed.inline_scripts == 0
    # every POST form carries the CSRF token (the language switch of the layout included)
    assert parsed.post_forms > 0 and parsed.csrf_inputs == parsed.post_forms
    assert [t.name for t in response.templates][:2] == [
        f"team/{'api_keys' if page.startswith('api_key') else page}.html",
        "workbench/base.html",
    ]


def test_the_team_pages_are_in_simplified_chinese_by_default_and_english_on_request(shop_a, sam):
    from django.test import Client

    client = Client()
    client.force_login(sam)
    chinese = client.get("/team/").content.decode()
    assert '<html lang="zh-hans">' in chinese
    assert "工作量" in chinese or "团队" in chinese
    client.cookies["django_language"] = "en"
    english = client.get("/team/").content.decode()
    assert '<html lang="en">' in english and "团队" not in english
