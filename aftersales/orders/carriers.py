"""The carriers (快递公司) a parcel can go with, by the platform's logistics company code.

The codes are those Douyin's logistics API uses for `company_code` / `logistics_company_code`
(the simulator's parcels use the same: shunfeng, yuantong, zhongtong, yunda, jtexpress). The
real platform lists them per shop (`order/logisticsCompanyList`); these are the common ones, as
data: a carrier is added here, not in a form. Shipment forms offer only these codes and the
API refuses others; a code that arrives from the platform and is not listed is kept as it came
and shown as it is.

Each carrier carries its **return-shipping rate** (上门取件退货, the list price a buyer or a
shop pays for a return parcel picked up at the door): the first kilogram and each kilogram
after it, in fen. These are indicative list rates for parcels within mainland China, kept
here as data (a shop's contract rates differ: change them here); the costs report uses them
to estimate what the period's return parcels cost when no cost was recorded on the case.

Every screen shows a carrier by its name — never "yunda" —, in the UI's language (the Chinese
catalogue gives the Chinese name); what the buyer reads is always the Chinese name.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Carrier:
    code: str  # the platform's logistics company code
    name: str  # the Chinese name, as the buyer reads it
    label: Promise  # the name on screen, in the UI's language
    return_first_kg_fen: int = 1200  # return pickup: the first kilogram
    return_extra_kg_fen: int = 200  # and each kilogram (or part of one) after it

    def return_shipping_fen(self, weight_g: int = 1000) -> int:
        """The list price of a return parcel of this weight (a part-kilogram counts whole)."""
        kilograms = max(1, -(-max(weight_g, 1) // 1000))
        return self.return_first_kg_fen + (kilograms - 1) * self.return_extra_kg_fen


CARRIERS: dict[str, Carrier] = {
    c.code: c
    for c in [
        Carrier("shunfeng", "顺丰速运", _("SF Express"), 1800, 500),
        Carrier("jd", "京东快递", _("JD Express"), 1600, 500),
        Carrier("zhongtong", "中通快递", _("ZTO Express"), 1000, 200),
        Carrier("yuantong", "圆通速递", _("YTO Express"), 1000, 200),
        Carrier("yunda", "韵达快递", _("Yunda Express"), 1000, 200),
        Carrier("shentong", "申通快递", _("STO Express"), 1000, 200),
        Carrier("jtexpress", "极兔速递", _("J&T Express"), 900, 200),
        Carrier("ems", "EMS", _("EMS"), 1500, 400),
        Carrier("youzhengguonei", "邮政快递包裹", _("China Post parcel"), 1200, 300),
        Carrier("debangwuliu", "德邦快递", _("Deppon Express"), 1500, 300),
        Carrier("huitongkuaidi", "百世快递", _("Best Express"), 1000, 200),
        Carrier("zhaijisong", "宅急送", _("ZJS Express"), 1500, 400),
        Carrier("danniao", "丹鸟", _("Danniao"), 1000, 200),
        Carrier("fengwang", "丰网速运", _("Fengwang Express"), 1200, 300),
        Carrier("youshuwuliu", "优速快递", _("UC Express"), 1000, 200),
        Carrier("annengwuliu", "安能物流", _("ANE Logistics"), 1200, 200),
    ]
}

CARRIER_CHOICES = [(c.code, c.label) for c in CARRIERS.values()]

# Parcels recorded before the list (the demo's history among them) carry the Chinese name.
_BY_NAME = {c.name: c for c in CARRIERS.values()}


def carrier_for(value: str) -> Carrier | None:
    """The carrier a stored value names: its code, or its Chinese name."""
    value = (value or "").strip()
    return CARRIERS.get(value.lower()) or _BY_NAME.get(value)


def carrier_label(value: str) -> str:
    """The carrier's name on screen, in the UI's language; an unknown value as it is."""
    carrier = carrier_for(value)
    return str(carrier.label) if carrier is not None else (value or "")


def carrier_name(value: str) -> str:
    """The carrier's Chinese name, for what the buyer reads; an unknown value as it is."""
    carrier = carrier_for(value)
    return carrier.name if carrier is not None else (value or "")
