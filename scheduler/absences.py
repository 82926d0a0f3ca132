"""Who is still missing at digest time, and for how many workdays in a row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import exists, func, select
from sqlmodel import Session

from core.settings import Settings
from models import CheckIn, Placement, SchoolClass, Student
from scheduler.days import Window, WorkdayCounter, active_on, workday_clause

# Streaks are counted this far back; a longer silence is reported as this many workdays or more.
LOOKBACK_DAYS = 62


@dataclass(frozen=True)
class Absentee:
    student_id: int
    name: str
    class_name: str
    school_id: int
    teacher_id: int | None
    day: date
    shift_start: time
    last_checkin: date | None  # the last day with a check-in before `day`
    streak: int  # consecutive workdays without a check-in, `day` included


def find_absentees(session: Session, settings: Settings, window: Window) -> list[Absentee]:
    """Students on a working placement in `window` with no check-in that day (one query)."""
    day = window.day
    last_day = (
        select(func.max(CheckIn.day))
        .where(CheckIn.student_id == Placement.student_id, CheckIn.day < day)
        .scalar_subquery()
    )
    stmt = (
        select(
            Placement.student_id,
            Student.name,
            SchoolClass.name,
            Placement.school_id,
            Student.teacher_id,
            Placement.shift_start,
            Placement.workdays_mask,
            Placement.start_date,
            last_day,
        )
        .join(Student, Student.id == Placement.student_id)
        .outerjoin(SchoolClass, SchoolClass.id == Student.class_id)
        .where(
            active_on(day),
            workday_clause(day, settings),
            Placement.shift_start >= window.lo,
            Placement.shift_start <= window.hi,
            ~exists().where(CheckIn.student_id == Placement.student_id, CheckIn.day == day),
        )
        .order_by(Placement.student_id, Placement.start_date.desc())
    )
    counter = WorkdayCounter(settings, day - timedelta(days=LOOKBACK_DAYS), day)
    found: dict[int, Absentee] = {}
    for sid, name, cls, school_id, teacher_id, shift, mask, start, last in session.execute(stmt):
        if sid in found:
            continue  # overlapping placements: the latest one counts
        since = max(start, last + timedelta(days=1)) if last else start
        found[sid] = Absentee(
            student_id=sid,
            name=name,
            class_name=cls or "",
            school_id=school_id,
            teacher_id=teacher_id,
            day=day,
            shift_start=shift,
            last_checkin=last,
            streak=counter.count(mask, since, day),
        )
    return list(found.values())
