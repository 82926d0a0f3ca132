"""What a school's own roster may not touch: other schools' students, teachers, parents, companies.

A school admin's roster is matched against stored rows by student number, phone and company
name, which are unique across the province; without these checks a school A row carrying a
school B teacher's phone would move that teacher to A and rename them, and one with a B parent's
phone would relink that parent (and their chat binding) to an A student.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from models.people import Company, Guardianship, Parent, Student, Teacher
from models.placement import Placement

CHUNK = 500


def _chunks(keys: Iterable[str]) -> Iterable[list[str]]:
    keys = sorted(set(keys))
    for i in range(0, len(keys), CHUNK):
        yield keys[i : i + CHUNK]


def claimed_elsewhere(
    conn,
    *,
    school_id: int,
    student_nos: Iterable[str],
    teacher_phones: Iterable[str],
    parent_phones: Iterable[str],
) -> dict[str, set[str]]:
    """The file's keys that name another school's rows: {"student": numbers, "teacher": phones,
    "parent": phones (a parent of any other school's student)}."""
    found: dict[str, set[str]] = {"student": set(), "teacher": set(), "parent": set()}
    for part in _chunks(student_nos):
        found["student"].update(
            conn.execute(
                select(Student.student_no).where(
                    Student.student_no.in_(part), Student.school_id != school_id
                )
            ).scalars()
        )
    for part in _chunks(teacher_phones):
        found["teacher"].update(
            conn.execute(
                select(Teacher.phone).where(Teacher.phone.in_(part), Teacher.school_id != school_id)
            ).scalars()
        )
    for part in _chunks(parent_phones):
        found["parent"].update(
            conn.execute(
                select(Parent.phone)
                .join(Guardianship, Guardianship.parent_id == Parent.id)
                .join(Student, Student.id == Guardianship.student_id)
                .where(Parent.phone.in_(part), Student.school_id != school_id)
                .distinct()
            ).scalars()
        )
    return found


def companies_elsewhere(conn, *, school_id: int, names: Iterable[str]) -> set[str]:
    """Companies (by name) that other schools' placements use: a school's roster may place its
    students there, but not rewrite their industry or city."""
    shared: set[str] = set()
    for part in _chunks(names):
        shared.update(
            conn.execute(
                select(Company.name)
                .join(Placement, Placement.company_id == Company.id)
                .where(Company.name.in_(part), Placement.school_id != school_id)
                .distinct()
            ).scalars()
        )
    return shared
