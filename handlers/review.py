"""批阅 without a score: the journals waiting for a teacher or mentor, and one journal in full.

    批阅            the oldest journals waiting: number, student, kind, first line
    批阅 J12        journal 12 in full, so that it is read before it is scored
The scoring grammar (批阅 J12 90 评语) is handlers.casework.grade, which calls these first.
"""

from __future__ import annotations

from sqlmodel import select

from bot.types import Reply
from core import journals
from core.scope import chat_students
from handlers.base import Context
from handlers.texts import fmt_day, fmt_time
from models import ConsoleUser, Journal, Student
from models.journal_queries import waiting_journals

LIST_LIMIT = 10
NONE_WAITING = ("目前没有待批阅的日志。", "No journals are waiting to be graded.")
WAITING_HEAD = ("待批阅日志 {n} 篇：", "{n} journals waiting:")
WAITING_LINE = ("{no} {name} {kind}：{first}", "{no} {name}, {kind}: {first}")
WAITING_MORE = ("……另有 {n} 篇，可在控制台查看。", "...and {n} more in the console.")
WAITING_TAIL = (
    "发送「批阅 编号」查看全文，「批阅 编号 分数 评语」评分。",
    'Send "grade <no>" to read one, "grade <no> <score> <comment>" to grade it.',
)
SHOW_HEAD = (
    "{no} {name}（学号 {student_no}）的{kind}，{day} {time} 提交，{count} 字{graded}：",
    "{no}: {kind} of {name} (no. {student_no}), submitted {day} {time}, {count} words{graded}:",
)
SHOW_GRADED = ("，已批阅 {score} 分", ", graded {score}")
SHOW_TAIL = (
    "发送「批阅 {no} 分数 评语」评分，例如「批阅 {no} 90 写得很具体」。",
    'Send "grade {no} <score> <comment>", e.g. "grade {no} 90 well done".',
)


def _say(ctx: Context, text: tuple[str, str], **values) -> str:
    return (text[1] if ctx.lang == "en" else text[0]).format(**values)


def _kind(ctx: Context, kind: str) -> str:
    return (journals.KIND_EN if ctx.lang == "en" else journals.KIND_ZH)[kind]


def may_see(ctx: Context, school_id: int, student: Student | None) -> bool:
    """Teachers act on their own students, mentors on their interns (core.scope), a bound
    school admin on the whole school."""
    account = ctx.account
    if account is None or student is None:
        return False
    if account.person_kind == "teacher":
        return student.teacher_id == account.person_id
    if account.person_kind == "mentor":
        where = chat_students("mentor", account.person_id)
        query = select(Student.id).where(Student.id == student.id, where)
        return ctx.session.exec(query).first() is not None
    if account.person_kind == "school_admin":
        user = ctx.session.get(ConsoleUser, account.person_id)
        return user is not None and user.role == "school" and user.school_id == school_id
    return False


def waiting(ctx: Context) -> list[Reply]:
    """Lists the oldest journals waiting for a grade among the sender's students."""
    account = ctx.account
    where = chat_students(account.person_kind, account.person_id, account.school_id)
    total, rows = waiting_journals(ctx.conn, students=where, limit=LIST_LIMIT)
    if not total:
        return [Reply(_say(ctx, NONE_WAITING))]
    lines = [_say(ctx, WAITING_HEAD, n=total)]
    for row in rows:
        lines.append(
            _say(
                ctx,
                WAITING_LINE,
                no=f"{journals.PREFIX}{row.id}",
                name=row.name,
                kind=_kind(ctx, row.kind),
                first=journals.first_line(row.text),
            )
        )
    if total > len(rows):
        lines.append(_say(ctx, WAITING_MORE, n=total - len(rows)))
    lines.append(_say(ctx, WAITING_TAIL))
    return [Reply("\n".join(lines))]


def show(ctx: Context, journal: Journal, student: Student) -> list[Reply]:
    """One journal in full, with how to grade it."""
    no = f"{journals.PREFIX}{journal.id}"
    tz = ctx.settings.tz
    graded = _say(ctx, SHOW_GRADED, score=journal.score) if journal.status == "graded" else ""
    head = _say(
        ctx,
        SHOW_HEAD,
        no=no,
        name=student.name,
        student_no=student.student_no,
        kind=_kind(ctx, journal.kind),
        day=fmt_day(journal.submitted_at.astimezone(tz).date(), ctx.lang),
        time=fmt_time(journal.submitted_at, tz),
        count=journal.char_count,
        graded=graded,
    )
    return [Reply("\n".join([head, journal.text, _say(ctx, SHOW_TAIL, no=no)]))]
