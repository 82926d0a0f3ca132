"""Dates as people write them in chat: 2026-12-08, 12-8, 12月8日, 今天, 明天, and ranges (至/到)."""

from __future__ import annotations

import re
from datetime import date, timedelta

_DATE = re.compile(
    r"^(?:(?P<y>\d{4})[-/.年])?(?P<m>\d{1,2})(?:[-/.]|月)(?P<d>\d{1,2})[日号]?\s*(?P<rest>.*)$",
    re.S,
)
_DAY_ONLY = re.compile(r"^(?P<d>\d{1,2})[日号]\s*(?P<rest>.*)$", re.S)  # "10日" after "12月8日至"
# Words for a day relative to today, longest first so that 今日 is not read as 今.
RELATIVE = {
    "今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "昨天": -1, "昨日": -1, "前天": -2,
    "tomorrow": 1, "today": 0, "yesterday": -1,
}  # fmt: skip
_RANGE = ("至", "到", "~", "～", "—", "－", "to ", "until ")


def parse_day(text: str, today: date, *, prefer: str = "past") -> tuple[date, str] | None:
    """(the leading date, the rest of the text), or None when the text does not start with one.

    A date without a year is this year's, unless that lands on the wrong side of today:
    `prefer="past"` reads "12-30" written in January as last December (补卡), `prefer="future"`
    reads "1-3" written in December as next January (请假).
    """
    stripped = text.strip()
    lowered = stripped.lower()
    for word, offset in RELATIVE.items():
        if lowered.startswith(word):
            return today + timedelta(days=offset), stripped[len(word) :].strip()
    m = _DATE.match(stripped)
    if not m:
        return None
    day = _make(int(m["y"]) if m["y"] else today.year, int(m["m"]), int(m["d"]))
    if day is None:
        return None
    if not m["y"]:
        if prefer == "past" and day > today:
            day = _make(today.year - 1, day.month, day.day)
        elif prefer == "future" and (today - day).days > 180:
            day = _make(today.year + 1, day.month, day.day)
    return (day, m["rest"].strip()) if day else None


def parse_range(text: str, today: date) -> tuple[date, date, str] | None:
    """(first day, last day, the rest) of "12月8日至12月10日 …", "明天 …" or "12-8到12-9 …"."""
    first = parse_day(text, today, prefer="future")
    if first is None:
        return None
    start, rest = first
    for mark in _RANGE:
        if rest.lower().startswith(mark):
            after = rest[len(mark) :].strip()
            second = parse_day(after, today, prefer="future")
            if second is None:  # "12月8日至10日": the month of the first date
                m = _DAY_ONLY.match(after)
                end = _make(start.year, start.month, int(m["d"])) if m else None
                second = (end, m["rest"].strip()) if end else None
            if second is None:
                return None
            end, rest = second
            if end < start and end.month < start.month:  # "12月30日至1月2日": into January
                end = _make(end.year + 1, end.month, end.day) or end
            return start, end, rest
    return start, start, rest


def _make(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
