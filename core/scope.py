"""The one scoping rule for console and API: who may see which rows."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, select, true

from models import (
    Alert,
    CheckIn,
    Company,
    ConsoleUser,
    Journal,
    MakeupRequest,
    Placement,
    School,
    SchoolClass,
    SchoolDay,
    Student,
    Teacher,
    Ticket,
)

# Tables that carry both school_id and student_id: scoped by school, and for a teacher by student.
_STUDENT_RECORDS = (CheckIn, Journal, Ticket, Alert, Placement, MakeupRequest)


class ScopeError(LookupError):
    """A model the scoping rule does not know; refusing beats showing too much."""


def _own_students(user: ConsoleUser):
    return select(Student.id).where(Student.teacher_id == user.teacher_id)


def condition(user: ConsoleUser, model) -> ColumnElement[bool]:
    """The WHERE condition limiting `model` rows to what `user` may see."""
    if not user.active or user.role not in ("province", "school", "teacher"):
        return false()
    if user.role == "province":
        return true()
    if user.school_id is None or (user.role == "teacher" and user.teacher_id is None):
        return false()
    teacher = user.role == "teacher"
    if model is Student:
        cond = Student.school_id == user.school_id
        return cond & (Student.teacher_id == user.teacher_id) if teacher else cond
    if model in _STUDENT_RECORDS:
        cond = model.school_id == user.school_id  # keeps the (school_id, ...) indexes useful
        return cond & model.student_id.in_(_own_students(user)) if teacher else cond
    if model is School:
        return School.id == user.school_id
    if model is SchoolDay:
        return SchoolDay.school_id == user.school_id
    if model is Teacher:
        cond = Teacher.school_id == user.school_id
        return cond & (Teacher.id == user.teacher_id) if teacher else cond
    if model is SchoolClass:
        cond = SchoolClass.school_id == user.school_id
        if teacher:
            classes = select(Student.class_id).where(Student.teacher_id == user.teacher_id)
            cond = cond & SchoolClass.id.in_(classes)
        return cond
    if model is Company:
        placements = select(Placement.company_id).where(condition(user, Placement))
        return Company.id.in_(placements)
    raise ScopeError(f"no scoping rule for {getattr(model, '__name__', model)!r}")


def scoped(query, user: ConsoleUser, model):
    """Add the user's scope for `model` to a select()."""
    return query.where(condition(user, model))


def can_see_coordinates(user: ConsoleUser) -> bool:
    """Raw coordinates are personal data: only the student's teacher and school admin see them."""
    return user.active and user.role in ("school", "teacher")


def sees_whole_school(user: ConsoleUser) -> bool:
    """Province and school admins read school roll-ups; a teacher's figures come from own rows."""
    return user.role in ("province", "school")
