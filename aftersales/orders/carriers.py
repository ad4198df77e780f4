"""The carriers (快递公司) a parcel can go with, by the platform's logistics company code.

The codes are those Douyin's logistics API uses for `company_code` / `logistics_company_code`
(the simulator's parcels use the same: shunfeng, yuantong, zhongtong, yunda, jtexpress). The
real platform lists them per shop (`order/logisticsCompanyList`); these are the common ones, as
data: a carrier is added here, not in a form. Shipment forms offer only these codes and the
API refuses others; a code that arrives from the platform and is not listed is kept as it came
and shown as it is.

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


CARRIERS: dict[str, Carrier] = {
    c.code: c
    for c in [
        Carrier("shunfeng", "顺丰速运", _("SF Express")),
        Carrier("jd", "京东快递", _("JD Express")),
        Carrier("zhongtong", "中通快递", _("ZTO Express")),
        Carrier("yuantong", "圆通速递", _("YTO Express")),
        Carrier("yunda", "韵达快递", _("Yunda Express")),
        Carrier("shentong", "申通快递", _("STO Express")),
        Carrier("jtexpress", "极兔速递", _("J&T Express")),
        Carrier("ems", "EMS", _("EMS")),
        Carrier("youzhengguonei", "邮政快递包裹", _("China Post parcel")),
        Carrier("debangwuliu", "德邦快递", _("Deppon Express")),
        Carrier("huitongkuaidi", "百世快递", _("Best Express")),
        Carrier("zhaijisong", "宅急送", _("ZJS Express")),
        Carrier("danniao", "丹鸟", _("Danniao")),
        Carrier("fengwang", "丰网速运", _("Fengwang Express")),
        Carrier("youshuwuliu", "优速快递", _("UC Express")),
        Carrier("annengwuliu", "安能物流", _("ANE Logistics")),
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
