"""状态 / 我的: a student's own summary, a parent's view of the child's week, a teacher's count."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlmodel import col, func, select

from bot.types import Reply
from core.checkin_rules import decide_day
from core.settings import Settings
from handlers.base import Context, on_intent
from handlers.bind import describe
from handlers.checkin import company_name
from handlers.texts import fmt_day, fmt_time, fmt_workdays, kind_name
from models import CheckIn, Journal, Placement, Student, Ticket
from models.checkin_queries import (
    checkins_between,
    children_of,
    placements_of,
    students_of_teacher,
)

PLACEMENT = (
    "实习单位：{company}{position}；上班 {start}–{end}，{days}",
    "Placement: {company}{position}; shift {start}–{end}, {days}",
)
NO_PLACEMENT = ("目前没有查到您的实习安排。", "No placement is on record for you.")
TODAY_NONE = ("今天：还没有签到。", "Today: no check-in yet.")
TODAY_OFF = ("今天：无需签到。", "Today: no check-in needed.")
TODAY = ("今天：{items}", "Today: {items}")
WEEK = ("本周出勤：{present}/{due} 天", "This week: present {present} of {due} workdays")
LAST_JOURNAL = ("最近日志：{kind} {day}，{state}", "Last journal: {kind} {day}, {state}")
NO_JOURNAL = ("最近日志：还没有提交过日志。", "Last journal: none yet.")
OPEN_TICKETS = ("未结的反馈：{n} 件", "Open reports: {n}")
JOURNAL_KINDS = {
    "daily": ("日报", "daily"),
    "weekly": ("周记", "weekly"),
    "monthly": ("月报", "monthly"),
    "summary": ("总结", "summary"),
}
GRADED = ("已批阅 {score} 分", "graded {score}")
SUBMITTED = ("已提交，待批阅", "submitted, not graded yet")
OUTSIDE = ("（范围外）", " (outside range)")
PARENT_HEAD = (
    "{name} 本周签到：{present}/{due} 个工作日",
    "{name} this week: checked in on {present} of {due} workdays",
)
DAY_LINE = ("{day}：{items}", "{day}: {items}")
DAY_MISSING = ("{day}：未签到", "{day}: no check-in")
PARENT_NO_CHILD = (
    "没有查到与您关联的学生，请联系学校。",
    "No student is linked to you; please contact the school.",
)
PARENT_NO_PLACEMENT = ("{name} 本周没有实习工作日。", "{name} has no workdays this week.")
TEACHER_STATUS = (
    "您是{who}，名下学生 {n} 人。发送「今日」查看今天的签到，「学生 姓名」查看某位学生本周情况。",
    "You are {who}, with {n} students. Send /today for today's check-ins, or "
    "'student <name>' for one student's week.",
)


@dataclass
class Week:
    """A student's week so far: the workdays due and the check-ins per day."""

    due: list[date] = field(default_factory=list)
    by_day: dict[date, list[CheckIn]] = field(default_factory=dict)

    @property
    def present(self) -> int:
        return sum(1 for d in self.due if self.by_day.get(d))


def week_of(session, student: Student, today: date, settings: Settings) -> Week:
    """Monday to today: which days were due and which check-ins each had."""
    monday = today - timedelta(days=today.weekday())
    placements = placements_of(session, student_id=student.id)
    due = [
        monday + timedelta(days=i)
        for i in range((today - monday).days + 1)
        if decide_day(placements, monday + timedelta(days=i), settings).ok
    ]
    by_day: dict[date, list[CheckIn]] = defaultdict(list)
    for row in checkins_between(session, student_id=student.id, start=monday, end=today):
        by_day[row.day].append(row)
    return Week(due=due, by_day=dict(by_day))


def sep(ctx: Context) -> str:
    """The list separator of the reader's language."""
    return ", " if ctx.lang == "en" else "、"


def kind_and_time(ctx: Context, row: CheckIn) -> str:
    """上班 09:02 / start 09:02."""
    return f"{kind_name(row.kind, ctx.lang)} {fmt_time(row.at, ctx.settings.tz)}"


def times(ctx: Context, rows: list[CheckIn], *, with_fence: bool) -> str:
    """上班 09:02、下班 18:05 — times only unless the reader may see the fence result."""
    outside = ctx.say(OUTSIDE)
    return sep(ctx).join(
        kind_and_time(ctx, row) + (outside if with_fence and not row.within_fence else "")
        for row in rows
    )


