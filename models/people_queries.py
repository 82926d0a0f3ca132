"""Small keyword-only reads about people: names, a parent's children, a teacher's students.

Each statement is built once with bind parameters; every function takes a Core Connection or
an ORM Session and returns plain rows.
"""

from __future__ import annotations

from sqlalchemy import Integer, String, bindparam, case, func
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Row

from models.batch_sql import listed
from models.channel import ChannelAccount, InviteCode
from models.console import ConsoleUser
from models.people import (
    Company,
    Guardianship,
    Mentor,
    Parent,
    School,
    SchoolClass,
    Student,
    Teacher,
)
from models.prepared import Prepared, Read
from models.records import Journal
from models.tickets import Ticket

_STUDENT = Student.__table__
_TEACHER = Teacher.__table__
_PARENT = Parent.__table__
_MENTOR = Mentor.__table__
_SCHOOL = School.__table__
_COMPANY = Company.__table__
_CLASS = SchoolClass.__table__
_GUARD = Guardianship.__table__
_JOURNAL = Journal.__table__
_TICKET = Ticket.__table__
_CODE = InviteCode.__table__

_STUDENT_BY_ID = sa_select(_STUDENT).where(_STUDENT.c.id == bindparam("id"))
_TEACHER_BY_ID = sa_select(_TEACHER).where(_TEACHER.c.id == bindparam("id"))
_PARENT_BY_ID = sa_select(_PARENT).where(_PARENT.c.id == bindparam("id"))
_MENTOR_BY_ID = sa_select(_MENTOR).where(_MENTOR.c.id == bindparam("id"))
_SCHOOL_NAME = sa_select(_SCHOOL.c.name).where(_SCHOOL.c.id == bindparam("id"))
_COMPANY_NAME = sa_select(_COMPANY.c.name).where(_COMPANY.c.id == bindparam("id"))
_CHILDREN = (
    sa_select(_STUDENT)
    .join(_GUARD, _GUARD.c.student_id == _STUDENT.c.id)
    .where(_GUARD.c.parent_id == bindparam("parent_id"))
    .order_by(_STUDENT.c.id)
)
_STUDENTS_OF_TEACHER = (
    sa_select(_STUDENT)
    .where(_STUDENT.c.teacher_id == bindparam("teacher_id"))
    .order_by(_STUDENT.c.id)
)
_FIND_EXACT = (
    sa_select(_STUDENT)
    .where(
        _STUDENT.c.teacher_id == bindparam("teacher_id"),
        (_STUDENT.c.name == bindparam("query")) | (_STUDENT.c.student_no == bindparam("query")),
    )
    .order_by(_STUDENT.c.student_no)
)
_FIND_LIKE = (
    sa_select(_STUDENT)
    .where(
        _STUDENT.c.teacher_id == bindparam("teacher_id"),
        _STUDENT.c.name.like(bindparam("pattern"), escape="/"),
    )
    .order_by(_STUDENT.c.student_no)
    .limit(10)
)
_COUNT_OF_TEACHER = sa_select(func.count()).where(_STUDENT.c.teacher_id == bindparam("teacher_id"))
_PARENTS_OF = (
    sa_select(_GUARD.c.parent_id)
    .where(_GUARD.c.student_id == bindparam("student_id"))
    .order_by(_GUARD.c.parent_id)
)

_ACCOUNT = ChannelAccount.__table__
_LANGUAGES = sa_select(_ACCOUNT.c.language).where(
    _ACCOUNT.c.person_kind == bindparam("person_kind"),
    _ACCOUNT.c.person_id == bindparam("person_id"),
    _ACCOUNT.c.active.is_(True),
)


