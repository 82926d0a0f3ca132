"""A student's placement at a glance: a calendar with missed days, and the fence with check-ins.

The map is drawn here as SVG on a local flat projection around the workplace: no map tiles,
no outside service. Only users who may see coordinates get it (core.scope).
"""

from __future__ import annotations

import math
from datetime import date, timedelta

from core.due import due_on

CHANNEL_NAMES = {"wechat": "微信", "telegram": "Telegram", "console": "控制台", "web": "签到页"}
SOURCE_NAMES = {
    "location": "位置消息",
    "event": "位置上报",
    "live": "实时位置",
    "makeup": "补卡",
    "device": "手机定位",
    "pin": "地图选点",
}
STATE_TITLES = {
    "present": "已签到",
    "missing": "应签到未签到",
    "rest": "休息日或节假日",
    "leave": "请假（已批准）",
    "unbound": "尚未绑定，不计缺勤",
    "future": "尚未到",
}
SIZE = 240  # the SVG's width and height in user units
M_PER_DEG_LAT = 110_540.0
M_PER_DEG_LNG = 111_320.0


def placement_calendar(placement, facts, checkin_days: set[date], today: date, settings) -> dict:
    """Weeks (Monday first) of the placement, each day {day, state}; counts of each state.

    A past day is missing only when core.due says the student was due through this placement
    and no check-in was recorded; leave and days before the first binding are shown apart.
    """
    first = placement.start_date - timedelta(days=placement.start_date.weekday())
    last = placement.end_date + timedelta(days=6 - placement.end_date.weekday())
    weeks, week, counts = [], [], {k: 0 for k in STATE_TITLES}
    day = first
    while day <= last:
        state = None
        if placement.start_date <= day <= placement.end_date:
            state = _day_state(placement, facts, day, day in checkin_days, today, settings)
            counts[state] += 1
        week.append({"day": day, "state": state})
        if len(week) == 7:
            weeks.append(week)
            week = []
        day += timedelta(days=1)
    return {"weeks": weeks, "counts": counts, "titles": STATE_TITLES}


def _day_state(placement, facts, day: date, checked: bool, today: date, settings) -> str:
    if day > today:
        return "future"
    if checked:
        return "present"
    decision = due_on(facts, day, settings)
    if decision.reason == "leave":
        return "leave"
    if decision.reason in ("unbound", "before_binding"):
        return "unbound"
    if decision.ok and decision.placement.id == placement.id:
        return "missing" if day < today else "future"
    return "rest"


def fence_plot(placement, checkins) -> dict:
    """The fence circle and check-in points in SVG units around the workplace (GCJ-02)."""
    lat0, lng0 = placement.norm_lat, placement.norm_lng
    kx = M_PER_DEG_LNG * math.cos(math.radians(lat0))

    def metres(c):
        return ((c.norm_lng - lng0) * kx, (c.norm_lat - lat0) * M_PER_DEG_LAT)

    offsets = [(c, *metres(c)) for c in checkins]
    far = max([math.hypot(x, y) for _, x, y in offsets] + [0.0])
    # Show the fence at least a third of the width; points further than 5 fences sit on the rim.
    extent = min(max(placement.radius_m * 1.5, far * 1.1), placement.radius_m * 5)
    scale = (SIZE / 2 - 8) / extent
    points = []
    for c, x, y in offsets:
        d = math.hypot(x, y)
        clipped = d * scale > SIZE / 2 - 6
        k = (SIZE / 2 - 6) / (d * scale) if clipped else 1.0
        points.append(
            {
                "x": round(SIZE / 2 + x * scale * k, 1),
                "y": round(SIZE / 2 - y * scale * k, 1),
                "inside": c.within_fence,
                "clipped": clipped,
                "title": f"{round(c.distance_m):,} 米",
                "at": c.at,
            }
        )
    return {
        "size": SIZE,
        "r": round(placement.radius_m * scale, 1),
        "points": points,
        "scale_m": round(extent),
    }
