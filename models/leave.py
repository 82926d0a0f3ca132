"""Leave (请假): a student's request to be excused for a range of days, decided by a teacher."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Index
from sqlmodel import Field, Session, SQLModel, col, select

from models.console import ConsoleUser
from models.people import Student
from models.types import AwareDateTime, utcnow

LEAVE_STATUSES = ("pending", "approved", "rejected")
# Requests that still claim their days: a new one may not overlap them.
LIVE_STATUSES = ("pending", "approved")


class Leave(SQLModel, table=True):
    """One request, shown as L<id>; approved days are not due (core.due)."""

    __tablename__ = "leaves"
    __table_args__ = (
        Index("ix_leaves_student_dates", "student_id", "start_date", "end_date"),
        Index("ix_leaves_school_status", "school_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="schools.id")
    student_id: int = Field(foreign_key="students.id")
    start_date: date
    end_date: date
    reason: str = Field(max_length=500)
    status: str = Field(default="pending", max_length=12)  # pending | approved | rejected
    source: str = Field(default="chat", max_length=12)  # chat (the student) | console (excused)
    requested_by: str = Field(default="", max_length=64)
    decided_by: str = Field(default="", max_length=64)
    decided_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    refusal: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)

    @property
    def number(self) -> str:
        return f"L{self.id}"


# --- data functions ---------------------------------------------------------------------------

MAX_SPAN_DAYS = 60  # one request covers at most this many calendar days
NUMBER = re.compile(r"^[Ll]\s*(\d{1,9})$")


@dataclass(frozen=True, slots=True)
class LeaveResult:
    """A leave created or decided (error ""), or why not: the error code and its details.

    Errors: no_student, bad_range, too_long, too_old, no_reason, overlap (detail: the other
    request's number, status, start, end), not_found, forbidden, decided (detail: status).
    """

    leave: Leave | None
    error: str = ""
    detail: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error


def parse_number(text: str) -> int | None:
    """ "L12" / "l12" / "L 12" -> 12; None when it is not a leave number."""
    m = NUMBER.match(text.strip())
    return int(m.group(1)) if m else None


def overlapping(session: Session, *, student_id: int, start: date, end: date) -> Leave | None:
    """A pending or approved request of the student sharing a day with [start, end]."""
    return session.exec(
        select(Leave)
        .where(
            Leave.student_id == student_id,
            col(Leave.status).in_(LIVE_STATUSES),
            Leave.start_date <= end,
            Leave.end_date >= start,
        )
        .order_by(col(Leave.start_date))
    ).first()


def create_leave(
    session: Session,
    *,
    student_id: int,
    start: date,
    end: date,
    reason: str,
    today: date,
    now: datetime,
    max_past_days: int,
    source: str = "chat",
    requested_by: str = "",
    approved_by: str = "",
) -> LeaveResult:
    """File a request (pending), or with `approved_by` an approved leave (a teacher's excuse).

    Any range of dates is accepted (weekends inside it are fine: only its workdays matter for
    the due rule); one starting more than `max_past_days` ago, or overlapping a pending or
    approved request, is refused.
    """
    student = session.get(Student, student_id)
    if student is None:
        return LeaveResult(None, "no_student")
    if end < start:
        return LeaveResult(None, "bad_range", {"start": start, "end": end})
    if (end - start).days + 1 > MAX_SPAN_DAYS:
        return LeaveResult(None, "too_long", {"max_days": MAX_SPAN_DAYS})
    if (today - start).days > max_past_days:
        return LeaveResult(None, "too_old", {"start": start, "max_days": max_past_days})
    reason = reason.strip()
    if not reason:
        return LeaveResult(None, "no_reason")
    other = overlapping(session, student_id=student_id, start=start, end=end)
    if other is not None:
        return LeaveResult(None, "overlap", _describe(other))
    leave = Leave(
        school_id=student.school_id,
        student_id=student_id,
        start_date=start,
        end_date=end,
        reason=reason[:500],
        status="approved" if approved_by else "pending",
        source=source,
        requested_by=requested_by[:64],
        decided_by=approved_by[:64],
        decided_at=now if approved_by else None,
        created_at=now,
    )
    session.add(leave)
    session.flush()
    return LeaveResult(leave)


def may_decide(session: Session, *, leave: Leave, decider_kind: str, decider_id: int) -> bool:
    """Only the student's teacher, or a school admin of the student's school, decides."""
    if decider_kind == "teacher":
        student = session.get(Student, leave.student_id)
        return student is not None and student.teacher_id == decider_id
    if decider_kind == "school_admin":
        admin = session.get(ConsoleUser, decider_id)
        return (
            admin is not None
            and admin.active
            and admin.role == "school"
            and admin.school_id == leave.school_id
        )
    return False


def decide_leave(
    session: Session,
    *,
    leave_id: int,
    approve: bool,
    decider_kind: str,
    decider_id: int,
    decided_by: str,
    now: datetime,
    refusal: str = "",
) -> LeaveResult:
    """Approve or reject a pending request (a rejection needs its reason)."""
    leave = session.get(Leave, leave_id)
    if leave is None:
        return LeaveResult(None, "not_found", {"number": f"L{leave_id}"})
    if not may_decide(session, leave=leave, decider_kind=decider_kind, decider_id=decider_id):
        return LeaveResult(None, "forbidden", {"number": leave.number})
    if leave.status != "pending":
        return LeaveResult(leave, "decided", _describe(leave))
    refusal = refusal.strip()
    if not approve and not refusal:
        return LeaveResult(leave, "no_reason", {"number": leave.number})
    leave.status = "approved" if approve else "rejected"
    leave.decided_by, leave.decided_at = decided_by[:64], now
    leave.refusal = "" if approve else refusal[:500]
    session.add(leave)
    session.flush()
    return LeaveResult(leave)


def pending_for_teacher(session: Session, *, teacher_id: int) -> list[tuple[Leave, Student]]:
    """The pending requests of a teacher's students, oldest first."""
    return [
        (leave, student)
        for leave, student in session.exec(
            select(Leave, Student)
            .join(Student, Student.id == Leave.student_id)
            .where(Student.teacher_id == teacher_id, Leave.status == "pending")
            .order_by(col(Leave.created_at), col(Leave.id))
        ).all()
    ]


def leaves_of_student(session: Session, *, student_id: int, limit: int = 50) -> list[Leave]:
    """A student's requests, latest dates first."""
    return list(
        session.exec(
            select(Leave)
            .where(Leave.student_id == student_id)
            .order_by(col(Leave.start_date).desc(), col(Leave.id).desc())
            .limit(limit)
        ).all()
    )


def _describe(leave: Leave) -> dict:
    return {
        "number": leave.number,
        "status": leave.status,
        "start": leave.start_date,
        "end": leave.end_date,
    }
