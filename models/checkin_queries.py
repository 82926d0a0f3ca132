"""Small keyword-only queries about placements, check-ins and a student's people."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from models.channel import ChannelAccount
from models.people import Guardianship, Student, Teacher
from models.placement import Placement
from models.records import CheckIn


def placements_of(session: Session, *, student_id: int) -> list[Placement]:
    return list(session.exec(select(Placement).where(Placement.student_id == student_id)).all())


def checkins_between(session: Session, *, student_id: int, start: date, end: date) -> list[CheckIn]:
    """A student's check-ins on days start..end (both included), oldest first."""
    return list(
        session.exec(
            select(CheckIn)
            .where(CheckIn.student_id == student_id, CheckIn.day >= start, CheckIn.day <= end)
            .order_by(col(CheckIn.at), col(CheckIn.id))
        ).all()
    )


def checkins_on(session: Session, *, student_id: int, day: date) -> list[CheckIn]:
    return checkins_between(session, student_id=student_id, start=day, end=day)


def children_of(session: Session, *, parent_id: int) -> list[Student]:
    return list(
        session.exec(
            select(Student)
            .join(Guardianship, col(Guardianship.student_id) == col(Student.id))
            .where(Guardianship.parent_id == parent_id)
            .order_by(col(Student.id))
        ).all()
    )


def students_of_teacher(session: Session, *, teacher_id: int) -> list[Student]:
    return list(
        session.exec(
            select(Student).where(Student.teacher_id == teacher_id).order_by(col(Student.id))
        ).all()
    )


def teacher_of(session: Session, *, student: Student) -> Teacher | None:
    return session.get(Teacher, student.teacher_id) if student.teacher_id else None


def account_for(session: Session, *, channel: str, external_id: str) -> ChannelAccount | None:
    """The binding row of a sender, active or not (one row per channel + external id)."""
    return session.exec(
        select(ChannelAccount).where(
            ChannelAccount.channel == channel, ChannelAccount.external_id == external_id
        )
    ).first()
