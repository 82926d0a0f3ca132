"""Workday syntax of the roster ("1-5", "1-7", "1,3,5"; 1 = Monday) as a bit mask."""

from __future__ import annotations

import re

ALL_WEEKDAYS = 0b1111111  # a seven-day week: every bit set
_PART = re.compile(r"^([1-7])(?:-([1-7]))?$")


def parse_workdays(spec: str) -> int:
    """Return a mask with bit (d-1) set for each ISO weekday d; ValueError if malformed."""
    text = spec.strip().replace("，", ",").replace("、", ",").replace("～", "-").replace("~", "-")
    if not text:
        raise ValueError("工作日为空")
    mask = 0
    for part in text.split(","):
        m = _PART.match(part.strip())
        if not m:
            raise ValueError(f"工作日格式不对：{spec}（例如 1-5、1-7、1,3,5；1 表示周一）")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise ValueError(f"工作日范围颠倒：{part}")
        for d in range(lo, hi + 1):
            mask |= 1 << (d - 1)
    return mask