def week_lines(ctx: Context, week: Week, item: Callable[[CheckIn], str]) -> list[str]:
    """One line a day so far this week: its check-ins as `item` shows them, or 未签到."""
    lines = []
    for day in sorted(set(week.due) | set(week.by_day)):
        rows = week.by_day.get(day)
        shown = fmt_day(day, ctx.lang)
        if rows:
            items = sep(ctx).join(item(row) for row in rows)
            lines.append(ctx.say(DAY_LINE, day=shown, items=items))
        elif day < ctx.today:
            lines.append(ctx.say(DAY_MISSING, day=shown))
    return lines


def _placement_line(ctx: Context, placement: Placement) -> str:
    tz = ctx.settings.tz
    position = f" · {placement.position}" if placement.position else ""
    return ctx.say(
        PLACEMENT,
        company=company_name(ctx, placement),
        position=position,
        start=fmt_time(placement.shift_start, tz),
        end=fmt_time(placement.shift_end, tz),
        days=fmt_workdays(placement.workdays, ctx.lang),
    )


def _student_status(ctx: Context) -> list[Reply]:
    student: Student = ctx.person()
    lines = [describe(ctx, ctx.account)]
    decision = decide_day(
        placements_of(ctx.session, student_id=student.id), ctx.today, ctx.settings
    )
    placement = decision.placement or _latest_placement(ctx, student)
    lines.append(_placement_line(ctx, placement) if placement else ctx.say(NO_PLACEMENT))
    week = week_of(ctx.session, student, ctx.today, ctx.settings)
    today_rows = week.by_day.get(ctx.today, [])
    if today_rows:
        lines.append(ctx.say(TODAY, items=times(ctx, today_rows, with_fence=True)))
    else:
        lines.append(ctx.say(TODAY_NONE if decision.ok else TODAY_OFF))
    lines.append(ctx.say(WEEK, present=week.present, due=len(week.due)))
    journal = ctx.session.exec(
        select(Journal)
        .where(Journal.student_id == student.id)
        .order_by(col(Journal.submitted_at).desc())
    ).first()
    if journal is None:
        lines.append(ctx.say(NO_JOURNAL))
    else:
        state = ctx.say(GRADED, score=journal.score) if journal.status == "graded" else None
        lines.append(
            ctx.say(
                LAST_JOURNAL,
                kind=ctx.say(JOURNAL_KINDS.get(journal.kind, (journal.kind, journal.kind))),
                day=fmt_day(journal.period_start, ctx.lang),
                state=state or ctx.say(SUBMITTED),
            )
        )
    open_tickets = ctx.session.exec(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.student_id == student.id, Ticket.status != "resolved")
    ).one()
    lines.append(ctx.say(OPEN_TICKETS, n=open_tickets))
    return [Reply("\n".join(lines))]


def _latest_placement(ctx: Context, student: Student) -> Placement | None:
    rows = placements_of(ctx.session, student_id=student.id)
    return max(rows, key=lambda p: p.start_date) if rows else None


def _parent_status(ctx: Context) -> list[Reply]:
    children = children_of(ctx.session, parent_id=ctx.account.person_id)
    if not children:
        return ctx.reply(PARENT_NO_CHILD)
    blocks = []
    for child in children:
        week = week_of(ctx.session, child, ctx.today, ctx.settings)
        if not week.due and not week.by_day:
            blocks.append(ctx.say(PARENT_NO_PLACEMENT, name=child.name))
            continue
        head = ctx.say(PARENT_HEAD, name=child.name, present=week.present, due=len(week.due))
        # Times only: parents never see coordinates or distances.
        days = week_lines(ctx, week, lambda row: kind_and_time(ctx, row))
        blocks.append("\n".join([head, *days]))
    return [Reply("\n\n".join(blocks))]


def _teacher_status(ctx: Context) -> list[Reply]:
    n = len(students_of_teacher(ctx.session, teacher_id=ctx.account.person_id))
    return ctx.reply(TEACHER_STATUS, who=describe(ctx, ctx.account), n=n)


@on_intent("status")
def status(ctx: Context) -> list[Reply]:
    """Shows what the sender may see: own week, the child's week, or the teacher's roster size."""
    if ctx.role == "parent":
        return _parent_status(ctx)
    if ctx.role == "teacher":
        return _teacher_status(ctx)
    if ctx.role == "student":
        return _student_status(ctx)
    return ctx.reply(TEACHER_STATUS, who=describe(ctx, ctx.account), n=0)
