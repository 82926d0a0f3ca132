"""Scheduler test helpers: bound students, check-ins, a local clock and outbox readers."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from factories import bind, make_student
from sqlmodel import Session, select

from models import CheckIn, OutboxMessage, Placement

TZ = ZoneInfo("Asia/Shanghai")


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ)


def add_student(session: Session, no: str, *, name: str = "张三", **placement) -> int:
    """A student bound in chat (external id = student_no), with teacher and parent bound too."""
    student = make_student(session, student_no=no, name=name, **placement)
    bind(session, person_kind="student", person_id=student.id, external_id=no)
    return student.id


def bind_teacher_and_parent(session: Session, student_id: int) -> None:
    from models import Guardianship, Student

    student = session.get(Student, student_id)
    bind(session, person_kind="teacher", person_id=student.teacher_id, external_id="teacher")
    parent_id = session.exec(
        select(Guardianship.parent_id).where(Guardianship.student_id == student_id)
    ).one()
    bind(session, person_kind="parent", person_id=parent_id, external_id=f"parent-{student_id}")
    session.commit()


def check_in(session: Session, student_id: int, day: date, hh: int = 8, mm: int = 55) -> None:
    placement = session.exec(select(Placement).where(Placement.student_id == student_id)).first()
    session.add(
        CheckIn(
            school_id=placement.school_id,
            student_id=student_id,
            placement_id=placement.id,
            day=day,
            at=at(day, hh, mm),
            kind="start",
            raw_lat=placement.norm_lat,
            raw_lng=placement.norm_lng,
            datum="gcj02",
            norm_lat=placement.norm_lat,
            norm_lng=placement.norm_lng,
            distance_m=0.0,
            within_fence=True,
        )
    )
    session.commit()


def rows(engine, kind: str | None = None, **where) -> list[OutboxMessage]:
    with Session(engine) as session:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            stmt = stmt.where(OutboxMessage.kind == kind)
        for field, value in where.items():
            stmt = stmt.where(getattr(OutboxMessage, field) == value)
        return list(session.exec(stmt))
