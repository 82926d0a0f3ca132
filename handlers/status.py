"""状态 / 我的: a student's own summary, a parent's view of the child's week, a teacher's count."""

from __future__ import annotations

from datetime import timedelta

from bot.types import Reply
from core.due import due_on
from handlers.base import Context, on_intent
from handlers.people import describe, describe_student
from handlers.texts import fmt_day, fmt_time, fmt_workdays
from handlers.week import checkins_reader, kind_and_time, times, week_lines, week_of
from models.attendance import due_facts
from models.case_queries import TICKET_ROWS
from models.people_queries import children_of, count_students_of_teacher, student_summaries

PLACEMENT = (
    "实习单位：{company}{position}；上班 {start}–{end}，{days}",
    "Placement: {company}{position}; shift {start}–{end}, {days}",
)
NO_PLACEMENT = ("目前没有查到您的实习安排。", "No placement is on record for you.")
TODAY_NONE = ("今天：还没有签到。", "Today: no check-in yet.")
TODAY_OFF = ("今天：无需签到。", "Today: no check-in needed.")
TODAY_LEAVE = ("今天：已请假，无需签到。", "Today: on leave; no check-in needed.")
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
PARENT_HEAD = (
    "{name} 本周签到：{present}/{due} 个工作日",
    "{name} this week: checked in on {present} of {due} workdays",
)
PARENT_NO_CHILD = (
    "没有查到与您关联的学生，请联系学校。",
    "No student is linked to you; please contact the school.",
)
PARENT_NO_PLACEMENT = ("{name} 本周没有实习工作日。", "{name} has no workdays this week.")
PARENT_CHILD_UNBOUND = (
    "{name} 还没有绑定实习助手，暂时没有签到记录，请提醒孩子向老师要邀请码完成绑定。",
    "{name} has not joined the assistant yet, so there are no check-ins; "
    "please ask your child to get an invite code from the teacher.",
)
TEACHER_STATUS = (
    "您是{who}，名下学生 {n} 人。发送「今日」查看今天的签到，「学生 姓名」查看某位学生本周情况。",
    "You are {who}, with {n} students. Send /today for today's check-ins, or "
    "'student <name>' for one student's week.",
)


_SUMMARIES = "student_summaries"


def _placement_line(ctx: Context, placement) -> str:
    tz = ctx.settings.tz
    position = f" · {placement.position}" if placement.position else ""
    return ctx.say(
        PLACEMENT,
        company=placement.company_name or "",
        position=position,
        start=fmt_time(placement.shift_start, tz),
        end=fmt_time(placement.shift_end, tz),
        days=fmt_workdays(placement.workdays, ctx.lang),
    )


def _student_status(ctx: Context) -> list[Reply]:
    facts = ctx.due_facts()
    placements = facts.placements
    decision = due_on(facts, ctx.today, ctx.settings)
    placement = decision.placement or _latest(placements)
    me = _summary(ctx)
    lines = [describe_student(me, ctx.lang)]
    lines.append(_placement_line(ctx, placement) if placement else ctx.say(NO_PLACEMENT))
    week = week_of(ctx.checkins_between, facts=facts, today=ctx.today, settings=ctx.settings)
    today_rows = week.by_day.get(ctx.today, [])
    if today_rows:
        lines.append(ctx.say(TODAY, items=times(ctx, today_rows, with_fence=True)))
    else:
        off = TODAY_LEAVE if decision.reason == "leave" else TODAY_OFF
        lines.append(ctx.say(TODAY_NONE if decision.ok else off))
    lines.append(ctx.say(WEEK, present=week.present, due=len(week.due)))
    if me.journal_kind is None:
        lines.append(ctx.say(NO_JOURNAL))
    else:
        graded = me.journal_status == "graded"
        state = ctx.say(GRADED, score=me.journal_score) if graded else ctx.say(SUBMITTED)
        kind = me.journal_kind
        lines.append(
            ctx.say(
                LAST_JOURNAL,
                kind=ctx.say(JOURNAL_KINDS.get(kind, (kind, kind))),
                day=fmt_day(me.journal_period_start, ctx.lang),
                state=state,
            )
        )
    lines.append(ctx.say(OPEN_TICKETS, n=me.open_tickets))
    return [Reply("\n".join(lines))]


def _summary(ctx: Context):
    """The student's summary, read once for every student sender of the batch (Batch.kept)."""

    def read() -> dict:
        ids = {ctx.person_id} | {
            a.person_id for a in ctx.batch_senders() if a is not None and a.person_kind == "student"
        }
        ctx.write_now(TICKET_ROWS)  # the open tickets it counts
        return student_summaries(ctx.conn, student_ids=ids)

    return ctx.kept(_SUMMARIES, read, lambda kept: ctx.person_id in kept)[ctx.person_id]


def _latest(placements):
    return max(placements, key=lambda p: p.start_date) if placements else None


def _parent_status(ctx: Context) -> list[Reply]:
    children = children_of(ctx.conn, parent_id=ctx.person_id)
    if not children:
        return ctx.reply(PARENT_NO_CHILD)
    blocks = []
    monday = ctx.today - timedelta(days=ctx.today.weekday())
    facts = due_facts(ctx.conn, student_ids=[c.id for c in children], first=monday, last=ctx.today)
    for child in children:
        week = week_of(
            checkins_reader(ctx.conn, child.id),
            facts=facts[child.id],
            today=ctx.today,
            settings=ctx.settings,
        )
        if not week.due and not week.by_day and not week.leave:
            empty = PARENT_CHILD_UNBOUND if week.unbound else PARENT_NO_PLACEMENT
            blocks.append(ctx.say(empty, name=child.name))
            continue
        head = ctx.say(PARENT_HEAD, name=child.name, present=week.present, due=len(week.due))
        # Times only: parents never see coordinates or distances.
        days = week_lines(ctx, week, lambda row: kind_and_time(ctx, row))
        blocks.append("\n".join([head, *days]))
    return [Reply("\n\n".join(blocks))]


def _teacher_status(ctx: Context) -> list[Reply]:
    n = count_students_of_teacher(ctx.conn, teacher_id=ctx.person_id)
    return ctx.reply(TEACHER_STATUS, who=describe(ctx.conn, ctx.account, ctx.lang), n=n)


@on_intent("status")
def status(ctx: Context) -> list[Reply]:
    """Shows what the sender may see: own week, the child's week, or the teacher's roster size."""
    if ctx.role == "parent":
        return _parent_status(ctx)
    if ctx.role == "teacher":
        return _teacher_status(ctx)
    if ctx.role == "student":
        return _student_status(ctx)
    return ctx.reply(TEACHER_STATUS, who=describe(ctx.conn, ctx.account, ctx.lang), n=0)
