"""Weekly journals: Friday reminder, Monday digest of missing ones, daily digest of new ones."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select
from sqlmodel import Session

from core.notices import format_day
from core.settings import Settings
from models import Journal, Placement, SchoolClass, Student
from scheduler.days import daily_moment_due, day_end, weekly_moment_due
from scheduler.fanout import Message, chunks, enqueue_all
from scheduler.outbox_sql import (
    insert_select,
    key_expr,
    placements_with_student_chats,
    row_columns,
    student_params,
)

MAX_LINES = 30
KIND_NAMES = {"daily": "日报", "weekly": "周记", "monthly": "月报", "summary": "总结"}
MISSING_HEAD = "【周记未交】上周（{start}—{end}）以下 {n} 名学生没有提交周记："
MISSING_LINE = "{i}. {name}（{cls}）"
GRADING_HEAD = "【待批阅】{day}，您的学生新提交了 {n} 篇实习日志（共 {pending} 篇待批阅）："
GRADING_LINE = "#{id} {name}（{cls}）{kind}，{chars} 字"
GRADING_TAIL = "回复“批阅 编号 分数 评语”即可批阅，例如：批阅 {id} 90 写得很认真"
MORE_LINES = "……另有 {n} 条，请在控制台查看。"


def _no_weekly_journal(monday):
    return ~exists().where(
        Journal.student_id == Placement.student_id,
        Journal.kind == "weekly",
        Journal.period_start == monday,
    )


def sweep_journal_reminders(session: Session, settings: Settings, now: datetime) -> int:
    """Friday 18:00: remind students on placement who have not submitted this week's 周记."""
    monday = weekly_moment_due(now, settings, settings.scheduler.journal_reminder)
    if monday is None:
        return 0
    sunday = monday + timedelta(days=6)
    today = now.astimezone(settings.tz).date()
    columns = row_columns(
        session,
        key=key_expr("journal_reminder", Placement.student_id, monday.isoformat()),
        school_id=Placement.school_id,
        kind="journal_reminder",
        person_kind="student",
        person_id=Placement.student_id,
        day=monday,
        quiet_hours=True,
        now=now,
        expires_at=day_end(sunday, settings),
        params=student_params(session),
    )
    stmt = placements_with_student_chats(*columns).where(
        Placement.start_date <= today,
        Placement.end_date >= monday,
        _no_weekly_journal(monday),
    )
    return insert_select(session, stmt)


def sweep_missing_journals(session: Session, settings: Settings, now: datetime) -> int:
    """Monday 09:00: tell each teacher which students missed last week's 周记."""
    this_monday = weekly_moment_due(now, settings, settings.scheduler.journal_digest)
    if this_monday is None:
        return 0
    monday, sunday = this_monday - timedelta(days=7), this_monday - timedelta(days=1)
    rows = session.execute(
        select(Student.teacher_id, Student.id, Student.name, SchoolClass.name, Student.school_id)
        .join(Placement, Placement.student_id == Student.id)
        .outerjoin(SchoolClass, SchoolClass.id == Student.class_id)
        .where(
            Student.teacher_id.is_not(None),
            Placement.start_date <= sunday,
            Placement.end_date >= monday,
            _no_weekly_journal(monday),
        )
        .distinct()
        .order_by(Student.teacher_id, SchoolClass.name, Student.name)
    ).all()
    groups: dict[int, list] = defaultdict(list)
    for teacher_id, *student in rows:
        groups[teacher_id].append(student)
    messages = []
    for teacher_id, students in groups.items():
        head = MISSING_HEAD.format(
            start=format_day(monday), end=format_day(sunday), n=len(students)
        )
        lines = [
            MISSING_LINE.format(i=i, name=name, cls=cls or "")
            for i, (_, name, cls, _) in enumerate(students[:MAX_LINES], 1)
        ]
        if len(students) > MAX_LINES:
            lines.append(MORE_LINES.format(n=len(students) - MAX_LINES))
        messages.append(
            Message(
                person_kind="teacher",
                person_id=teacher_id,
                key=f"journal_digest:{teacher_id}:{monday}",
                kind="journal_digest",
                text="\n".join([head, *lines]),
                school_id=students[0][3],
                day=monday,
                params={"student_ids": [s[0] for s in students]},
            )
        )
    return enqueue_all(session, messages, now)


def sweep_grading_digest(session: Session, settings: Settings, now: datetime) -> int:
    """Daily (18:00): each teacher's journals submitted since yesterday's digest, to grade."""
    at = settings.scheduler.grading_digest
    day = daily_moment_due(now, settings, at)
    if day is None:
        return 0
    moment = datetime.combine(day, at, tzinfo=settings.tz)
    rows = session.execute(
        select(
            Student.teacher_id,
            Journal.id,
            Journal.kind,
            Journal.char_count,
            Student.name,
            SchoolClass.name,
            Journal.school_id,
        )
        .join(Student, Student.id == Journal.student_id)
        .outerjoin(SchoolClass, SchoolClass.id == Student.class_id)
        .where(
            Student.teacher_id.is_not(None),
            Journal.status == "submitted",
            Journal.submitted_at > moment - timedelta(days=1),
            Journal.submitted_at <= moment,
        )
        .order_by(Student.teacher_id, Journal.id)
    ).all()
    new: dict[int, list] = defaultdict(list)
    for row in rows:
        new[row[0]].append(row)
    pending = _pending_counts(session, list(new))
    messages = []
    for teacher_id, journals in new.items():
        lines = [
            GRADING_LINE.format(
                id=jid, name=name, cls=cls or "", kind=KIND_NAMES.get(kind, kind), chars=chars
            )
            for _, jid, kind, chars, name, cls, _ in journals[:MAX_LINES]
        ]
        if len(journals) > MAX_LINES:
            lines.append(MORE_LINES.format(n=len(journals) - MAX_LINES))
        head = GRADING_HEAD.format(
            day=format_day(day), n=len(journals), pending=pending.get(teacher_id, len(journals))
        )
        messages.append(
            Message(
                person_kind="teacher",
                person_id=teacher_id,
                key=f"grading_digest:{teacher_id}:{day}",
                kind="grading_digest",
                text="\n".join([head, *lines, GRADING_TAIL.format(id=journals[0][1])]),
                school_id=journals[0][6],
                day=day,
                params={"journal_ids": [j[1] for j in journals]},
            )
        )
    return enqueue_all(session, messages, now)


def _pending_counts(session: Session, teacher_ids: list[int]) -> dict[int, int]:
    """Ungraded journals per teacher (for the digest's "共 N 篇待批阅")."""
    out: dict[int, int] = {}
    for part in chunks(teacher_ids):
        out.update(
            session.execute(
                select(Student.teacher_id, func.count(Journal.id))
                .join(Student, Student.id == Journal.student_id)
                .where(Student.teacher_id.in_(part), Journal.status == "submitted")
                .group_by(Student.teacher_id)
            ).all()
        )
    return out
