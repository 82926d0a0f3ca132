"""Journals: periods, minimum lengths, submission (one per kind and period) and grading."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from core import text as zh
from core.due import counting_placement
from core.settings import Settings
from core.tickets import person_lang
from models import Journal, Placement, Student
from models.queue import enqueue
from models.stats import bump_school_day

KINDS = ("daily", "weekly", "monthly", "summary")
KIND_ZH = {"daily": "日报", "weekly": "周记", "monthly": "月报", "summary": "总结"}
KIND_EN = {
    "daily": "daily journal",
    "weekly": "weekly journal",
    "monthly": "monthly report",
    "summary": "final summary",
}
PREFIX = "J"  # journal numbers are shown as J123
# What the student hears when a journal is graded, in chat or in the console: (zh, en).
GRADED_NOTICE = (
    "您的{kind}（{label}，编号 {no}）已批阅：{score} 分。{comment}",
    "Your {kind} ({label}, no. {no}) has been graded: {score}. {comment}",
)
GRADED_COMMENT = ("老师评语：{comment}", "Comment: {comment}")


class JournalError(ValueError):
    """A journal action that cannot be done; `code` names the reason for the handler."""

    def __init__(self, code: str, **info):
        super().__init__(code)
        self.code = code
        self.info = info


@dataclass(frozen=True)
class Submitted:
    journal: Journal
    replaced: bool  # an earlier, ungraded version of the same period was replaced
    week_no: int | None  # the placement week of a weekly journal (1 = the first week)
    mentor_id: int | None = None  # the company mentor the placement names, told of it


def min_length(settings: Settings, kind: str) -> int:
    return getattr(settings.journal, f"min_{kind}")


def placement_for(session: Session, student_id: int, day: date) -> Placement | None:
    """The placement that counts on `day` (core.due), else the latest one started before it."""
    rows = session.exec(
        select(Placement).where(Placement.student_id == student_id, Placement.start_date <= day)
    ).all()
    latest = max(rows, key=lambda p: (p.start_date, p.id or 0), default=None)
    return counting_placement(rows, day) or latest


def period_start(kind: str, day: date, placement: Placement | None) -> date:
    """The period a journal written on `day` belongs to (its key with student and kind)."""
    if kind == "daily":
        return day
    if kind == "weekly":
        return day - timedelta(days=day.weekday())
    if kind == "monthly":
        return day.replace(day=1)
    return placement.start_date if placement else day


def week_number(monday: date, placement: Placement | None) -> int:
    """Which week of the placement a Monday starts (ISO week when there is no placement)."""
    if placement is None:
        return monday.isocalendar().week
    first = placement.start_date - timedelta(days=placement.start_date.weekday())
    return max(1, (monday - first).days // 7 + 1)


def submit(
    session: Session,
    *,
    settings: Settings,
    student: Student,
    kind: str,
    body: str,
    now: datetime,
) -> Submitted:
    """Store a journal, replacing an ungraded one of the same period; JournalError if not."""
    if kind not in KINDS:
        raise JournalError("unknown_kind")
    body = body.strip()
    count = zh.length(body)
    needed = min_length(settings, kind)
    if count < needed:
        raise JournalError("too_short", count=count, missing=needed - count, needed=needed)
    today = now.astimezone(settings.tz).date()
    placement = placement_for(session, student.id, today)
    start = period_start(kind, today, placement)
    row = session.exec(
        select(Journal).where(
            Journal.student_id == student.id, Journal.kind == kind, Journal.period_start == start
        )
    ).first()
    if row is not None and row.status == "graded":
        raise JournalError("already_graded", journal=row)
    replaced = row is not None
    if row is None:
        row = Journal(school_id=student.school_id, student_id=student.id, kind=kind)
        row.period_start = start
        bump_school_day(session, school_id=student.school_id, day=today, journals=1)
    row.text, row.char_count = body, count
    row.keywords = zh.keywords(body)
    row.submitted_at = now
    session.add(row)
    session.flush()
    week = week_number(start, placement) if kind == "weekly" else None
    mentor = placement.mentor_id if placement is not None else None
    return Submitted(journal=row, replaced=replaced, week_no=week, mentor_id=mentor)


def grade(journal: Journal, *, score: int, comment: str, grader: str, now: datetime) -> bool:
    """Record a grade; returns True when it replaced an earlier grade."""
    regraded = journal.status == "graded"
    journal.status, journal.score, journal.comment = "graded", score, comment.strip()
    journal.graded_by, journal.graded_at = grader[:64], now
    return regraded


def tell_student_graded(session: Session, journal: Journal, *, now: datetime) -> int:
    """Queue the score and comment to the student's chats, in their language (quiet hours)."""
    en = person_lang(session, "student", journal.student_id) == "en"
    day = journal.period_start
    if journal.kind == "weekly":
        week = week_number(day, placement_for(session, journal.student_id, day))
        label = f"week {week}" if en else f"第 {week} 周"
    else:
        label = day.isoformat()
    comment = GRADED_COMMENT[en].format(comment=journal.comment) if journal.comment else ""
    text = GRADED_NOTICE[en].format(
        kind=(KIND_EN if en else KIND_ZH)[journal.kind],
        label=label,
        no=f"{PREFIX}{journal.id}",
        score=journal.score,
        comment=comment,
    )
    return enqueue(
        session,
        now=now,
        person_kind="student",
        person_id=journal.student_id,
        key=f"journal_graded:{journal.id}:{now.isoformat()}",
        kind="journal_graded",
        text=text.strip(),
        params=dict(
            no=f"{PREFIX}{journal.id}",
            summary=f"{label} {journal.score}" + ("" if en else " 分"),
            date=day.isoformat(),
        ),
        school_id=journal.school_id,
        quiet_hours=True,
    )


