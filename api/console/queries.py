"""The scoped queries behind console lists and the API (both read through core.scope)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import case, exists, false, func, literal, or_, select, true
from sqlmodel import Session

from core.due import (
    bound_clause,
    due_clause,
    late_clause,
    leave_clause,
    present_clause,
    reachable_clause,
    scheduled_clause,
)
from core.scope import condition, write_condition
from models import (
    Alert,
    CheckIn,
    Company,
    ConsoleUser,
    Finding,
    Journal,
    Leave,
    Placement,
    School,
    SchoolClass,
    Student,
    Survey,
    Teacher,
    Ticket,
)
from models.tickets import OPEN_CASE

STUDENT_STATUSES = {
    "checked_in": "今日已签到",
    "missing": "今日未签到",
    "outside": "今日范围外",
    "leave": "今日请假",
    "unbound": "未绑定",
}
DAY_STATUSES = {
    "missing": "缺勤",
    "outside": "范围外",
    "late": "迟到",
    "present": "已签到",
    "leave": "请假",
    "unbound": "未绑定",
    "flagged": "可疑",
    "unverified": "待核实",
}
# What a student's day is, as lists and the API show it.
TODAY_STATES = {
    "present": "已签到",
    "missing": "未签到",
    "leave": "请假",
    "unbound": "未绑定",
    "off": "无需签到",
}
UNRESOLVED = "unresolved"  # a filter value: every status short of resolved


def like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def today_state(session: Session, day: date, settings):
    """SQL over students: present / missing / leave / unbound / off on `day` (core.due)."""
    dialect = _dialect(session)
    checked = exists().where(CheckIn.student_id == Student.id, CheckIn.day == day, present_clause())
    due = exists().where(Placement.student_id == Student.id, due_clause(day, settings, dialect))
    scheduled = exists().where(
        Placement.student_id == Student.id, scheduled_clause(day, settings, dialect)
    )
    return case(
        (checked, literal("present")),
        (due, literal("missing")),
        (scheduled & leave_clause(day, Student.id), literal("leave")),
        (scheduled & ~reachable_clause(Student.id), literal("unbound")),
        else_=literal("off"),
    )


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
    bound: str = "",
):
    """Students with school, class, teacher, binding and today's check-in state."""
    today_in = exists().where(
        CheckIn.student_id == Student.id, CheckIn.day == today, present_clause()
    )
    outside = exists().where(
        CheckIn.student_id == Student.id, CheckIn.day == today, CheckIn.within_fence.is_(False)
    )
    due = exists().where(
        Placement.student_id == Student.id, due_clause(today, settings, _dialect(session))
    )
    state = today_state(session, today, settings)
    is_bound = reachable_clause(Student.id)
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
            is_bound.label("bound"),
            state.label("today"),
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
    elif status == "leave":
        stmt = stmt.where(state == "leave")
    elif status == "unbound":
        stmt = stmt.where(~reachable_clause(Student.id))
    if bound in ("0", "1"):
        stmt = stmt.where(is_bound if bound == "1" else ~is_bound)
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
    """One row per placement working on `day` (core.due), with its check-ins and state.

    Rows on approved leave or not yet bound are shown as such and are not missing.
    """
    agg = (
        select(
            CheckIn.placement_id,
            func.min(CheckIn.at).label("first_at"),
            func.max(CheckIn.at).label("last_at"),
            func.count().label("n"),
            func.sum(case((CheckIn.within_fence.is_(False), 1), else_=0)).label("outside_n"),
            func.max(CheckIn.distance_m).label("max_distance"),
            func.sum(case((CheckIn.flags != "", 1), else_=0)).label("flagged_n"),
            func.sum(case((present_clause(), 1), else_=0)).label("present_n"),
        )
        .where(CheckIn.day == day, condition(user, CheckIn))
        .group_by(CheckIn.placement_id)
        .subquery()
    )
    working = condition(user, Placement) & scheduled_clause(day, settings, _dialect(session))
    late = late_clause(agg.c.first_at, day, settings)
    on_leave = leave_clause(day)
    bound = bound_clause(day, settings)
    reachable = reachable_clause()
    missing = agg.c.n.is_(None) & ~on_leave & bound
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
            func.coalesce(agg.c.flagged_n, 0).label("flagged_n"),
            func.coalesce(agg.c.present_n, 0).label("present_n"),
            case((late, true()), else_=false()).label("late"),
            case((on_leave, true()), else_=false()).label("on_leave"),
            case((bound, true()), else_=false()).label("bound"),
            case((reachable, true()), else_=false()).label("reachable"),
        )
        .select_from(Placement)
        .join(Student, Student.id == Placement.student_id)
        .join(School, School.id == Placement.school_id)
        .join(Company, Company.id == Placement.company_id)
        .outerjoin(SchoolClass, SchoolClass.id == Student.class_id)
        .outerjoin(agg, agg.c.placement_id == Placement.id)
        .where(working)
    )
    if school_id:
        stmt = stmt.where(Placement.school_id == school_id)
    if class_name.strip():
        stmt = stmt.where(SchoolClass.name == class_name.strip())
    if status == "missing":
        stmt = stmt.where(missing)
    elif status == "leave":
        stmt = stmt.where(agg.c.n.is_(None), on_leave)
    elif status == "unbound":
        stmt = stmt.where(agg.c.n.is_(None), ~on_leave, ~reachable)
    elif status == "outside":
        stmt = stmt.where(agg.c.outside_n > 0)
    elif status == "late":
        stmt = stmt.where(late)
    elif status == "present":
        stmt = stmt.where(agg.c.present_n > 0)
    elif status == "flagged":
        stmt = stmt.where(agg.c.flagged_n > 0)
    elif status == "unverified":
        stmt = stmt.where(agg.c.n > 0, agg.c.present_n == 0)
    return stmt


