"""Figures on the case page, the queue and the team pages that must not mislead (issue 14).

- A return case waiting for review is not "no return" (无需退货): its return is pending.
- 可退金额 is what the case may still refund, per line, after what was refunded: 0 once the
  case's refund is decided, and the rest of an item's units what is left of it.
- Unit prices beside unit prices, amounts for the case's units beside amounts for them.
- An exchange has no refund amount: the queue says "Exchange", not 0.00.
- "All open" counts open cases only: with every status shown the tab says so.
- A person is named by their display name, set on the staff page, everywhere.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.contrib.auth import get_user_model

from aftersales import testing
from aftersales.cases import services
from aftersales.cases.choices import CaseStatus as S
from aftersales.cases.models import Case
from aftersales.cases.tests.steps import path_to
from aftersales.shops.choices import Role

pytestmark = pytest.mark.django_db

SYSTEM = testing.SYSTEM


@pytest.fixture(autouse=True)
def english(client):
    client.cookies["django_language"] = "en"


def figure(html: str, name: str) -> list[str]:
    """The text of every element marked `data-figure="name"`, tags stripped."""
    found = re.findall(rf'data-figure="{name}"[^>]*>(.*?)</(?:dd|td|span|p)>', html, re.S)
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", f)).split()) for f in found]


def walk(case: Case, status: str) -> Case:
    for step in path_to(case.type, status):
        step(Case.objects.get(pk=case.pk), SYSTEM)
    return Case.objects.get(pk=case.pk)


def page(client, case: Case) -> str:
    return client.get(f"/cases/{case.pk}/").content.decode()


@pytest.mark.parametrize(
    ("case_type", "status", "words"),
    [
        ("return_refund", S.PENDING_REVIEW, "Buyer sends it back once approved"),
        ("exchange", S.AWAITING_EVIDENCE, "Buyer sends it back once approved"),
        ("return_refund", S.AWAITING_RETURN, "Awaiting buyer's shipment"),
        ("return_refund", S.REJECTED, "Not returned (rejected)"),
        ("refund_shipped", S.PENDING_REVIEW, "No return"),
    ],
)
def test_the_return_is_shown_by_type_and_status(client, alice, shop_a, case_type, status, words):
    client.force_login(alice)
    order_status = "shipped" if case_type == "refund_shipped" else "delivered"
    case = testing.make_case(
        testing.make_order(shop_a, status=order_status), type=case_type, reason="wrong_size"
    )
    case = walk(case, status)
    assert figure(page(client, case), "return") == [words]


def test_r3_2_after_refunding_one_of_three_units_what_is_left_is_refundable(client, alice, shop_a):
    client.force_login(alice)
    order = testing.make_order(shop_a, lines=[testing.Line(quantity=3, paid_amount_fen=10000)])
    item = order.items.get()
    first = walk(testing.make_case(order, quantities={item.pk: 1}), S.AWAITING_REFUND)
    services.refund_case(case=first, by=SYSTEM)  # 33.33, the first unit's share
    rest = walk(testing.make_case(order, quantities={item.pk: 2}), S.PENDING_REVIEW)

    refunded = page(client, first)
    assert figure(refunded, "refundable") == ["0.00 yuan the case's refund is decided"]
    assert figure(refunded, "line-refundable") == ["0.00"]
    # The other two units: what is left of the line, the fen the first floor left included.
    assert figure(page(client, rest), "line-refundable") == ["66.67"]


def test_unit_prices_stand_beside_unit_prices_and_line_amounts_beside_line_amounts(
    client, alice, shop_a
):
    client.force_login(alice)
    order = testing.make_order(
        shop_a, lines=[testing.Line(quantity=2, list_price_fen=15900, paid_amount_fen=25800)]
    )
    item = order.items.get()
    case = testing.make_case(order, quantities={item.pk: 1})
    html = page(client, case)
    row = html[html.index(f'data-item="{item.pk}"') :]
    row = row[: row.index("</tr>")]
    cells = [
        " ".join(re.sub(r"<[^>]+>", " ", c).split())
        for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]
    # quantity, list price per unit, paid per unit, paid for these units, refunded, left
    assert cells[2:] == ["1 / 2", "159.00", "129.00", "129.00", "0.00", "129.00"]
    assert "List price per unit" in html and "Paid for these units" in html


def test_an_exchange_has_no_refund_amount_in_the_queue_nor_on_its_page(client, alice, shop_a):
    client.force_login(alice)
    exchange = testing.make_case(testing.make_order(shop_a), type="exchange", reason="wrong_size")
    refund = testing.make_case(testing.make_order(shop_a), reason="wrong_size")

    queue = client.get("/").content.decode()
    row = queue[queue.index(f'data-case="{exchange.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "0.00" not in row and ">Exchange</span>" in row
    other = queue[queue.index(f'data-case="{refund.pk}"') :]
    assert "88.00" in other[: other.index("</tr>")]
    assert figure(page(client, exchange), "requested") == ["Exchange no refund amount"]


def test_the_first_tab_says_all_statuses_when_it_counts_closed_cases(client, alice, shop_a):
    client.force_login(alice)
    testing.make_case(testing.make_order(shop_a))
    services.withdraw_case(case=testing.make_case(testing.make_order(shop_a)), by=SYSTEM)

    def first_tab(query: str) -> tuple[str, str]:
        html = client.get("/" + query).content.decode()
        match = re.search(
            r'bucket-all[^>]*>\s*<span class="bucket-label">([^<]*)</span>\s*'
            r'<span class="bucket-count" data-bucket="all">(\d+)<',
            html,
        )
        assert match, html[:500]
        return match.group(1), match.group(2)

    assert first_tab("") == ("All open", "1")
    assert first_tab("?status=all") == ("All statuses", "2")
    assert first_tab("?status=closed") == ("Closed", "1")


def test_a_person_is_named_by_their_display_name_everywhere(client, shop_a):
    adam = testing.make_user("adam", shop_a, Role.ADMIN)
    client.force_login(adam)
    response = client.post(
        "/team/staff/",
        {
            "shop": shop_a.pk,
            "form": "create",
            "create-username": "xiaomei01",
            "create-display_name": "小美",
            "create-password1": "a long enough password 1",
            "create-password2": "a long enough password 1",
            "create-role": Role.AGENT,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    xiaomei = get_user_model().objects.get(username="xiaomei01")
    assert xiaomei.first_name == "小美"
    case = testing.make_case(testing.make_order(shop_a))
    services.assign_case(case=case, assignee=xiaomei, by=SYSTEM)

    for path in (
        "/",
        f"/cases/{case.pk}/",
        f"/team/?shop={shop_a.pk}",
        f"/team/staff/?shop={shop_a.pk}",
    ):
        html = client.get(path).content.decode()
        assert "小美" in html, path
    dashboard = client.get(f"/team/?shop={shop_a.pk}").content.decode()
    assert ">xiaomei01<" not in dashboard  # the username is not what people are called

    renamed = client.post(
        f"/team/staff/{xiaomei.pk}/name/",
        {"shop": shop_a.pk, f"n{xiaomei.pk}-display_name": "美美"},
    )
    assert renamed.status_code == 302
    xiaomei.refresh_from_db()
    assert xiaomei.first_name == "美美"
    assert "美美" in client.get("/").content.decode()


def test_a_display_name_is_required_on_the_staff_form_and_limited(client, shop_a):
    adam = testing.make_user("adam", shop_a, Role.ADMIN)
    client.force_login(adam)
    data = {
        "shop": shop_a.pk,
        "form": "create",
        "create-username": "bo",
        "create-password1": "a long enough password 1",
        "create-password2": "a long enough password 1",
        "create-role": Role.AGENT,
    }
    assert client.post("/team/staff/", data).status_code == 400
    assert (
        client.post("/team/staff/", {**data, "create-display_name": "长" * 33}).status_code == 400
    )


def test_only_a_shop_admin_renames_and_only_their_shops_members(client, alice, carol, shop_a):
    adam = testing.make_user("adam", shop_a, Role.ADMIN)
    client.force_login(alice)
    response = client.post(
        f"/team/staff/{alice.pk}/name/", {"shop": shop_a.pk, f"n{alice.pk}-display_name": "x"}
    )
    assert response.status_code == 403
    client.force_login(adam)
    response = client.post(
        f"/team/staff/{carol.pk}/name/", {"shop": shop_a.pk, f"n{carol.pk}-display_name": "x"}
    )
    assert response.status_code == 404
    carol.refresh_from_db()
    assert carol.first_name == ""
