"""今日 and 学生 <name>: a teacher's view of own students (a mentor's of own interns), today
and over this week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from bot.types import Reply
from core.due import due_on, is_present, late_minutes
from core.scope import OVERSEERS, students_overseen_by_any
from handlers.base import Context, on_intent
from handlers.texts import fmt_day, fmt_distance, fmt_time
from handlers.week import checkins_reader, kind_and_time, sep, week_lines, week_of
from models.attendance import due_facts, due_facts_of, due_facts_reads
from models.checkins import checkins_of_students_between_read
from models.makeup_queries import pending_makeup_count
from models.people_queries import find_students_of_teacher
from models.prepared import read_all

TODAY_HEAD = (
    "今日 {day}：应签到 {due} 人，已签到 {present} 人。",
    "Today, {day}: {present} of {due} students checked in.",
)
NO_STUDENTS = ("您名下还没有学生。", "No students are assigned to you yet.")
NO_INTERNS = ("名册中还没有由您指导的实习生。", "No interns name you as their mentor yet.")
NOBODY_DUE = ("今日 {day}：您的学生今天都无需签到。", "Today, {day}: none of your students works.")
MISSING = ("未签到 {n} 人：{names}", "Not checked in ({n}): {names}")
OUTSIDE = ("超出范围 {n} 人：{names}", "Outside the range ({n}): {names}")
LATE = ("迟到 {n} 人：{names}", "Late ({n}): {names}")
ON_LEAVE = ("请假 {n} 人：{names}", "On leave ({n}): {names}")
UNBOUND = ("未绑定 {n} 人：{names}", "Not bound in chat yet ({n}): {names}")
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
UNVERIFIED = (
    "待核实 {n} 人（发送「核实」查看）：{names}",
    "To verify ({n}, send /verify): {names}",
)
FLAGGED = ("可疑签到 {n} 人：{names}", "Check-ins flagged as doubtful ({n}): {names}")


_READS = "today_reads"


@dataclass
class _Reads:
    """What 今日 reads for the batch's teachers and mentors."""

    day: date
    students: dict  # (role, person id) -> the student rows
    facts: dict  # student id -> core.due's DueFacts
    checkins: dict  # student id -> today's check-ins


def _today_reads(ctx: Context) -> _Reads:
    """The sender's students, their due facts and today's check-ins: read once for every
    teacher and mentor whose message is in the batch, kept while only 今日 messages follow
    one another (Batch.kept)."""
    me = (ctx.role, ctx.person_id)

    def read() -> _Reads:
        overseers = {me} | {
            (a.person_kind, a.person_id)
            for a in ctx.batch_senders()
            if a is not None and a.person_kind in OVERSEERS
        }
        return _read_for(ctx, overseers)

    return ctx.kept(_READS, read, lambda kept: kept.day == ctx.today and me in kept.students)


def _read_for(ctx: Context, overseers: set) -> _Reads:
    students: dict = {who: [] for who in overseers}
    for kind in OVERSEERS:
        ids = sorted(person_id for k, person_id in overseers if k == kind)
        if ids:
            for row in ctx.conn.execute(students_overseen_by_any(kind, ids)):
                students[(kind, row.overseer_id)].append(row)
    ids = sorted({row.id for rows in students.values() for row in rows})
    day = ctx.today
    reads = [
        *due_facts_reads(ctx.conn, student_ids=ids, first=day, last=day),
        checkins_of_students_between_read(ctx.conn, student_ids=ids, start=day, end=day),
    ]
    *due, checkins = read_all(ctx.conn, reads)  # one round trip on PostgreSQL
    return _Reads(day, students, due_facts_of(ids, *due), checkins)


