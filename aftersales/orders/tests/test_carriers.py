"""Carriers are data with the platform's codes, shown by their names (issue 14, item 11)."""

from __future__ import annotations

import pytest
from django.utils import translation

from aftersales.orders.carriers import CARRIERS, carrier_label, carrier_name


def test_the_codes_the_simulated_platform_ships_with_are_all_known():
    traffic = pytest.importorskip("douyin_sim.traffic")
    assert set(traffic.COMPANIES) <= set(CARRIERS)
    assert "zhongtong" in CARRIERS  # the simulator's default parcel


def test_every_carrier_shows_its_chinese_name_in_chinese_and_an_english_one_in_english():
    with translation.override("zh-hans"):
        assert {c.code: str(c.label) for c in CARRIERS.values()} == {
            c.code: c.name for c in CARRIERS.values()
        }
        assert carrier_label("yunda") == "韵达快递"
    with translation.override("en"):
        assert carrier_label("yunda") == "Yunda Express"


def test_a_stored_name_or_an_unknown_code_still_shows_something_readable():
    with translation.override("zh-hans"):
        assert carrier_label("中通快递") == "中通快递"  # parcels recorded by name
        assert carrier_label("SHUNFENG") == "顺丰速运"
        assert carrier_label("kuayue") == "kuayue"  # not listed: as it came
        assert carrier_label("") == ""


def test_the_buyer_always_reads_the_chinese_name():
    with translation.override("en"):
        assert carrier_name("jtexpress") == "极兔速递"
        assert carrier_name("unknown-co") == "unknown-co"
