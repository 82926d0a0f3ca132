"""The one scoping rule for console, API and chat: who may see which rows."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, select, true

from models import (
    Alert,
    CheckIn,
    Company,
    ConsoleUser,
    Finding,
    Journal,
    Leave,
    MakeupRequest,
    Placement,
    School,
    SchoolClass,
    SchoolDay,
    Student,
    Survey,
    Teacher,
    Ticket,
)

# Tables that carry both school_id and student_id: scoped by school, and for a teacher by student.
_STUDENT_RECORDS = (
    CheckIn, Journal, Ticket, Alert, Placement, MakeupRequest, Finding, Survey, Leave,
)  # fmt: skip


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


def write_condition(user: ConsoleUser, model) -> ColumnElement[bool]:
    """The WHERE condition limiting `model` rows to what `user` may change (grade, move a case,
    issue invite codes): a teacher their own students' records, a school admin their school's.
    A province admin reads every school and changes none of them: reading is not writing."""
    if not changes_anything(user):
        return false()
    return condition(user, model)


def manageable_users(actor: ConsoleUser) -> ColumnElement[bool]:
    """Console users `actor` may disable, reset and revoke tokens of: a province admin every
    one, a school admin their school's school admins and teachers; never themselves."""
    if not actor.active or actor.role not in ("province", "school"):
        return false()
    others = ConsoleUser.id != actor.id
    if actor.role == "province":
        return others
    return (
        others
        & (ConsoleUser.school_id == actor.school_id)
        & ConsoleUser.role.in_(("school", "teacher"))
    )


def changes_anything(user: ConsoleUser) -> bool:
    """Whether the user's role changes any record at all (a province admin only reads)."""
    return user.active and user.role in ("school", "teacher")


def scoped(query, user: ConsoleUser, model):
    """Add the user's scope for `model` to a select()."""
    return query.where(condition(user, model))


def can_see_coordinates(user: ConsoleUser) -> bool:
    """Raw coordinates are personal data: only the student's teacher and school admin see them."""
    return user.active and user.role in ("school", "teacher")


def can_decide_finding(user: ConsoleUser, finding: Finding, teacher_id: int | None) -> bool:
    """Waive or resolve a compliance finding: the school's admin or the student's teacher only
    (province admins read every school but decide for none)."""
    if not user.active or user.school_id != finding.school_id:
        return False
    if user.role == "school":
        return True
    return user.role == "teacher" and user.teacher_id is not None and user.teacher_id == teacher_id


def sees_whole_school(user: ConsoleUser) -> bool:
    """Province and school admins read school roll-ups; a teacher's figures come from own rows."""
    return user.role in ("province", "school")


# People bound in chat who oversee students (today's check-ins, journals to grade).
OVERSEERS = ("teacher", "mentor")


# Who oversees a student in chat: the student's own teacher; the mentor a placement names.
# (the overseer's column, the student id beside it)
_OVERSEEN_BY = {
    "teacher": (Student.teacher_id, Student.id),
    "mentor": (Placement.mentor_id, Placement.student_id),
}


def chat_students(kind: str, person_id: int, school_id: int | None = None) -> ColumnElement[bool]:
    """The students a person bound in chat oversees: a teacher their own students, a company
    mentor the interns whose placement names them, a school admin the school's (`school_id`,
    the binding's); nobody else's."""
    if kind in _OVERSEEN_BY:
        overseer, student_id = _OVERSEEN_BY[kind]
        if student_id is Student.id:
            return overseer == person_id
        return Student.id.in_(select(student_id).where(overseer == person_id))
    if kind == "school_admin" and school_id is not None:
        return Student.school_id == school_id
    return false()


def students_overseen_by_any(kind: str, person_ids):
    """chat_students of many teachers, or of many mentors, at once: rows of (`overseer_id`,
    the student's columns), one per overseer and student."""
    overseer, student_id = _OVERSEEN_BY[kind]
    query = select(overseer.label("overseer_id"), *Student.__table__.c)
    if student_id is not Student.id:
        query = query.join(student_id.class_, student_id == Student.id).distinct()
    return query.where(overseer.in_(person_ids))
