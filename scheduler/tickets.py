"""Tickets nobody took up: after `[tickets] escalate_after_h` still open, they go to the school.

A ticket is "taken up" when anyone moves it out of `open` (处理 in chat, or the console). One
still open that long goes to the school's admins (in chat when they are bound, and marked on
the ticket for the console), once: `escalated_at` is set in the same transaction, and the
outbox keys make a second sweep, or a second scheduler, send nothing new.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import Session

from core.classify import category_names
from core.settings import Settings
from core.tickets import ticket_no
from models import Student, Teacher, Ticket
from models.case_queries import add_case_note, school_admin_ids
from models.queue import enqueue

BATCH = 500
ESCALATED = (
    "【工单超时未受理】{no}：{student}（指导教师：{teacher}）{day} 提交，"
    "{hours} 小时内无人受理。类别：{categories}\n“{text}”\n请在管理后台督办。"
)
ESCALATION_NOTE = "超过 {hours} 小时无人受理，已上报学校"


def sweep_ticket_escalation(session: Session, settings: Settings, now: datetime) -> int:
    """Send tickets still open after the configured hours to the school; returns how many."""
    hours = settings.tickets.escalate_after_h
    cutoff = now - timedelta(hours=hours)
    rows = session.execute(
        select(Ticket, Student.name, Teacher.name.label("teacher"))
        .join(Student, Student.id == Ticket.student_id)
        .outerjoin(Teacher, Teacher.id == Student.teacher_id)
        .where(
            Ticket.status == "open",
            Ticket.escalated_at.is_(None),
            Ticket.created_at <= cutoff,
        )
        .order_by(Ticket.id)
        .limit(BATCH)
        .with_for_update(of=Ticket, skip_locked=True)
    ).all()
    admins: dict[int, list[int]] = {}
    for ticket, student, teacher in rows:
        school = ticket.school_id
        if school not in admins:
            admins[school] = school_admin_ids(session, school_id=school)
        created = ticket.created_at.astimezone(settings.tz)
        params = dict(
            student=student,
            no=ticket_no(ticket.id),
            teacher=teacher or "未分配",
            date=created.date().isoformat(),
            time=created.strftime("%H:%M"),
            summary=category_names(ticket.categories or [ticket.category]),
        )
        text = ESCALATED.format(
            no=ticket_no(ticket.id),
            student=student,
            teacher=teacher or "未分配",
            day=ticket.created_at.astimezone(settings.tz).strftime("%m-%d %H:%M"),
            hours=hours,
            categories=category_names(ticket.categories or [ticket.category]),
            text=" ".join(ticket.description.split())[:60],
        )
        for admin_id in admins[school]:
            enqueue(
                session,
                now=now,
                person_kind="school_admin",
                person_id=admin_id,
                key=f"ticket_escalated:{ticket.id}:{admin_id}",
                kind="ticket_escalated",
                text=text,
                params=params,
                school_id=school,
            )
        add_case_note(
            session, kind="ticket", case_id=ticket.id, actor="system", status="open",
            note=ESCALATION_NOTE.format(hours=hours), at=now,
        )  # fmt: skip
        session.execute(
            update(Ticket).where(Ticket.id == ticket.id).values(escalated_at=now, updated_at=now)
        )
    return len(rows)
