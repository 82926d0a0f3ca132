"""Guizhou's prefectures (地级行政区): their codes, and the prefecture a placement's city is in."""

from __future__ import annotations

# Code (GB/T 2260, as in the vendored map's feature ids) -> (name, other names and the
# county-level cities inside it, which is what city_of() finds in many addresses).
PREFECTURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "520100": ("贵阳市", ("贵阳", "清镇市")),
    "520200": ("六盘水市", ("六盘水", "盘州市")),
    "520300": ("遵义市", ("遵义", "赤水市", "仁怀市")),
    "520400": ("安顺市", ("安顺",)),
    "520500": ("毕节市", ("毕节", "毕节地区", "黔西市")),
    "520600": ("铜仁市", ("铜仁", "铜仁地区")),
    "522300": ("黔西南布依族苗族自治州", ("黔西南州", "兴义市", "兴仁市")),
    "522600": ("黔东南苗族侗族自治州", ("黔东南州", "凯里市")),
    "522700": ("黔南布依族苗族自治州", ("黔南州", "都匀市", "福泉市")),
}
SHORT_NAMES = {
    "522300": "黔西南州",
    "522600": "黔东南州",
    "522700": "黔南州",
}
OUTSIDE = "省外或未填"

_BY_NAME = {
    alias: code
    for code, (name, aliases) in PREFECTURES.items()
    for alias in (name, *aliases, SHORT_NAMES.get(code, name))
}


def prefecture_of(city: str) -> str | None:
    """The prefecture code of a city or prefecture name, or None outside Guizhou or unknown."""
    city = (city or "").strip()
    if not city:
        return None
    return _BY_NAME.get(city) or _BY_NAME.get(city.removesuffix("市"))


def short_name(code: str) -> str:
    """A prefecture's name short enough for a map label (黔东南州, not the full 自治州 name)."""
    return SHORT_NAMES.get(code) or PREFECTURES[code][0]
