"""Opening a ticket: its categories, and who hears of it at once (SPEC section 3).

Every new ticket reaches the student's teacher in chat at once (teachers have no quiet hours):
its number, categories, student and the start of its text. Safety and harassment tickets (and
any with urgent words) also raise an urgent alert and go to the school's admins at once. A
student without a teacher is the school's: the admins hear of it at once. An open ticket that
nobody takes up goes to the school later (scheduler/tickets.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from core.classify import Classification, category_names, classify
from core.settings import Settings
from core.tickets import ticket_no
from models.case_queries import add_case_note, insert_ticket, raise_alert, school_admin_ids
from models.queue import enqueue
from models.stats import count_school_day

SHORT = 60  # characters of the student's text quoted to teachers and admins
TEACHER_NEW = (
    "【维权工单 {no}】{student}反映：{categories}\n“{text}”\n"
    "请尽快了解情况，回复「处理 {no} 处理说明 | 回复：给学生的话」。"
)
TEACHER_URGENT = (
    "【紧急维权 {no}】{student}反映：{categories}\n“{text}”\n"
    "请立即联系学生，回复「处理 {no} 处理说明 | 回复：给学生的话」。"
)
SCHOOL_URGENT = "【紧急维权 {no}】{student}（指导教师：{teacher}）反映：{categories}\n“{text}”"
SCHOOL_NEW = "【维权工单 {no}】{student}（未分配指导教师）反映：{categories}\n“{text}”"


@dataclass(frozen=True)
class Opened:
    ticket_id: int
    classification: Classification
    alert_id: int | None
    teacher: str  # the teacher's name, "" when the student has none (the school follows it)


def open_ticket(
    executor, *, settings: Settings, student, description: str, now: datetime, batch=None
):
    """Create a ticket and tell the people who must act on it, in this transaction.

    `student`: a row of models.people_queries.students_with_names. `batch`: the inbound
    path's writer batch, which sums the day's roll-up for all its messages."""
    description = description.strip()
    result = classify(description)
    ticket_id = insert_ticket(
        executor,
        batch=batch,
        at_once=result.urgent,  # its alert refers to the row
        school_id=student.school_id,
        student_id=student.id,
        category=result.category,
        categories=list(result.categories),
        severity=result.severity,
        description=description,
        status="open",
        notify_parent=False,
        created_at=now,
        updated_at=now,
    )
    add_case_note(
        executor, kind="ticket", case_id=ticket_id, actor=f"student:{student.id}",
        status="open", note="学生提交", at=now, batch=batch,
    )  # fmt: skip
    today = now.astimezone(settings.tz).date()
    count_school_day(executor, batch=batch, school_id=student.school_id, day=today, tickets=1)
    teacher = student.teacher_name
    values = dict(
        no=ticket_no(ticket_id),
        student=_who(student),
        categories=category_names(result.categories),
        text=_short(description),
        teacher=teacher or "未分配",
    )
    alert_id = None
    if result.urgent:
        alert_id = raise_alert(
            executor, kind="urgent_ticket", school_id=student.school_id, student_id=student.id,
            day=today, severity="urgent", message=f"工单 {values['no']}：{values['text']}",
            now=now, ticket_id=ticket_id,
        )  # fmt: skip
    tell = partial(
        _tell, executor, ticket_id=ticket_id, school_id=student.school_id, now=now, batch=batch
    )
    if student.teacher_id is not None:
        template = TEACHER_URGENT if result.urgent else TEACHER_NEW
        tell("teacher", student.teacher_id, template.format(**values), values=values)
    if result.urgent or student.teacher_id is None:
        template = SCHOOL_URGENT if result.urgent else SCHOOL_NEW
        for admin_id in school_admin_ids(executor, school_id=student.school_id):
            tell("school_admin", admin_id, template.format(**values), values=values)
    return Opened(ticket_id, result, alert_id, teacher)


def _tell(
    executor,
    kind: str,
    person_id: int,
    text: str,
    *,
    ticket_id,
    school_id,
    now,
    values: dict,
    batch=None,
) -> None:
    enqueue(
        executor,
        batch=batch,
        now=now,
        person_kind=kind,
        person_id=person_id,
        key=f"ticket_new:{ticket_id}:{kind}:{person_id}",
        kind="ticket_new",
        text=text,
        params=dict(
            student=values["student"],
            no=values["no"],
            summary=values["categories"] or values["text"],
            teacher=values["teacher"],
        ),
        school_id=school_id,
    )


def _who(student) -> str:
    """张三（汽修2301） — the class only when there is one."""
    return f"{student.name}（{student.class_name}）" if student.class_name else student.name


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SHORT else text[: SHORT - 1] + "…"