def checkins(
    user: ConsoleUser,
    *,
    day: date | None = None,
    school_id: int | None = None,
    flagged: bool = False,
):
    """Raw check-in records (the API's list); `flagged`: only those with flags."""
    stmt = (
        select(CheckIn, Student.student_no, Student.name.label("student_name"))
        .join(Student, Student.id == CheckIn.student_id)
        .where(condition(user, CheckIn))
    )
    if day:
        stmt = stmt.where(CheckIn.day == day)
    if school_id:
        stmt = stmt.where(CheckIn.school_id == school_id)
    if flagged:
        stmt = stmt.where(CheckIn.flags != "")
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


def surveys(
    user: ConsoleUser,
    *,
    status: str = "",
    respondent: str = "",
    round_: str = "",
    school_id: int | None = None,
):
    """Satisfaction surveys with the student's number and name."""
    stmt = _records(user, Survey, status=status, school_id=school_id)
    if respondent:
        stmt = stmt.where(Survey.respondent_kind == respondent)
    if round_:
        stmt = stmt.where(Survey.round == round_)
    return stmt


def findings(
    user: ConsoleUser,
    *,
    rule: str = "",
    status: str = "",
    severity: str = "",
    school_id: int | None = None,
    school_name: str = "",
    student_id: int | None = None,
):
    """Compliance findings with the student's number and name, the school and the company."""
    stmt = (
        select(
            Finding,
            Student.student_no,
            Student.name.label("student_name"),
            School.name.label("school"),
            Company.name.label("company"),
        )
        .join(Student, Student.id == Finding.student_id)
        .join(School, School.id == Finding.school_id)
        .join(Company, Company.id == Finding.company_id)
        .where(condition(user, Finding))
    )
    if rule:
        stmt = stmt.where(Finding.rule == rule)
    if status:
        stmt = stmt.where(Finding.status == status)
    if severity:
        stmt = stmt.where(Finding.severity == severity)
    if school_id:
        stmt = stmt.where(Finding.school_id == school_id)
    if school_name:
        stmt = stmt.where(School.name == school_name)
    if student_id:
        stmt = stmt.where(Finding.student_id == student_id)
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
    if status == UNRESOLVED:
        stmt = stmt.where(model.status.in_(OPEN_CASE))
    elif status:
        stmt = stmt.where(model.status == status)
    if school_id:
        stmt = stmt.where(model.school_id == school_id)
    return stmt


def leaves(
    user: ConsoleUser,
    *,
    status: str = "",
    q: str = "",
    school_id: int | None = None,
    class_name: str = "",
):
    """Leave requests the user may see, with the student's number, name, class and school."""
    stmt = (
        _records(user, Leave, status=status, school_id=school_id)
        .add_columns(SchoolClass.name.label("class_name"))
        .outerjoin(SchoolClass, SchoolClass.id == Student.class_id)
    )
    if q.strip():
        pattern = like(q.strip())
        stmt = stmt.where(
            or_(
                Student.name.like(pattern, escape="\\"),
                Student.student_no.like(pattern, escape="\\"),
            )
        )
    if class_name.strip():
        stmt = stmt.where(SchoolClass.name == class_name.strip())
    return stmt


PENDING_FIRST = case((Leave.status == "pending", 0), else_=1)


def visible(session: Session, user: ConsoleUser, model, row_id: int):
    """One row by id if the user may see it, else None (the caller answers 404)."""
    return session.execute(
        select(model).where(model.id == row_id, condition(user, model))
    ).scalar_one_or_none()


def writable(session: Session, user: ConsoleUser, model, row_id: int) -> bool:
    """Whether the user may change this row (core.scope.write_condition)."""
    return (
        session.execute(
            select(model.id).where(model.id == row_id, write_condition(user, model))
        ).first()
        is not None
    )


__all__ = [
    "Alert",
    "Ticket",
    "cases",
    "checkins",
    "day_sheet",
    "journals",
    "leaves",
    "students",
    "visible",
    "writable",
]
