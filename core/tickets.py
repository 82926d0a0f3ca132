"""Tickets and alerts: opening a ticket (category, severity, urgent alert) and moving cases on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, select

from core.classify import Classification, category_name, classify
from core.settings import Settings
from models import (
    Alert,
    CaseNote,
    ChannelAccount,
    ConsoleUser,
    Guardianship,
    Student,
    Teacher,
    Ticket,
)
from models.queue import enqueue
from models.stats import bump_school_day

TICKET_PREFIX, ALERT_PREFIX = "T", "A"
STATUS_ZH = {"open": "待处理", "acknowledged": "已受理", "handling": "处理中", "resolved": "已解决"}
STATUS_EN = {
    "open": "open",
    "acknowledged": "acknowledged",
    "handling": "being handled",
    "resolved": "resolved",
}

URGENT_TEACHER = (
    "【紧急维权】{name}提交了工单 {no}（{category}）：{text}\n"
    "请尽快联系学生，回复「处理 {no} 说明」。"
)
URGENT_SCHOOL = "【紧急维权】{name}（指导教师：{teacher}）提交了工单 {no}（{category}）：{text}"
STATUS_STUDENT_ZH = "您的工单 {no} 状态：{status}。{note}"
STATUS_STUDENT_EN = "Your ticket {no} is now {status}. {note}"
STATUS_PARENT = "家长您好：学校正在跟进{name}反映的问题（工单 {no}），当前状态：{status}。{note}"
ALERT_KINDS = {
    "missing": ("缺勤", "missing"),
    "lost_contact": ("失联", "lost contact"),
    "urgent_ticket": ("紧急工单", "urgent report"),
    "outside_fence": ("范围外", "outside the range"),
}
ALERT_TEACHER = (
    "预警 {no}（{name}，{kind}）已更新为「{status}」。{note}",
    "Alert {no} ({name}, {kind}) is now {status}. {note}",
)


class CaseError(ValueError):
    """A case action that cannot be done; `code` names the reason for the handler."""

    def __init__(self, code: str, **info):
        super().__init__(code)
        self.code = code
        self.info = info


@dataclass(frozen=True)
class Opened:
    ticket: Ticket
    classification: Classification
    alert: Alert | None


def ticket_no(ticket_id: int) -> str:
    return f"{TICKET_PREFIX}{ticket_id}"


def alert_no(alert_id: int) -> str:
    return f"{ALERT_PREFIX}{alert_id}"


def person_lang(session: Session, person_kind: str, person_id: int) -> str:
    """ "en" when every chat account of the person is English, else "zh"."""
    langs = session.exec(
        select(ChannelAccount.language).where(
            ChannelAccount.person_kind == person_kind,
            ChannelAccount.person_id == person_id,
            ChannelAccount.active.is_(True),
        )
    ).all()
    return "en" if langs and all(lang == "en" for lang in langs) else "zh"


def open_ticket(
    session: Session, *, settings: Settings, student: Student, description: str, now: datetime
) -> Opened:
    """Create a ticket; an urgent one also raises an alert to the teacher and the school."""
    result = classify(description)
    ticket = Ticket(
        school_id=student.school_id,
        student_id=student.id,
        category=result.category,
        severity=result.severity,
        description=description.strip(),
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    session.flush()
    actor = f"student:{student.id}"
    add_note(session, "ticket", ticket.id, actor=actor, status="open", note="学生提交", now=now)
    today = now.astimezone(settings.tz).date()
    bump_school_day(session, school_id=student.school_id, day=today, tickets=1)
    alert = None
    if result.urgent:
        alert = _raise_urgent(session, student=student, ticket=ticket, now=now, day=today)
    return Opened(ticket=ticket, classification=result, alert=alert)


def _raise_urgent(
    session: Session, *, student: Student, ticket: Ticket, now: datetime, day: date
) -> Alert:
    no = ticket_no(ticket.id)
    short = ticket.description[:80]
    message = f"工单 {no}：{short}"
    # One urgent_ticket alert per student and day (a unique key); a second ticket reopens it.
    alert = session.exec(
        select(Alert).where(
            Alert.kind == "urgent_ticket", Alert.student_id == student.id, Alert.day == day
        )
    ).first()
    if alert is None:
        alert = Alert(
            school_id=student.school_id,
            student_id=student.id,
            kind="urgent_ticket",
            day=day,
            created_at=now,
        )
    alert.severity, alert.status, alert.message = "urgent", "open", message
    alert.ticket_id, alert.updated_at = ticket.id, now
    session.add(alert)
    session.flush()
    category = category_name(ticket.category)
    if student.teacher_id is not None:
        text = URGENT_TEACHER.format(name=student.name, no=no, category=category, text=short)
        enqueue(
            session,
            person_kind="teacher",
            person_id=student.teacher_id,
            key=f"urgent_ticket:{ticket.id}:teacher",
            kind="urgent_ticket",
            text=text,
            school_id=student.school_id,
        )
    teacher = _teacher_name(session, student)
    admins = session.exec(
        select(ConsoleUser.id).where(
            ConsoleUser.role == "school",
            ConsoleUser.school_id == student.school_id,
            ConsoleUser.active.is_(True),
        )
    ).all()
    for admin_id in admins:
        text = URGENT_SCHOOL.format(
            name=student.name, teacher=teacher, no=no, category=category, text=short
        )
        enqueue(
            session,
            person_kind="school_admin",
            person_id=admin_id,
            key=f"urgent_ticket:{ticket.id}:school:{admin_id}",
            kind="urgent_ticket",
            text=text,
            school_id=student.school_id,
        )
    return alert


def move_ticket(
    session: Session, *, ticket: Ticket, status: str, note: str, actor: str, now: datetime
) -> bool:
    """Move a ticket on (or add a note); tells the student. Returns True if the status changed."""
    changed = _step(session, ticket, "ticket", status=status, note=note, actor=actor, now=now)
    student = session.get(Student, ticket.student_id)
    no = ticket_no(ticket.id)
    lang = person_lang(session, "student", student.id)
    names, template = (
        (STATUS_EN, STATUS_STUDENT_EN) if lang == "en" else (STATUS_ZH, STATUS_STUDENT_ZH)
    )
    seq = _note_count(session, "ticket", ticket.id)
    enqueue(
        session,
        person_kind="student",
        person_id=student.id,
        key=f"ticket_status:{ticket.id}:{seq}",
        kind="ticket_status",
        text=template.format(no=no, status=names[status], note=note).strip(),
        school_id=ticket.school_id,
        quiet_hours=True,
    )
    if ticket.notify_parent:
        notify_parents(session, ticket=ticket, student=student, note=note, seq=seq)
    # The ticket's urgent alert follows it, so the console does not show it as still open.
    for alert in session.exec(select(Alert).where(Alert.ticket_id == ticket.id)).all():
        if alert.status != "resolved" and alert.status != status:
            alert.status, alert.updated_at = status, now
            session.add(alert)
    session.flush()
    return changed


def notify_parents(session: Session, *, ticket: Ticket, student: Student, note: str, seq: int):
    """Tell a student's parents about a ticket the school marked for them."""
    parents = session.exec(
        select(Guardianship.parent_id).where(Guardianship.student_id == student.id)
    ).all()
    text = STATUS_PARENT.format(
        name=student.name, no=ticket_no(ticket.id), status=STATUS_ZH[ticket.status], note=note
    ).strip()
    for parent_id in parents:
        enqueue(
            session,
            person_kind="parent",
            person_id=parent_id,
            key=f"ticket_parent:{ticket.id}:{seq}:{parent_id}",
            kind="ticket_status",
            text=text,
            school_id=ticket.school_id,
            quiet_hours=True,
        )


