"""Search by the buyer (issue 14): nickname, its beginning, phone or the phone's last four
digits find the buyer's cases, in the queue and in the API, across every status; only in the
searcher's shops; and the phone is never shown in clear (R6.5).
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftersales import testing
from aftersales.cases import services
from aftersales.cases.fetch import search_cases
from aftersales.cases.models import Case
from aftersales.orders.models import Buyer

pytestmark = pytest.mark.django_db

SYSTEM = testing.SYSTEM


def ids(html: str) -> list[int]:
    return sorted(int(x) for x in re.findall(r'data-case="(\d+)"', html))


def buyer(shop, nickname: str, phone: str) -> Buyer:
    return Buyer.objects.create(
        shop=shop, platform_buyer_id=testing.next_id("buyer"), nickname=nickname, phone=phone
    )


@pytest.fixture
def cases(shop_a, shop_b):
    mei = buyer(shop_a, "小美爱购物", "13900001234")
    other = buyer(shop_a, "阿强", "13600005678")
    stranger = buyer(shop_b, "小美爱购物", "13900001234")  # the same person in shop B
    open_case = testing.make_case(testing.make_order(shop_a, buyer=mei), reason="wrong_size")
    done = testing.make_case(testing.make_order(shop_a, buyer=mei), reason="wrong_size")
    services.withdraw_case(case=done, by=SYSTEM)  # closed: a search finds it all the same
    others = testing.make_case(testing.make_order(shop_a, buyer=other), reason="wrong_size")
    foreign = testing.make_case(testing.make_order(shop_b, buyer=stranger), reason="wrong_size")
    return {"open": open_case, "done": done, "other": others, "foreign": foreign}


@pytest.mark.parametrize(
    "term", ["小美爱购物", "小美", "13900001234", "139 0000 1234", "1234"], ids=str
)
def test_the_queue_finds_a_buyers_cases_in_every_status(client, alice, cases, term):
    client.force_login(alice)
    html = client.get("/", {"q": term}).content.decode()
    found = ids(html)
    assert cases["open"].pk in found and cases["done"].pk in found
    assert cases["other"].pk not in found
    assert cases["foreign"].pk not in found  # shop B's buyer of the same name and phone


def test_the_results_show_the_phone_masked_never_in_clear(client, alice, cases):
    client.force_login(alice)
    html = client.get("/", {"q": "1234"}).content.decode()
    rows = html[html.index('id="queue-rows"') : html.index("</tbody>")]
    assert "139****1234" in rows
    assert "13900001234" not in rows


def test_without_a_search_the_queue_shows_open_cases_only(client, alice, cases):
    client.force_login(alice)
    found = ids(client.get("/").content.decode())
    assert cases["done"].pk not in found and cases["open"].pk in found
    # A status chosen with the search is kept.
    found = ids(client.get("/", {"q": "小美", "status": "closed"}).content.decode())
    assert found == [cases["done"].pk]


def test_the_api_list_finds_a_buyer_by_nickname_and_phone_tail(client, alice, cases):
    client.force_login(alice)
    for term in ("小美", "1234", "13900001234"):
        body = client.get("/api/v1/cases", {"q": term}).json()
        found = sorted(c["id"] for c in body["results"])
        assert found == sorted([cases["open"].pk, cases["done"].pk]), term
        assert {c["buyer"]["phone"] for c in body["results"]} == {"139****1234"}


def uses_index(sql: str, index: str) -> bool:
    """Whether the database can answer the query through the index. SQLite is told to use
    it (`INDEXED BY` fails when the index cannot serve the query: a tiny table would
    otherwise be read through another); PostgreSQL is kept off the table scan."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql)
        else:
            forced = sql.replace('FROM "orders_buyer"', f'FROM "orders_buyer" INDEXED BY {index}')
            try:
                cursor.execute("EXPLAIN QUERY PLAN " + forced)
            except Exception:  # "no query solution": the index cannot serve it
                return False
        return index in " ".join(str(row) for row in cursor.fetchall())


@pytest.mark.parametrize(
    ("term", "index"),
    [
        ("1234", "buyer_shop_phone_tail"),
        ("13900001234", "buyer_shop_phone"),
        ("小美", "buyer_shop_nickname"),
    ],
)
def test_each_buyer_lookup_uses_its_index(shop_a, alice, cases, term, index):
    """The buyer lookups are separate queries, each served by its own index, on SQLite and
    on PostgreSQL (docs/benchmarks.md has the plans on a large shop)."""
    if connection.vendor == "postgresql":
        # Enough buyers for the planner to tell the indexes apart, as in a shop.
        Buyer.objects.bulk_create(
            Buyer(
                shop=shop_a, platform_buyer_id=f"bulk{i}", nickname=f"买家{i}", phone=f"137{i:08d}"
            )
            for i in range(3000)
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE orders_buyer")
    actor = testing.actor(alice)
    with CaptureQueriesContext(connection) as queries:
        list(search_cases(Case.objects.all(), actor, term))
    assert len(queries.captured_queries) <= 6  # order, 3 buyer lookups, their orders, cases
    # Each query as it was run, its values written in (Django's record of it).
    buyer_queries = [
        q["sql"] for q in queries.captured_queries if 'FROM "orders_buyer"' in q["sql"]
    ]
    assert any(uses_index(sql, index) for sql in buyer_queries), buyer_queries
