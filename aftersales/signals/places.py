"""The city of a Chinese address or of a carrier's scan place, to compare the ends of a
parcel's route: "浙江省杭州市余杭区仓前街道…" → "杭州", "【杭州市】余杭仓前网点" → "杭州",
"上海市浦东新区…" → "上海". Blank when the text names no city (then nothing is compared)."""

from __future__ import annotations

import re

# Municipalities and special regions are their own city.
CITY_LEVEL = ("北京", "上海", "天津", "重庆", "香港", "澳门")
_NOISE = re.compile(r"[\s【】\[\]()（）:：,，]")
_PROVINCE = re.compile(r"^(.{2,3}?省|.{2,8}?自治区)")
_CITY = re.compile(r"^(.{2,8}?)(市|自治州|地区|盟)")


def city_of(text: str) -> str:
    t = _NOISE.sub("", text or "")
    if not t:
        return ""
    for city in CITY_LEVEL:
        if t.startswith(city):
            return city
    t = _PROVINCE.sub("", t, count=1)
    for city in CITY_LEVEL:
        if t.startswith(city):
            return city
    found = _CITY.match(t)
    if found:
        return found.group(1)
    # A bare city name ("杭州") as some carriers write the place; anything longer without a
    # city suffix (an outlet, a district) is not a city we can compare.
    return t if 2 <= len(t) <= 4 and not t.endswith(("区", "县", "镇", "点", "站")) else ""
