"""今日 and 学生 <name>: a teacher's view of own students, today and over this week."""

from __future__ import annotations

from collections import defaultdict

from sqlmodel import col, func, or_, select

from bot.types import Reply
from core.checkin_rules import decide_day, late_minutes
from handlers.base import Context, on_intent
from handlers.status import kind_and_time, sep, week_lines, week_of
from handlers.texts import fmt_day, fmt_distance, fmt_time
from models import CheckIn, MakeupRequest, Placement, Student

TODAY_HEAD = (
    "今日 {day}：应签到 {due} 人，已签到 {present} 人。",
    "Today, {day}: {present} of {due} students checked in.",
)
NO_STUDENTS = ("您名下还没有学生。", "No students are assigned to you yet.")
NOBODY_DUE = ("今日 {day}：您的学生今天都无需签到。", "Today, {day}: none of your students works.")
MISSING = ("未签到 {n} 人：{names}", "Not checked in ({n}): {names}")
OUTSIDE = ("超出范围 {n} 人：{names}", "Outside the range ({n}): {names}")
LATE = ("迟到 {n} 人：{names}", "Late ({n}): {names}")
ALL_GOOD = ("全部按时在范围内签到。", "Everyone checked in on time and in range.")
STUDENT_USAGE = (
    "请在「学生」后写上学生姓名或学号，例如：学生 张三。",
    "Add a name or student number, e.g. student Zhang San.",
)
STUDENT_NOT_FOUND = (
    "您名下没有名为「{name}」的学生。",
    "None of your students is called “{name}”.",
)
STUDENT_MANY = (
    "有多位学生符合「{name}」，请用学号：{names}",
    "Several students match “{name}”; use a student number: {names}",
)
WEEK_HEAD = (
    "{name}（学号 {no}）本周出勤 {present}/{due} 天",
    "{name} (no. {no}) this week: present {present} of {due} workdays",
)
PENDING_MAKEUPS = ("待审批补卡 {n} 件，发送「补卡」查看。", "{n} make-up requests; send /makeup.")
OUTSIDE_MARK = ("（范围外）", " (outside)")


@on_intent("today")
def today(ctx: Context) -> list[Reply]:
    """Lists own students missing, outside the fence or late today, with counts."""
    students = _own_students(ctx)
    if not students:
        return ctx.reply(NO_STUDENTS)
    ids = [s.id for s in students]
    placements: dict[int, list[Placement]] = defaultdict(list)
    for p in ctx.session.exec(select(Placement).where(col(Placement.student_id).in_(ids))).all():
        placements[p.student_id].append(p)
    checkins: dict[int, list[CheckIn]] = defaultdict(list)
    rows = ctx.session.exec(
        select(CheckIn)
        .where(col(CheckIn.student_id).in_(ids), CheckIn.day == ctx.today)
        .order_by(col(CheckIn.at))
    ).all()
    for row in rows:
        checkins[row.student_id].append(row)
    day = fmt_day(ctx.today, ctx.lang)
    due, missing, outside, late = 0, [], [], []
    for student in students:
        decision = decide_day(placements[student.id], ctx.today, ctx.settings)
        if not decision.ok:
            continue
        due += 1
        mine = checkins[student.id]
        if not mine:
            missing.append(student.name)
            continue
        far = [c for c in mine if not c.within_fence]
        if far:
            worst = max(c.distance_m for c in far)
            dist = fmt_distance(worst, ctx.lang)
            outside.append(
                f"{student.name} ({dist})" if ctx.lang == "en" else f"{student.name}（{dist}）"
            )
        start = next((c for c in mine if c.kind == "start"), None)
        if start and late_minutes(start.at, decision.placement, ctx.settings) > 0:
            late.append(f"{student.name} {fmt_time(start.at, ctx.settings.tz)}")
    if due == 0:
        return ctx.reply(NOBODY_DUE, day=day)
    lines = [ctx.say(TODAY_HEAD, day=day, due=due, present=due - len(missing))]
    for text, names in ((MISSING, missing), (OUTSIDE, outside), (LATE, late)):
        if names:
            lines.append(ctx.say(text, n=len(names), names=sep(ctx).join(names)))
    if len(lines) == 1:
        lines.append(ctx.say(ALL_GOOD))
    return [Reply("\n".join(lines))]


@on_intent("student")
def student_week(ctx: Context) -> list[Reply]:
    """Shows one own student's week: each workday's check-ins with distances."""
    query = ctx.args.strip()
    if not query:
        return ctx.reply(STUDENT_USAGE)
    matches = _find_own(ctx, query)
    if not matches:
        return ctx.reply(STUDENT_NOT_FOUND, name=query)
    if len(matches) > 1:
        names = sep(ctx).join(f"{s.name} {s.student_no}" for s in matches)
        return ctx.reply(STUDENT_MANY, name=query, names=names)
    student = matches[0]
    week = week_of(ctx.session, student, ctx.today, ctx.settings)
    lines = [
        ctx.say(
            WEEK_HEAD,
            name=student.name,
            no=student.student_no,
            present=week.present,
            due=len(week.due),
        )
    ]
    lines += week_lines(ctx, week, lambda row: _with_distance(ctx, row))
    pending = ctx.session.exec(
        select(func.count())
        .select_from(MakeupRequest)
        .where(MakeupRequest.student_id == student.id, MakeupRequest.status == "pending")
    ).one()
    if pending:
        lines.append(ctx.say(PENDING_MAKEUPS, n=pending))
    return [Reply("\n".join(lines))]


def _with_distance(ctx: Context, row: CheckIn) -> str:
    text = kind_and_time(ctx, row)
    if row.source == "makeup":
        return text + ("（补卡）" if ctx.lang != "en" else " (make-up)")
    text += f" {fmt_distance(row.distance_m, ctx.lang)}"
    return text + (ctx.say(OUTSIDE_MARK) if not row.within_fence else "")


def _own_students(ctx: Context) -> list[Student]:
    return list(
        ctx.session.exec(
            select(Student)
            .where(Student.teacher_id == ctx.account.person_id)
            .order_by(col(Student.student_no))
        ).all()
    )


def _find_own(ctx: Context, query: str) -> list[Student]:
    """Exact name or student number first, then names containing the query."""
    mine = Student.teacher_id == ctx.account.person_id
    exact = ctx.session.exec(
        select(Student).where(mine, or_(Student.name == query, Student.student_no == query))
    ).all()
    if exact:
        return list(exact)
    return list(
        ctx.session.exec(
            select(Student).where(mine, col(Student.name).contains(query)).limit(10)
        ).all()
    )
