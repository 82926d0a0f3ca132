"""A student's week so far, in words: shared by the student's, parent's and teacher's views."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from core.due import due_on, is_present
from core.settings import Settings
from handlers.base import Context
from handlers.texts import fmt_day, fmt_time, kind_name
from models.attendance import DueFacts
from models.checkins import checkins_between

DAY_LINE = ("{day}：{items}", "{day}: {items}")
DAY_MISSING = ("{day}：未签到", "{day}: no check-in")
DAY_LEAVE = ("{day}：请假", "{day}: on leave")
OUTSIDE = ("（范围外）", " (outside range)")
UNVERIFIED = ("（待核实）", " (to be verified)")


@dataclass
class Week:
    """A student's week so far: the workdays due and the check-ins per day."""

    due: list[date] = field(default_factory=list)
    by_day: dict[date, list] = field(default_factory=dict)
    leave: list[date] = field(default_factory=list)  # approved leave on workdays
    unbound: list[date] = field(default_factory=list)  # workdays before binding in chat

    @property
    def present(self) -> int:
        return sum(1 for d in self.due if any(is_present(r) for r in self.by_day.get(d, ())))


def week_of(
    checkins_between: Callable, *, facts: DueFacts, today: date, settings: Settings
) -> Week:
    """Monday to today: which days were due (core.due) and which check-ins each had
    (`checkins_between(start, end)` reads the student's check-ins)."""
    monday = today - timedelta(days=today.weekday())
    days: dict[str, list[date]] = {"ok": [], "leave": [], "unbound": [], "before_binding": []}
    for i in range((today - monday).days + 1):
        day = monday + timedelta(days=i)
        days.get(due_on(facts, day, settings).reason, []).append(day)
    by_day: dict[date, list] = defaultdict(list)
    for row in checkins_between(monday, today):
        by_day[row.day].append(row)
    unbound = days["unbound"] + days["before_binding"]
    return Week(due=days["ok"], by_day=dict(by_day), leave=days["leave"], unbound=unbound)


def checkins_reader(executor, student_id: int) -> Callable:
    """`(start, end) -> check-ins` of one student, for week_of."""
    return lambda start, end: checkins_between(
        executor, student_id=student_id, start=start, end=end
    )


def sep(ctx: Context) -> str:
    """The list separator of the reader's language."""
    return ", " if ctx.lang == "en" else "、"


def kind_and_time(ctx: Context, row) -> str:
    """上班 09:02 / start 09:02 (marked when it waits to be verified)."""
    mark = "" if is_present(row) else ctx.say(UNVERIFIED)
    return f"{kind_name(row.kind, ctx.lang)} {fmt_time(row.at, ctx.settings.tz)}{mark}"


def times(ctx: Context, rows: list, *, with_fence: bool) -> str:
    """上班 09:02、下班 18:05 — times only unless the reader may see the fence result."""
    outside = ctx.say(OUTSIDE)
    return sep(ctx).join(
        kind_and_time(ctx, row) + (outside if with_fence and not row.within_fence else "")
        for row in rows
    )


def week_lines(ctx: Context, week: Week, item: Callable[[object], str]) -> list[str]:
    """One line a day so far this week: its check-ins as `item` shows them, or 未签到."""
    lines = []
    for day in sorted(set(week.due) | set(week.by_day) | set(week.leave)):
        rows = week.by_day.get(day)
        shown = fmt_day(day, ctx.lang)
        if rows:
            items = sep(ctx).join(item(row) for row in rows)
            lines.append(ctx.say(DAY_LINE, day=shown, items=items))
        elif day in week.leave:
            lines.append(ctx.say(DAY_LEAVE, day=shown))
        elif day < ctx.today:
            lines.append(ctx.say(DAY_MISSING, day=shown))
    return lines