def move_alert(
    session: Session,
    *,
    alert: Alert,
    status: str,
    note: str,
    actor: str,
    now: datetime,
    by_teacher: int | None = None,
) -> bool:
    """Move an alert on (or add a note); returns True if the status changed.

    When someone other than the student's teacher (`by_teacher`) changes the status, the
    teacher is told: alerts are the teacher's to follow, and nobody else needs the news.
    """
    changed = _step(session, alert, "alert", status=status, note=note, actor=actor, now=now)
    student = session.get(Student, alert.student_id)
    teacher_id = student.teacher_id if student else None
    if changed and teacher_id is not None and teacher_id != by_teacher:
        lang = person_lang(session, "teacher", teacher_id)
        names = STATUS_EN if lang == "en" else STATUS_ZH
        kind = ALERT_KINDS.get(alert.kind, (alert.kind, alert.kind))[lang == "en"]
        template = ALERT_TEACHER[lang == "en"]
        text = template.format(
            no=alert_no(alert.id), name=student.name, kind=kind, status=names[status], note=note
        )
        enqueue(
            session,
            person_kind="teacher",
            person_id=teacher_id,
            key=f"alert_status:{alert.id}:{_note_count(session, 'alert', alert.id)}",
            kind="alert_status",
            text=text.strip(),
            school_id=alert.school_id,
        )
    return changed


def _step(session, case, kind: str, *, status: str, note: str, actor: str, now) -> bool:
    """The part of moving a ticket or alert they share; True if the status changed."""
    if case.status == "resolved":
        raise CaseError("closed", no=(ticket_no if kind == "ticket" else alert_no)(case.id))
    changed = status != case.status
    case.status, case.updated_at = status, now
    session.add(case)
    add_note(session, kind, case.id, actor=actor, status=status, note=note, now=now)
    return changed


def add_note(
    session: Session, kind: str, case_id: int, *, actor: str, status: str, note: str, now
) -> None:
    """One step in a case's history (a note alone when the status stays)."""
    session.add(
        CaseNote(
            case_kind=kind, case_id=case_id, actor=actor[:64], status=status, note=note, at=now
        )
    )
    session.flush()


def _note_count(session: Session, kind: str, case_id: int) -> int:
    return len(
        session.exec(
            select(CaseNote.id).where(CaseNote.case_kind == kind, CaseNote.case_id == case_id)
        ).all()
    )


def _teacher_name(session: Session, student: Student) -> str:
    teacher = session.get(Teacher, student.teacher_id) if student.teacher_id else None
    return teacher.name if teacher else "未分配"
