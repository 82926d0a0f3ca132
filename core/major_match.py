"""对口 (position matches the major): a small keyword table shared by majors and jobs."""

from __future__ import annotations

from functools import lru_cache

# Field -> words that signal it in a major name, a position or an industry.
FIELDS: dict[str, tuple[str, ...]] = {
    "auto": ("汽车", "汽修", "车辆", "机动车", "新能源车", "4S", "轨道", "交通"),
    "building": (
        "建筑",
        "土木",
        "施工",
        "工程造价",
        "造价",
        "工程测量",
        "测量",
        "监理",
        "装饰",
        "道路",
        "桥梁",
        "建设",
    ),
    "electronics": ("电子", "电气", "电工", "电路", "通信", "物联网", "芯片", "SMT", "光伏"),
    "it": (
        "计算机",
        "软件",
        "网络",
        "信息",
        "大数据",
        "云计算",
        "人工智能",
        "程序",
        "前端",
        "运维",
        "数据",
        "IT",
    ),
    "logistics": ("物流", "仓储", "快递", "供应链", "配送", "货运", "港口"),
    "catering": ("餐饮", "烹饪", "厨", "酒店", "旅游", "导游", "西点", "食品"),
    "manufacturing": ("机械", "制造", "数控", "模具", "焊接", "机电", "工业", "自动化", "装配"),
    "finance": ("会计", "财务", "出纳", "审计", "金融", "税务", "银行"),
    "commerce": ("电子商务", "电商", "营销", "销售", "市场", "商务", "客服", "直播", "零售"),
    "health": ("护理", "医", "药", "康复", "健康", "养老"),
    "light": ("轻工", "纺织", "服装", "包装", "印刷", "酿酒", "茶"),
}

# Longest first, so "电子商务" is read as commerce and not also as electronics.
_KEYWORDS = sorted(
    ((word, field) for field, words in FIELDS.items() for word in words),
    key=lambda item: -len(item[0]),
)


@lru_cache(maxsize=4096)  # rosters repeat the same majors and positions thousands of times
def fields_of(text: str) -> frozenset[str]:
    """The fields a piece of text talks about."""
    found: set[str] = set()
    rest = text.upper()
    for word, field in _KEYWORDS:
        if word.upper() in rest:
            found.add(field)
            rest = rest.replace(word.upper(), " ")
    return frozenset(found)


def matches_major(major: str, position: str, industry: str) -> bool | None:
    """True when the job shares a field with the major; None when the major is unknown."""
    if not major.strip():
        return None
    return bool(fields_of(major) & fields_of(f"{position} {industry}"))