# What a company mentor hears when an intern submits a journal: (zh, en).
MENTOR_NOTICE = (
    "实习生{student}提交了{kind}（编号 {no}，{count} 字）：{first}\n"
    "发送「批阅 {no}」查看全文，「批阅 {no} 分数 评语」评分。",
    "Your intern {student} submitted a {kind} (no. {no}, {count} words): {first}\n"
    'Send "grade {no}" to read it, "grade {no} <score> <comment>" to grade it.',
)
FIRST_LINE_CHARS = 40


def first_line(text: str, limit: int = FIRST_LINE_CHARS) -> str:
    """The opening of a journal, on one line, cut with an ellipsis."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[:limit] + "…"


def tell_mentor_submitted(
    session: Session, submitted: Submitted, *, student_name: str, now: datetime
) -> int:
    """Queue a note of a new journal to the mentor the placement names (company staff: no
    quiet hours); nothing when there is none."""
    if submitted.mentor_id is None:
        return 0
    journal = submitted.journal
    en = person_lang(session, "mentor", submitted.mentor_id) == "en"
    text = MENTOR_NOTICE[en].format(
        student=student_name,
        kind=(KIND_EN if en else KIND_ZH)[journal.kind],
        no=f"{PREFIX}{journal.id}",
        count=journal.char_count,
        first=first_line(journal.text),
    )
    return enqueue(
        session,
        now=now,
        person_kind="mentor",
        person_id=submitted.mentor_id,
        key=f"journal_submitted:{journal.id}:{now.isoformat()}",
        kind="journal_submitted",
        text=text,
        school_id=journal.school_id,
        quiet_hours=False,
    )


def journals_submitted_since(
    session: Session, *, teacher_id: int, since: datetime
) -> list[tuple[Journal, Student]]:
    """New journals of a teacher's students since a moment (for the daily digest)."""
    rows = session.exec(
        select(Journal, Student)
        .join(Student, Student.id == Journal.student_id)
        .where(Student.teacher_id == teacher_id, Journal.submitted_at >= since)
        .order_by(Journal.submitted_at)
    ).all()
    return [(j, s) for j, s in rows]


def parse_number(text: str, prefix: str) -> int | None:
    """A record number as users write it: "J12", "j12", "12" (the prefix is optional)."""
    token = text.strip().upper().removeprefix(prefix.upper()).lstrip("#＃")
    return int(token) if token.isdigit() and len(token) < 10 else None
