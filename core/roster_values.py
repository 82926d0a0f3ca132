"""Roster cell parsers: each turns a cell into a value or raises ValueError saying why."""

from __future__ import annotations

import re
from datetime import date, datetime, time

from core.geo import DATUMS

PHONE = re.compile(r"^1[3-9]\d{9}$")  # a clean mainland mobile number
_PHONE_NOISE = re.compile(r"[\s\-—–()（）]")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_TIME = re.compile(r"^(\d{1,2})\s*[:：]\s*(\d{2})(?:\s*[:：]\s*\d{2})?$")
_MONEY = re.compile(r"^(?:¥|￥|RMB)?\s*(-?\d+(?:\.\d+)?)\s*(?:元|块|元/月)?$", re.IGNORECASE)
_RADIUS = re.compile(r"^(\d+(?:\.0+)?)\s*(?:米|m|M)?$")
TRUE_WORDS = {"yes", "y", "true", "t", "1", "是", "有", "已签", "已签订", "已投保", "√", "✓"}
FALSE_WORDS = {
    "no",
    "n",
    "false",
    "f",
    "0",
    "否",
    "无",
    "没有",
    "未签",
    "未签订",
    "未投保",
    "×",
    "✗",
}
GENDERS = {"男": "男", "女": "女", "m": "男", "f": "女", "male": "男", "female": "女"}
DATUM_ALIASES = {"gcj02": "gcj02", "wgs84": "wgs84", "bd09": "bd09", "bd09ll": "bd09"}
MAX_RADIUS_M = 100_000


def text(cell: object) -> str:
    """A cell as trimmed text; whole numbers from spreadsheets lose their '.0'."""
    if type(cell) is str:  # the common case (every CSV cell), first
        return cell.strip()
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "1" if cell else "0"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime):
        return cell.isoformat(sep=" ")
    return str(cell).strip()


def phone(cell: object) -> str:
    raw = text(cell)
    if PHONE.match(raw):  # already clean, as most are: no noise to strip, no prefix to drop
        return raw
    digits = _PHONE_NOISE.sub("", raw)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not PHONE.match(digits):
        raise ValueError(f"“{raw}”不是有效的大陆手机号（11 位，以 1 开头）")
    return digits


def coordinate(cell: object, *, limit: float) -> float:
    raw = text(cell)
    try:
        value = float(raw) if not isinstance(cell, int | float) else float(cell)
    except ValueError:
        raise ValueError(f"“{raw}”不是数字") from None
    if value != value or not -limit <= value <= limit:  # NaN or out of range
        raise ValueError(f"{raw} 超出范围（应在 -{limit:g} 到 {limit:g} 之间）")
    return value


def datum(cell: object) -> str:
    raw = text(cell)
    if not raw:
        return "gcj02"
    key = raw.lower().replace("-", "").replace("_", "").replace(" ", "")
    if key not in DATUM_ALIASES:
        raise ValueError(f"“{raw}”不认识（应为 {' / '.join(DATUMS)}）")
    return DATUM_ALIASES[key]


def radius(cell: object, *, default: int) -> int:
    raw = text(cell)
    if not raw:
        return default
    m = _RADIUS.match(raw)
    value = int(float(m.group(1))) if m else 0
    if not m or value <= 0:
        raise ValueError(f"“{raw}”应为正整数（米）")
    if value > MAX_RADIUS_M:
        raise ValueError(f"{raw} 米太大（最多 {MAX_RADIUS_M} 米）")
    return value


def clock(cell: object) -> time:
    if isinstance(cell, datetime):
        return cell.time().replace(second=0, microsecond=0)
    if isinstance(cell, time):
        return cell.replace(second=0, microsecond=0)
    raw = text(cell)
    m = _TIME.match(raw)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"“{raw}”不是有效时间（应为 HH:MM，例如 08:30）")
    return time(int(m.group(1)), int(m.group(2)))


def day(cell: object) -> date:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    raw = text(cell)
    m = _DATE.match(raw.split(" ")[0] if " " in raw and ":" in raw else raw)
    try:
        if not m:
            raise ValueError
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise ValueError(f"“{raw}”不是有效日期（应为 YYYY-MM-DD，例如 2026-03-01）") from None


def salary(cell: object) -> int | None:
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        value = float(cell)
    else:
        raw = text(cell).replace(",", "").replace("，", "")
        if not raw:
            return None
        m = _MONEY.match(raw)
        if not m:
            raise ValueError(f"“{text(cell)}”不是有效金额（例如 3500）")
        value = float(m.group(1))
    if value < 0:
        raise ValueError(f"{text(cell)} 不能为负数")
    return round(value)


def flag(cell: object) -> bool:
    raw = text(cell).lower()
    if not raw or raw in FALSE_WORDS:
        return False
    if raw in TRUE_WORDS:
        return True
    raise ValueError(f"“{text(cell)}”应为 是/否（yes/no）")


def gender(cell: object) -> str:
    raw = text(cell)
    if not raw:
        return ""
    value = GENDERS.get(raw.lower())
    if value is None:
        raise ValueError(f"“{raw}”应为 男/女")
    return value


def optional_flag(cell: object) -> bool | None:
    """是/否 as True/False; an empty cell is None (unknown, not "no")."""
    return flag(cell) if text(cell) else None


ARRANGEMENTS = {
    "school": "school", "学校": "school", "学校安排": "school", "统一安排": "school",
    "学校统一安排": "school", "self": "self", "自主": "self", "自行": "self", "自主联系": "self",
    "自行联系": "self", "自主选择": "self", "agency": "agency", "中介": "agency",
    "中介机构": "agency", "中介安排": "agency", "有偿代理": "agency",
}  # fmt: skip
_GRADES = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6}
_GRADE = re.compile(r"^(?:([1-6])|([一二三四五六]))\s*(?:年级)?$")
_COUNT = re.compile(r"^(\d+)(?:\.0+)?\s*人?$")


def arrangement(cell: object) -> str | None:
    raw = text(cell)
    if not raw:
        return None
    value = ARRANGEMENTS.get(raw.lower())
    if value is None:
        raise ValueError(f"“{raw}”应为 学校/自主/中介（school/self/agency）")
    return value


def grade(cell: object) -> int | None:
    raw = text(cell)
    if not raw:
        return None
    m = _GRADE.match(raw)
    if not m:
        raise ValueError(f"“{raw}”应为 1–6 的年级（例如 2 或 二年级）")
    return int(m.group(1)) if m.group(1) else _GRADES[m.group(2)]


def headcount(cell: object) -> int | None:
    raw = text(cell).replace(",", "").replace("，", "")
    if not raw:
        return None
    m = _COUNT.match(raw)
    if not m or int(m.group(1)) <= 0:
        raise ValueError(f"“{raw}”应为正整数（人数）")
    return int(m.group(1))
