"""Tickets and alerts: opening a ticket (category, severity, urgent alert) and moving cases on."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from models import Alert, CaseNote, Guardianship, Student, Ticket
from models.people_queries import account_languages
from models.queue import enqueue

TICKET_PREFIX, ALERT_PREFIX = "T", "A"
STATUS_ZH = {"open": "待处理", "acknowledged": "已受理", "handling": "处理中", "resolved": "已解决"}
STATUS_EN = {
    "open": "open",
    "acknowledged": "acknowledged",
    "handling": "being handled",
    "resolved": "resolved",
}

STATUS_STUDENT_ZH = "您的工单 {no} 状态：{status}。"
STATUS_STUDENT_EN = "Your ticket {no} is now {status}."
REPLY_ZH = "老师回复：{reply}"
REPLY_EN = "Your teacher says: {reply}"
REPLY_MARK = "回复学生："  # how a reply is kept in the case history
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


def ticket_no(ticket_id: int) -> str:
    return f"{TICKET_PREFIX}{ticket_id}"


def alert_no(alert_id: int) -> str:
    return f"{ALERT_PREFIX}{alert_id}"


def person_lang(executor, person_kind: str, person_id: int) -> str:
    """ "en" when every chat account of the person is English, else "zh"."""
    langs = account_languages(executor, person_kind=person_kind, person_id=person_id)
    return "en" if langs and all(lang == "en" for lang in langs) else "zh"


def move_ticket(
    session: Session,
    *,
    ticket: Ticket,
    status: str,
    note: str,
    actor: str,
    now: datetime,
    reply: str = "",
) -> bool:
    """Move a ticket on; the student is told the new status and `reply`, never `note`.

    `note` stays on the ticket for staff; `reply` is what the student (and, when the school
    asked for it, the parents) should read. Returns True if the status changed.
    """
    kept = f"{note}\n{REPLY_MARK}{reply}".strip() if reply else note
    changed = _step(session, ticket, "ticket", status=status, note=kept, actor=actor, now=now)
    student = session.get(Student, ticket.student_id)
    no = ticket_no(ticket.id)
    lang = person_lang(session, "student", student.id)
    names, template = (
        (STATUS_EN, STATUS_STUDENT_EN) if lang == "en" else (STATUS_ZH, STATUS_STUDENT_ZH)
    )
    seq = _note_count(session, "ticket", ticket.id)
    enqueue(
        session,
        now=now,
        person_kind="student",
        person_id=student.id,
        key=f"ticket_status:{ticket.id}:{seq}",
        kind="ticket_status",
        text=_with_reply(template.format(no=no, status=names[status]), reply, lang),
        params=dict(student=student.name, no=no, summary=names[status]),
        school_id=ticket.school_id,
        quiet_hours=True,
    )
    if ticket.notify_parent:
        notify_parents(session, ticket=ticket, student=student, note=reply, seq=seq, now=now)
    # The ticket's urgent alert follows it, so the console does not show it as still open.
    for alert in session.exec(select(Alert).where(Alert.ticket_id == ticket.id)).all():
        if alert.status != "resolved" and alert.status != status:
            alert.status, alert.updated_at = status, now
            session.add(alert)
    session.flush()
    return changed


def _with_reply(text: str, reply: str, lang: str) -> str:
    if not reply:
        return text
    return text + "\n" + (REPLY_EN if lang == "en" else REPLY_ZH).format(reply=reply)


def split_reply(text: str) -> tuple[str, str]:
    """(note, reply) of a teacher's text: "已联系企业 | 回复：本周内补发" keeps the note for
    staff and sends only the reply; without "回复" nothing of the text reaches the student."""
    for mark in ("|", "｜"):
        if mark in text:
            note, _, reply = text.partition(mark)
            return note.strip(), _strip_reply_word(reply)
    for word in ("回复：", "回复:", "reply:"):
        head, found, tail = text.partition(word)
        if found:
            return head.strip(), tail.strip()
    return text.strip(), ""


def _strip_reply_word(text: str) -> str:
    text = text.strip()
    for word in ("回复：", "回复:", "回复", "reply:", "reply"):
        if text.lower().startswith(word):
            return text[len(word) :].strip()
    return text


def notify_parents(
    session: Session, *, ticket: Ticket, student: Student, note: str, seq: int, now: datetime
):
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
            now=now,
            person_kind="parent",
            person_id=parent_id,
            key=f"ticket_parent:{ticket.id}:{seq}:{parent_id}",
            kind="ticket_status",
            text=text,
            params=dict(
                student=student.name,
                no=ticket_no(ticket.id),
                summary=STATUS_ZH[ticket.status],
            ),
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
            now=now,
            person_kind="teacher",
            person_id=teacher_id,
            key=f"alert_status:{alert.id}:{_note_count(session, 'alert', alert.id)}",
            kind="alert_status",
            text=text.strip(),
            params=dict(student=student.name, no=alert_no(alert.id), summary=names[status]),
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
