"""Formatting shared by the handlers: days, times, distances and check-in kinds in zh / en."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

WEEKDAYS_ZH = "一二三四五六日"
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
KIND_NAMES = {"start": ("上班", "start"), "end": ("下班", "end")}
ROLE_NAMES = {
    "student": ("学生", "student"),
    "teacher": ("指导教师", "teacher"),
    "parent": ("家长", "parent"),
    "mentor": ("企业导师", "company mentor"),
    "school_admin": ("学校管理员", "school admin"),
}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def kind_name(kind: str, lang: str) -> str:
    return _pick(KIND_NAMES.get(kind, (kind, kind)), lang)


def role_name(role: str, lang: str) -> str:
    return _pick(ROLE_NAMES.get(role, (role, role)), lang)


def fmt_day(day: date, lang: str) -> str:
    """3月2日（周一） / Mon 2 Mar."""
    if lang == "en":
        return f"{WEEKDAYS_EN[day.weekday()]} {day.day} {MONTHS_EN[day.month - 1]}"
    return f"{day.month}月{day.day}日（周{WEEKDAYS_ZH[day.weekday()]}）"


def fmt_time(at: datetime | time, tz: ZoneInfo) -> str:
    """HH:MM in local time."""
    if isinstance(at, datetime):
        at = at.astimezone(tz).time()
    return at.strftime("%H:%M")


def fmt_distance(metres: float, lang: str) -> str:
    """约 40 米 / 约 1.2 公里; about 40 m / about 1.2 km (GPS is not more precise)."""
    if metres < 10:
        return "under 10 m" if lang == "en" else "不到 10 米"
    if metres < 1000:
        value = round(metres / 10) * 10
        return f"about {value} m" if lang == "en" else f"约 {value} 米"
    km = f"{metres / 1000:.1f}"
    return f"about {km} km" if lang == "en" else f"约 {km} 公里"


def fmt_radius(metres: int, lang: str) -> str:
    return f"{metres} m" if lang == "en" else f"{metres} 米"


def fmt_workdays(spec: str, lang: str) -> str:
    """The roster's workday syntax shown to people: 1-5 -> 周一至周五."""
    names = WEEKDAYS_EN if lang == "en" else tuple(f"周{c}" for c in WEEKDAYS_ZH)
    parts = []
    for part in spec.replace("，", ",").split(","):
        lo, _, hi = part.strip().partition("-")
        if not lo.isdigit() or not (1 <= int(lo) <= 7):
            return spec
        if hi.isdigit() and 1 <= int(hi) <= 7:
            joiner = "–" if lang == "en" else "至"
            parts.append(f"{names[int(lo) - 1]}{joiner}{names[int(hi) - 1]}")
        else:
            parts.append(names[int(lo) - 1])
    return ", ".join(parts) if lang == "en" else "、".join(parts)
