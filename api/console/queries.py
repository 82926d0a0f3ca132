"""The scoped queries behind console lists and the API (both read through core.scope)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, exists, false, func, literal, or_, select, true
from sqlmodel import Session

from core.calendar import holiday_name, is_makeup_workday
from core.scope import condition
from models import (
    Alert,
    CheckIn,
    Company,
    ConsoleUser,
    Journal,
    Placement,
    School,
    SchoolClass,
    Student,
    Teacher,
    Ticket,
)
from models.types import AwareDateTime

STUDENT_STATUSES = {"checked_in": "今日已签到", "missing": "今日未签到", "outside": "今日范围外"}
DAY_STATUSES = {"missing": "缺勤", "outside": "范围外", "late": "迟到", "present": "已签到"}


def like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _due_on(day: date, settings):
    """SQL condition: a placement expects a check-in on `day` (holidays and 调休 honoured)."""
    active = (Placement.start_date <= day) & (Placement.end_date >= day)
    if holiday_name(day, settings) is not None:
        return false()
    if is_makeup_workday(day, settings):
        return active
    bit = 1 << (day.isoweekday() - 1)
    return active & (Placement.workdays_mask.op("&")(bit) != 0)


def students(
    session: Session,
    user: ConsoleUser,
    *,
    today: date,
    settings,
    q: str = "",
    school_id: int | None = None,
    class_name: str = "",
    status: str = "",
):
    """Students with school, class, teacher and today's check-in state."""
    today_in = exists().where(CheckIn.student_id == Student.id, CheckIn.day == today)
    outside = exists().where(
        CheckIn.student_id == Student.id, CheckIn.day == today, CheckIn.within_fence.is_(False)
    )
    due = exists().where(Placement.student_id == Student.id, _due_on(today, settings))
    stmt = (
        select(
            Student.id,
            Student.student_no,
            Student.name,
            Student.gender,
            School.id.label("school_id"),
            School.name.label("school"),
            SchoolClass.name.label("class_name"),
            Teacher.name.label("teacher"),
            today_in.label("checked_in"),
            outside.label("outside"),
        )
        .join(School, School.id == Student.school_id)
        .outerjoin(SchoolClass, SchoolClass.id == Student.class_id)
        .outerjoin(Teacher, Teacher.id == Student.teacher_id)
        .where(condition(user, Student))
    )
    if q.strip():
        pattern = like(q.strip())
        stmt = stmt.where(
            or_(
                Student.name.like(pattern, escape="\\"),
                Student.student_no.like(pattern, escape="\\"),
            )
        )
    if school_id:
        stmt = stmt.where(Student.school_id == school_id)
    if class_name.strip():
        stmt = stmt.where(SchoolClass.name == class_name.strip())
    if status == "checked_in":
        stmt = stmt.where(today_in)
    elif status == "missing":
        stmt = stmt.where(due, ~today_in)
    elif status == "outside":
        stmt = stmt.where(outside)
    return stmt


