"""Issue 14 item 4: no link in the product leads to a debug page or a bare status page.

- Every link in the top bar and the team pages' bar, for each role, opens (200 or a
  redirect to a page that opens): the bars show only what the role may open (R9: shop
  admins and auditors take no cases, so they have no duty switch; only supervisors and
  shop admins open the team overview).
- Another shop's case is a 404 with the product's own page, also with DEBUG on (the demo
  runs with it); 400, 403, 404, 500 and the CSRF failure are the product's pages too.
- The reassign form answers an unknown case number with an error on the form, not a 404.
- The admin's policy versions: a past effective date is an error on the form, not a 500;
  the saved version is announced by its shop and number.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.messages import get_messages
from django.test import Client, RequestFactory, override_settings
from django.urls import get_resolver
from django.utils import timezone

from aftersales import testing
from aftersales.policy.models import PolicyVersion

pytestmark = pytest.mark.django_db

ROLES = ["agent", "supervisor", "admin", "auditor"]
PRODUCT_PAGE = 'class="topbar"'  # every page of the product has its top bar
# Django's pages when no template of ours answers.
BARE = re.compile(r"<h1>(Bad Request \(400\)|403 Forbidden|Not Found|Server Error \(500\))</h1>")
DEBUG_MARKERS = ("technical_404", "Using the URLconf defined in", "Traceback", "Page not found at")


class NavLinks(HTMLParser):
    """The hrefs of the links inside the page's <nav> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "nav":
            self.depth += 1
        elif tag == "a" and self.depth:
            href = dict(attrs).get("href") or ""
            if href.startswith("/"):
                self.links.append(href)

    def handle_endtag(self, tag):
        if tag == "nav" and self.depth:
            self.depth -= 1


def nav_links(html: str) -> list[str]:
    parser = NavLinks()
    parser.feed(html)
    return parser.links


def assert_product_page(response, status=200):
    html = response.content.decode()
    assert response.status_code == status, (response.status_code, html[:300])
    assert PRODUCT_PAGE in html, html[:300]
    assert not BARE.search(html), html[:300]
    assert not any(marker in html for marker in DEBUG_MARKERS), html[:300]
    return html


def walk_nav(client: Client) -> dict[str, int]:
    """Open the queue, then every link in a nav bar of every page reached (breadth first)."""
    seen: dict[str, int] = {}
    todo = ["/"]
    while todo:
        url = todo.pop(0)
        if url in seen or url.startswith("/admin/"):  # the admin is the operator's own tool
            continue
        response = client.get(url, follow=True)
        seen[url] = response.status_code
        html = assert_product_page(response)
        todo.extend(link for link in nav_links(html) if link not in seen)
    return seen


@pytest.mark.parametrize("role", ROLES)
def test_every_nav_link_of_every_role_opens_a_product_page(client, personas, role):
    client.cookies["django_language"] = "en"
    client.force_login(personas[role])
    opened = walk_nav(client)
    assert set(opened.values()) == {200}
    assert "/" in opened and "/reminders/" in opened


def test_the_bars_show_what_each_role_may_open(client, personas):
    """Agents see their duty switch, not the overview; supervisors both; admins the overview,
    staff and keys but no duty switch; auditors neither."""
    expected = {
        "agent": ({"/team/duty/"}, {"/team/"}),
        "supervisor": ({"/team/", "/team/duty/"}, set()),
        "admin": ({"/team/", "/team/staff/", "/team/api-keys/"}, {"/team/duty/"}),
        "auditor": (set(), {"/team/", "/team/duty/"}),
    }
    for role, (shown, hidden) in expected.items():
        client.force_login(personas[role])
        reached = {link.split("?")[0] for link in walk_nav(client)}
        assert shown <= reached, (role, reached)
        assert not hidden & reached, (role, reached)


@pytest.fixture
def case_of_shop_a(shop_a):
    return testing.make_case(testing.make_order(shop_a), reason="wrong_size")


@pytest.mark.parametrize("debug", [True, False])
def test_another_shops_case_is_the_products_404_page(client, carol, case_of_shop_a, debug):
    client.cookies["django_language"] = "en"
    client.force_login(carol)
    with override_settings(DEBUG=debug):
        response = client.get(f"/cases/{case_of_shop_a.pk}/")
    html = assert_product_page(response, status=404)
    assert "Not found" in html
    assert 'href="/"' in html  # the way back
    assert case_of_shop_a.order.platform_order_id not in html


def test_the_404_page_is_chinese_by_default(client, carol, case_of_shop_a):
    client.force_login(carol)
    response = client.get(f"/cases/{case_of_shop_a.pk}/")
    html = assert_product_page(response, status=404)
    assert "找不到" in html


