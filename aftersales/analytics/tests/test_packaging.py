"""R11.1 damage in transit by carrier and packaging, and the carriers' return-shipping rates
as data, counted by hand.

May 2026, shop A: 顺丰 (shunfeng) took four bagged parcels, two of them arrived damaged, and
four boxed ones, none damaged; 中通 (zhongtong) two bagged, none damaged. One return parcel
went back with 中通.
"""

from __future__ import annotations

from datetime import date

from django.utils import translation

from aftersales import testing
from aftersales.analytics.costs import carrier_rates, damage_by_carrier
from aftersales.analytics.periods import Period
from aftersales.analytics.scope import scope_for
from aftersales.audit.models import AuditEvent
from aftersales.orders.carriers import CARRIERS
from aftersales.orders.choices import ShipmentKind
from aftersales.orders.models import Shipment

from .support import client_for, open_case, order, product, sh

MAY = Period(date(2026, 5, 1), date(2026, 5, 31))


def world(shop):
    vase = product(shop, "玻璃花瓶", "home")
    orders = []
    for day, carrier, packaging in [
        *[(d, "shunfeng", "bag") for d in (2, 3, 4, 5)],
        *[(d, "shunfeng", "box") for d in (2, 3, 4, 5)],
        *[(d, "zhongtong", "bag") for d in (6, 7)],
    ]:
        orders.append(order(shop, vase, sh(2026, 5, day, 10), carrier=carrier, packaging=packaging))
    open_case(orders[0], sh(2026, 5, 8, 9), reason="damaged")
    open_case(orders[1], sh(2026, 5, 8, 10), reason="damaged")
    Shipment.objects.create(
        shop=shop,
        order=orders[8],
        kind=ShipmentKind.RETURN,
        carrier="zhongtong",
        tracking_number="ZT1",
        created_at=sh(2026, 5, 10, 10),
    )


def test_r11_1_damage_by_carrier_and_packaging(shop_a, shop_b, alice):
    world(shop_a)
    world(shop_b)  # another shop's parcels never count for alice
    scope = scope_for(testing.actor(alice))
    rows = {
        (d.carrier, d.packaging): (d.orders, d.damaged, d.rate)
        for d in damage_by_carrier(scope, MAY, by_packaging=True)
    }
    assert rows == {
        ("shunfeng", "bag"): (4, 2, 0.5),
        ("shunfeng", "box"): (4, 0, 0.0),
        ("zhongtong", "bag"): (2, 0, 0.0),
    }
    by_carrier = {d.carrier: d.rate for d in damage_by_carrier(scope, MAY)}
    assert by_carrier == {"shunfeng": 0.25, "zhongtong": 0.0}
    top = damage_by_carrier(scope, MAY, by_packaging=True)[0]
    with translation.override("zh-hans"):
        assert (top.carrier_label, top.packaging_label) == ("顺丰速运", "快递袋")


def test_r11_1_carriers_return_rates_are_data(shop_a, alice):
    world(shop_a)
    sf = CARRIERS["shunfeng"]
    assert sf.return_shipping_fen(800) == sf.return_first_kg_fen
    assert sf.return_shipping_fen(2100) == sf.return_first_kg_fen + 2 * sf.return_extra_kg_fen
    rates = {r.code: r for r in carrier_rates(scope_for(testing.actor(alice)), MAY)}
    assert set(rates) == set(CARRIERS)
    assert rates["zhongtong"].returns == 1
    assert rates["zhongtong"].estimated_fen == CARRIERS["zhongtong"].return_first_kg_fen
    assert rates["shunfeng"].returns == 0


def test_r11_1_the_costs_page_shows_packaging_and_rates(shop_a, alice, carol):
    world(shop_a)
    params = {"period": "custom", "start": "2026-05-01", "end": "2026-05-31"}
    html = client_for(alice).get("/analytics/costs/", params, HTTP_ACCEPT_LANGUAGE="zh-hans")
    text = html.content.decode()
    assert html.status_code == 200
    assert "各快递公司及包装的运输破损率" in text and "快递袋" in text
    assert "快递公司及退货运费标准" in text and "顺丰速运" in text
    other = client_for(carol).get("/analytics/costs/", params).content.decode()
    assert "50.0%" not in other  # carol's shop has no parcels


def test_r11_1_the_case_page_records_how_the_parcel_was_packed(shop_a, shop_b, alice, carol):
    """The damage-by-packaging figure needs the outbound parcel's packaging: an agent records
    it from the case page (audited); another shop's agent gets a 404, a viewer a refusal."""
    vase = product(shop_a, "玻璃花瓶", "home")
    placed = order(shop_a, vase, sh(2026, 5, 2, 10), carrier="shunfeng")
    case = open_case(placed, sh(2026, 5, 8, 9), reason="damaged")
    parcel = Shipment.objects.get(order=placed, kind=ShipmentKind.OUTBOUND)
    assert parcel.packaging == ""
    url = f"/cases/{case.pk}/do/packaging/"

    page = client_for(alice).get(f"/cases/{case.pk}/")
    assert 'id="packaging-shipment"' in page.content.decode()
    assert (
        client_for(carol).post(url, {"shipment": parcel.pk, "packaging": "box"}).status_code == 404
    )
    viewer = testing.make_user("vic", shop_a, "viewer")
    client_for(viewer).post(url, {"shipment": parcel.pk, "packaging": "box"})
    parcel.refresh_from_db()
    assert parcel.packaging == ""

    response = client_for(alice).post(url, {"shipment": parcel.pk, "packaging": "bag"}, follow=True)
    assert response.status_code == 200
    parcel.refresh_from_db()
    assert parcel.packaging == "bag"
    event = AuditEvent.objects.filter(case=case, type="packaging_recorded").get()
    assert event.payload == {"shipment": parcel.pk, "packaging": "bag", "before": ""}
    scope = scope_for(testing.actor(alice))
    rows = damage_by_carrier(scope, MAY, by_packaging=True)
    assert [(d.carrier, d.packaging, d.orders, d.damaged) for d in rows] == [
        ("shunfeng", "bag", 1, 1)
    ]