def day_sheet(
    session: Session,
    user: ConsoleUser,
    *,
    day: date,
    settings,
    status: str = "",
    school_id: int | None = None,
    class_name: str = "",
):
    """One row per placement due on `day`: first and last check-in, outside count, late flag."""
    agg = (
        select(
            CheckIn.placement_id,
            func.min(CheckIn.at).label("first_at"),
            func.max(CheckIn.at).label("last_at"),
            func.count().label("n"),
            func.sum(case((CheckIn.within_fence.is_(False), 1), else_=0)).label("outside_n"),
            func.max(CheckIn.distance_m).label("max_distance"),
        )
        .where(CheckIn.day == day, condition(user, CheckIn))
        .group_by(CheckIn.placement_id)
        .subquery()
    )
    due = condition(user, Placement) & _due_on(day, settings)
    # Late = first check-in after shift start (+ grace), local time; shift starts are few.
    grace = timedelta(minutes=settings.checkin.late_after_min)
    starts = session.execute(select(Placement.shift_start).where(due).distinct()).scalars().all()
    threshold = (
        case(
            *[
                (
                    Placement.shift_start == s,
                    literal(datetime.combine(day, s, settings.tz) + grace, AwareDateTime()),
                )
                for s in starts
            ],
            else_=None,
        )
        if starts
        else literal(None, AwareDateTime())
    )
    late = and_(agg.c.first_at.is_not(None), agg.c.first_at > threshold)
    stmt = (
        select(
            Student.id,
            Student.student_no,
            Student.name,
            School.name.label("school"),
            SchoolClass.name.label("class_name"),
            Company.name.label("company"),
            Placement.shift_start,
            agg.c.first_at,
            agg.c.last_at,
            func.coalesce(agg.c.n, 0).label("n"),
            func.coalesce(agg.c.outside_n, 0).label("outside_n"),
            agg.c.max_distance,
            case((late, true()), else_=false()).label("late"),
        )
        .select_from(Placement)
        .join(Student, Student.id == Placement.student_id)
        .join(School, School.id == Placement.school_id)
        .join(Company, Company.id == Placement.company_id)
        .outerjoin(SchoolClass, SchoolClass.id == Student.class_id)
        .outerjoin(agg, agg.c.placement_id == Placement.id)
        .where(due)
    )
    if school_id:
        stmt = stmt.where(Placement.school_id == school_id)
    if class_name.strip():
        stmt = stmt.where(SchoolClass.name == class_name.strip())
    if status == "missing":
        stmt = stmt.where(agg.c.n.is_(None))
    elif status == "outside":
        stmt = stmt.where(agg.c.outside_n > 0)
    elif status == "late":
        stmt = stmt.where(late)
    elif status == "present":
        stmt = stmt.where(agg.c.n.is_not(None))
    return stmt


def checkins(user: ConsoleUser, *, day: date | None = None, school_id: int | None = None):
    """Raw check-in records (the API's list)."""
    stmt = (
        select(CheckIn, Student.student_no, Student.name.label("student_name"))
        .join(Student, Student.id == CheckIn.student_id)
        .where(condition(user, CheckIn))
    )
    if day:
        stmt = stmt.where(CheckIn.day == day)
    if school_id:
        stmt = stmt.where(CheckIn.school_id == school_id)
    return stmt


def journals(
    user: ConsoleUser,
    *,
    status: str = "",
    kind: str = "",
    q: str = "",
    school_id: int | None = None,
):
    stmt = _records(user, Journal, status=status, school_id=school_id)
    if kind:
        stmt = stmt.where(Journal.kind == kind)
    if q.strip():
        pattern = like(q.strip())
        stmt = stmt.where(
            or_(
                Student.name.like(pattern, escape="\\"),
                Student.student_no.like(pattern, escape="\\"),
            )
        )
    return stmt


def cases(
    user: ConsoleUser, model, *, status: str = "", category: str = "", school_id: int | None = None
):
    """Tickets or alerts with the student's number and name."""
    stmt = _records(user, model, status=status, school_id=school_id)
    if category:
        stmt = stmt.where((model.category if model is Ticket else model.kind) == category)
    return stmt


def _records(user: ConsoleUser, model, *, status: str, school_id: int | None):
    """Journals, tickets or alerts the user may see, with the student's number, name and school."""
    stmt = (
        select(
            model,
            Student.student_no,
            Student.name.label("student_name"),
            School.name.label("school"),
        )
        .join(Student, Student.id == model.student_id)
        .join(School, School.id == model.school_id)
        .where(condition(user, model))
    )
    if status:
        stmt = stmt.where(model.status == status)
    if school_id:
        stmt = stmt.where(model.school_id == school_id)
    return stmt


def visible(session: Session, user: ConsoleUser, model, row_id: int):
    """One row by id if the user may see it, else None (the caller answers 404)."""
    return session.execute(
        select(model).where(model.id == row_id, condition(user, model))
    ).scalar_one_or_none()


__all__ = ["Alert", "Ticket", "cases", "checkins", "day_sheet", "journals", "students", "visible"]
