"""Check-ins waiting for a teacher (待核实, SPEC 11): list them, and accept one.

Accepting is the one writer of `verify = 'accepted'`: the student then counts as present that
day, so the school's roll-up gains the student unless another check-in already counted.
Every function takes a Core Connection or an ORM Session.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, exists, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Row

from models.people import Student
from models.records import CheckIn
from models.stats import bump_school_day

_CHECKIN = CheckIn.__table__
_STUDENT = Student.__table__
PENDING, ACCEPTED = "pending", "accepted"  # the values core.evidence names

_PENDING_OF_TEACHER = (
    sa_select(
        _CHECKIN.c.id,
        _CHECKIN.c.day,
        _CHECKIN.c.at,
        _CHECKIN.c.kind,
        _CHECKIN.c.evidence,
        _CHECKIN.c.flags,
        _CHECKIN.c.distance_m,
        _STUDENT.c.name,
        _STUDENT.c.student_no,
    )
    .join(_STUDENT, _STUDENT.c.id == _CHECKIN.c.student_id)
    .where(_STUDENT.c.teacher_id == bindparam("teacher_id"), _CHECKIN.c.verify == PENDING)
    .order_by(_CHECKIN.c.at, _CHECKIN.c.id)
)
_ONE = sa_select(
    _CHECKIN.c.id,
    _CHECKIN.c.school_id,
    _CHECKIN.c.student_id,
    _CHECKIN.c.day,
    _CHECKIN.c.verify,
    _STUDENT.c.teacher_id,
    _STUDENT.c.name,
).join(_STUDENT, _STUDENT.c.id == _CHECKIN.c.student_id)
_OTHER = _CHECKIN.alias("other")


def pending_of_teacher(executor, *, teacher_id: int) -> list[Row]:
    """The teacher's students' check-ins waiting to be verified, oldest first."""
    return list(executor.execute(_PENDING_OF_TEACHER, {"teacher_id": teacher_id}))


def checkin_for_review(executor, *, checkin_id: int) -> Row | None:
    """One check-in with its student's teacher and name (None: no such check-in)."""
    return executor.execute(_ONE.where(_CHECKIN.c.id == checkin_id)).first()


def accept_checkin(executor, *, checkin_id: int, now: datetime) -> bool:
    """Accept a check-in waiting to be verified; False when it was not waiting."""
    row = checkin_for_review(executor, checkin_id=checkin_id)
    if row is None or row.verify != PENDING:
        return False
    counted_before = executor.execute(
        sa_select(
            exists().where(
                and_(
                    _OTHER.c.student_id == row.student_id,
                    _OTHER.c.day == row.day,
                    _OTHER.c.verify != PENDING,
                )
            )
        )
    ).scalar()
    executor.execute(
        update(_CHECKIN)
        .where(_CHECKIN.c.id == checkin_id, _CHECKIN.c.verify == PENDING)
        .values(verify=ACCEPTED)
    )
    if not counted_before:
        bump_school_day(executor, school_id=row.school_id, day=row.day, students_checked_in=1)
    return True