@override_settings(DEBUG=False)
def test_an_unknown_address_is_the_products_404_page(client, alice):
    client.force_login(alice)
    assert_product_page(client.get("/no-such-page/"), status=404)


@override_settings(DEBUG=False)
def test_a_role_without_the_right_gets_the_products_403_page(client, personas):
    client.cookies["django_language"] = "en"
    client.force_login(personas["agent"])
    html = assert_product_page(client.get("/team/staff/"), status=403)
    assert "cannot open" in html


@override_settings(DEBUG=False)
def test_the_400_and_500_handlers_are_the_products_pages(alice):
    resolver = get_resolver()
    request = RequestFactory().get("/")
    request.user = alice
    bad = resolver.resolve_error_handler(400)(request, exception=None)
    assert bad.status_code == 400 and PRODUCT_PAGE in bad.content.decode()
    crash = resolver.resolve_error_handler(500)(request)
    html = crash.content.decode()
    assert crash.status_code == 500 and "topbar" in html and not BARE.search(html)


def test_a_form_without_its_csrf_token_gets_the_products_403_page(alice):
    client = Client(enforce_csrf_checks=True)
    client.cookies["django_language"] = "en"
    client.force_login(alice)
    html = assert_product_page(client.post("/logout/"), status=403)
    assert "reload" in html.lower()


# --- The reassign form ---------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["999999", "abc", ""])
def test_reassign_with_an_unknown_case_number_is_a_form_error(client, personas, shop_a, number):
    client.cookies["django_language"] = "en"
    client.force_login(personas["supervisor"])
    response = client.post(
        "/team/reassign/",
        {
            "case_id": number,
            "assignee_id": personas["agent"].pk,
            "next": f"/team/?shop={shop_a.pk}",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/team/?shop={shop_a.pk}"
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("case" in t.lower() for t in texts), texts


def test_reassign_of_another_shops_case_is_the_same_form_error(client, bert, case_of_shop_a):
    client.cookies["django_language"] = "en"
    client.force_login(bert)
    response = client.post(
        "/team/reassign/", {"case_id": case_of_shop_a.pk, "assignee_id": bert.pk}
    )
    assert response.status_code == 302
    case_of_shop_a.refresh_from_db()
    assert case_of_shop_a.assignee_id is None


@pytest.fixture
def bert(shop_b):
    from aftersales.shops.choices import Role

    return testing.make_user("bert", shop_b, Role.SUPERVISOR)


# --- The admin -----------------------------------------------------------------------------------


@pytest.fixture
def operator(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("root", "root@example.com", "pw-root")


def test_a_policy_version_in_the_past_is_an_error_on_the_form(client, operator, shop_a):
    client.cookies["django_language"] = "en"
    client.force_login(operator)
    past = timezone.localtime() - timedelta(days=1)
    response = client.post(
        "/admin/policy/policyversion/add/",
        {
            "shop": shop_a.pk,
            "effective_from_0": past.strftime("%Y-%m-%d"),
            "effective_from_1": past.strftime("%H:%M:%S"),
            "document": "[triage]\nauto_approve_limit_fen = 1000\n",
            "note": "",
        },
    )
    assert response.status_code == 200
    assert "cannot take effect in the past" in response.content.decode()
    assert not PolicyVersion.objects.exists()


def test_a_saved_policy_version_is_announced_by_its_shop_and_number(client, operator, shop_a):
    client.cookies["django_language"] = "en"
    client.force_login(operator)
    soon = timezone.localtime() + timedelta(hours=1)
    response = client.post(
        "/admin/policy/policyversion/add/",
        {
            "shop": shop_a.pk,
            "effective_from_0": soon.strftime("%Y-%m-%d"),
            "effective_from_1": soon.strftime("%H:%M:%S"),
            "document": "[triage]\nauto_approve_limit_fen = 1000\n",
            "note": "",
        },
        follow=True,
    )
    assert response.status_code == 200
    texts = [str(m) for m in response.context["messages"]]
    assert texts and "None" not in texts[0] and "shop" not in texts[0].split("“")[1], texts
    assert f"{shop_a.name}, version 1" in texts[0]


def test_every_admin_page_opens(client, operator, shop_a, alice, case_of_shop_a):
    """Every list and add page the admin's index links to answers 200 (no 500 behind a link)."""
    client.force_login(operator)
    index = client.get("/admin/")
    links = sorted(
        set(re.findall(r'href="(/admin/[\w-]+/[\w-]+/(?:add/)?)"', index.content.decode()))
    )
    assert len(links) > 20
    for link in links:
        assert client.get(link).status_code == 200, link
