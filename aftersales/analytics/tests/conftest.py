"""The analytics tests' fixed shop: the week of 1–7 May 2026 described in test_overview.py."""

from __future__ import annotations

from datetime import date

import pytest

from aftersales import testing
from aftersales.analytics.periods import Period
from aftersales.cases import services as case_services

from .support import at, open_case, order, product, refund_return, sh

PERIOD = Period(date(2026, 5, 1), date(2026, 5, 7))
NOW = sh(2026, 5, 9, 12)


@pytest.fixture
def shop_world(shop_a, shop_b, alice):
    dress = product(shop_a, "连衣裙", "apparel")
    phones = product(shop_a, "蓝牙耳机", "electronics")
    mug = product(shop_a, "马克杯", "home")
    o0 = order(shop_a, dress, sh(2026, 4, 30, 23, 50), carrier="顺丰")
    o1 = order(shop_a, dress, sh(2026, 5, 1, 10), carrier="顺丰")
    order(shop_a, dress, sh(2026, 5, 2, 10), carrier="中通")
    o3 = order(shop_a, phones, sh(2026, 5, 2, 11), paid_fen=20000, carrier="中通")
    o4 = order(shop_a, mug, sh(2026, 5, 7, 23, 30), paid_fen=5000)
    order(shop_a, dress, sh(2026, 5, 8, 0, 10), carrier="顺丰")
    a = testing.actor(alice)
    c1 = open_case(o1, sh(2026, 5, 3, 9), reason="wrong_size")
    with at(sh(2026, 5, 3, 9)):
        case_services.assign_case(case=c1, assignee=alice, by=testing.SYSTEM)
    refund_return(c1, approved=sh(2026, 5, 3, 10), refunded=sh(2026, 5, 5, 11), by=a)
    c2 = open_case(o3, sh(2026, 5, 4, 10), reason="quality_issue")
    with at(sh(2026, 5, 4, 13)):
        case_services.reject_case(case=c2, reason_code="no_evidence", note="无凭证", by=a)
    open_case(o4, sh(2026, 5, 7, 23, 50), reason="damaged")

    # Another shop's busy week: none of it may appear in shop A's figures.
    other = product(shop_b, "手机壳", "electronics")
    for day in range(1, 8):
        placed = order(shop_b, other, sh(2026, 5, day, 12), paid_fen=999)
        open_case(placed, sh(2026, 5, day, 13), reason="not_as_described")
    return {"dress": dress, "phones": phones, "mug": mug, "o0": o0}