@on_intent("today", roles=OVERSEERS)
def today(ctx: Context) -> list[Reply]:
    """Lists own students missing, outside the fence or late today, with counts."""
    reads = _today_reads(ctx)
    students = reads.students[(ctx.role, ctx.person_id)]
    facts, checkins = reads.facts, reads.checkins
    if not students:
        return ctx.reply(NO_INTERNS if ctx.role == "mentor" else NO_STUDENTS)
    day = fmt_day(ctx.today, ctx.lang)
    due, missing, outside, late, on_leave, unbound = 0, [], [], [], [], []
    unverified, flagged = [], []
    for student in sorted(students, key=lambda s: s.student_no):
        decision = due_on(facts[student.id], ctx.today, ctx.settings)
        if decision.reason in ("leave", "unbound"):
            (on_leave if decision.reason == "leave" else unbound).append(student.name)
        if not decision.ok:
            continue
        due += 1
        mine = checkins.get(student.id, ())
        if any(c.flags for c in mine):
            flagged.append(student.name)
        if not any(is_present(c) for c in mine):
            (unverified if mine else missing).append(student.name)
            continue
        far = [c for c in mine if not c.within_fence]
        if far:
            worst = max(c.distance_m for c in far)
            dist = fmt_distance(worst, ctx.lang)
            outside.append(
                f"{student.name} ({dist})" if ctx.lang == "en" else f"{student.name}（{dist}）"
            )
        start = next((c for c in mine if c.kind == "start"), None)
        if start and late_minutes(start.at, decision.placement.shift_start, ctx.settings) > 0:
            late.append(f"{student.name} {fmt_time(start.at, ctx.settings.tz)}")
    if due == 0 and not on_leave and not unbound:
        return ctx.reply(NOBODY_DUE, day=day)
    present = due - len(missing) - len(unverified)
    lines = [ctx.say(TODAY_HEAD, day=day, due=due, present=present)]
    shown = ((MISSING, missing), (UNVERIFIED, unverified), (OUTSIDE, outside), (LATE, late))
    for text, names in (*shown, (FLAGGED, flagged)):
        if names:
            lines.append(ctx.say(text, n=len(names), names=sep(ctx).join(names)))
    if len(lines) == 1 and due:
        lines.append(ctx.say(ALL_GOOD))
    for text, names in ((ON_LEAVE, on_leave), (UNBOUND, unbound)):
        if names:
            lines.append(ctx.say(text, n=len(names), names=sep(ctx).join(names)))
    return [Reply("\n".join(lines))]


@on_intent("student", roles=("teacher",))
def student_week(ctx: Context) -> list[Reply]:
    """Shows one own student's week: each workday's check-ins with distances."""
    query = ctx.args.strip()
    if not query:
        return ctx.reply(STUDENT_USAGE)
    matches = find_students_of_teacher(ctx.conn, teacher_id=ctx.person_id, query=query)
    if not matches:
        return ctx.reply(STUDENT_NOT_FOUND, name=query)
    if len(matches) > 1:
        names = sep(ctx).join(f"{s.name} {s.student_no}" for s in matches)
        return ctx.reply(STUDENT_MANY, name=query, names=names)
    student = matches[0]
    monday = ctx.today - timedelta(days=ctx.today.weekday())
    facts = due_facts(ctx.conn, student_ids=[student.id], first=monday, last=ctx.today)
    week = week_of(
        checkins_reader(ctx.conn, student.id),
        facts=facts[student.id],
        today=ctx.today,
        settings=ctx.settings,
    )
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
    pending = pending_makeup_count(ctx.conn, student_id=student.id)
    if pending:
        lines.append(ctx.say(PENDING_MAKEUPS, n=pending))
    return [Reply("\n".join(lines))]


def _with_distance(ctx: Context, row) -> str:
    text = kind_and_time(ctx, row)
    if row.source == "makeup":
        return text + ("（补卡）" if ctx.lang != "en" else " (make-up)")
    text += f" {fmt_distance(row.distance_m, ctx.lang)}"
    return text + (ctx.say(OUTSIDE_MARK) if not row.within_fence else "")