def _latest_journal(column):
    return (
        sa_select(column)
        .where(_JOURNAL.c.student_id == _STUDENT.c.id)
        .order_by(_JOURNAL.c.submitted_at.desc(), _JOURNAL.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


# What a student's 状态 shows (and a binding's receipt), for many students in one statement.
def _summaries(member):
    return sa_select(
        _STUDENT.c.id,
        _STUDENT.c.name,
        _STUDENT.c.student_no,
        sa_select(_SCHOOL.c.name)
        .where(_SCHOOL.c.id == _STUDENT.c.school_id)
        .scalar_subquery()
        .label("school"),
        sa_select(func.count())
        .where(_TICKET.c.student_id == _STUDENT.c.id, _TICKET.c.status != "resolved")
        .scalar_subquery()
        .label("open_tickets"),
        _latest_journal(_JOURNAL.c.kind).label("journal_kind"),
        _latest_journal(_JOURNAL.c.period_start).label("journal_period_start"),
        _latest_journal(_JOURNAL.c.status).label("journal_status"),
        _latest_journal(_JOURNAL.c.score).label("journal_score"),
    ).where(member(_STUDENT.c.id, "student_ids", Integer))


_SUMMARIES = Prepared.per_dialect(_summaries)


def _student_lines(member):
    """The name, number and school of the students that invite codes are for (a binding's
    receipt, read with the binding), by code. The role is tested in the join, so that the
    planner finds the codes by their unique index (SQLite, without statistics, otherwise
    read every student code through the (person_kind, person_id) index)."""
    student_id = case((_CODE.c.person_kind == "student", _CODE.c.person_id))
    school = sa_select(_SCHOOL.c.name).where(_SCHOOL.c.id == _STUDENT.c.school_id)
    return (
        sa_select(
            _CODE.c.code,
            _STUDENT.c.name,
            _STUDENT.c.student_no,
            school.scalar_subquery().label("school"),
        )
        .join(_STUDENT, _STUDENT.c.id == student_id)
        .where(member(_CODE.c.code, "codes", String))
    )


_STUDENT_LINES = Prepared.per_dialect(_student_lines)

_BY_KIND = {"student": _STUDENT_BY_ID, "teacher": _TEACHER_BY_ID, "parent": _PARENT_BY_ID}
_BY_KIND["mentor"] = _MENTOR_BY_ID
_ADMIN = ConsoleUser.__table__
# A school admin bound in chat is a console account: its username is the name shown.
_BY_KIND["school_admin"] = sa_select(_ADMIN.c.id, _ADMIN.c.username.label("name")).where(
    _ADMIN.c.id == bindparam("id")
)


def _with_names(member):
    """Students with their class's and teacher's names ('' without one)."""
    class_name = sa_select(_CLASS.c.name).where(_CLASS.c.id == _STUDENT.c.class_id)
    teacher_name = sa_select(_TEACHER.c.name).where(_TEACHER.c.id == _STUDENT.c.teacher_id)
    return sa_select(
        _STUDENT,
        func.coalesce(class_name.scalar_subquery(), "").label("class_name"),
        func.coalesce(teacher_name.scalar_subquery(), "").label("teacher_name"),
    ).where(member(_STUDENT.c.id, "student_ids", Integer))


_WITH_NAMES = Prepared.per_dialect(_with_names)


def _by_id(rows) -> dict[int, Row]:
    return {row.id: row for row in rows}


def _students_read(prepared: Prepared, executor, student_ids) -> Read:
    """A read of one row per student id, shaped by id."""
    params = {"student_ids": listed(executor, sorted(set(student_ids)))}
    return Read(prepared, params, _by_id)


def students_with_names_read(executor, *, student_ids) -> Read:
    """Students by id, each row with `class_name` and `teacher_name` besides its columns."""
    return _students_read(_WITH_NAMES, executor, student_ids)


def students_with_names(executor, *, student_ids) -> dict[int, Row]:
    return students_with_names_read(executor, student_ids=student_ids).run(executor)


def student_summaries_read(executor, *, student_ids) -> Read:
    """Students' names and numbers, schools, open tickets and last journals (journal_kind,
    journal_period_start, journal_status, journal_score; None without one), by id."""
    return _students_read(_SUMMARIES, executor, student_ids)


def student_lines_of_codes_read(executor, *, codes) -> Read:
    """The students that invite `codes` are for (name, student_no, school), by code; codes of
    other roles have none."""
    params = {"codes": listed(executor, sorted(set(codes)))}
    return Read(_STUDENT_LINES, params, lambda rows: {row.code: row for row in rows})


def student_summaries(executor, *, student_ids) -> dict[int, Row]:
    return student_summaries_read(executor, student_ids=student_ids).run(executor)


def student(executor, *, student_id: int) -> Row | None:
    return executor.execute(_STUDENT_BY_ID, {"id": student_id}).first()


def person(executor, *, kind: str, person_id: int) -> Row | None:
    """The student, teacher, parent, mentor or school admin a binding points to (or None)."""
    query = _BY_KIND.get(kind)
    return executor.execute(query, {"id": person_id}).first() if query is not None else None


def account_languages(executor, *, person_kind: str, person_id: int) -> list[str]:
    """The languages of a person's active chat accounts."""
    params = {"person_kind": person_kind, "person_id": person_id}
    return list(executor.execute(_LANGUAGES, params).scalars())


def school_name(executor, *, school_id: int | None) -> str:
    if school_id is None:
        return ""
    return executor.execute(_SCHOOL_NAME, {"id": school_id}).scalar() or ""


def company_name(executor, *, company_id: int | None) -> str:
    if company_id is None:
        return ""
    return executor.execute(_COMPANY_NAME, {"id": company_id}).scalar() or ""


def children_of(executor, *, parent_id: int) -> list[Row]:
    return list(executor.execute(_CHILDREN, {"parent_id": parent_id}))


def students_of_teacher(executor, *, teacher_id: int) -> list[Row]:
    return list(executor.execute(_STUDENTS_OF_TEACHER, {"teacher_id": teacher_id}))


def count_students_of_teacher(executor, *, teacher_id: int) -> int:
    return int(executor.execute(_COUNT_OF_TEACHER, {"teacher_id": teacher_id}).scalar() or 0)


def find_students_of_teacher(executor, *, teacher_id: int, query: str) -> list[Row]:
    """A teacher's students by exact name or student number, else names containing `query`."""
    exact = list(executor.execute(_FIND_EXACT, {"teacher_id": teacher_id, "query": query}))
    if exact:
        return exact
    escaped = query.replace("/", "//").replace("%", "/%").replace("_", "/_")
    params = {"teacher_id": teacher_id, "pattern": f"%{escaped}%"}
    return list(executor.execute(_FIND_LIKE, params))


def parent_ids_of(executor, *, student_id: int) -> list[int]:
    return list(executor.execute(_PARENTS_OF, {"student_id": student_id}).scalars())
