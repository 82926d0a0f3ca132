"""Small keyword-only reads and writes of journals (a Connection or a Session)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, func, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Row

from models.people import Student
from models.records import Journal

_JOURNAL = Journal.__table__

_LATEST = (
    sa_select(_JOURNAL)
    .where(_JOURNAL.c.student_id == bindparam("student_id"))
    .order_by(_JOURNAL.c.submitted_at.desc(), _JOURNAL.c.id.desc())
    .limit(1)
)
_OF_PERIOD = sa_select(_JOURNAL).where(
    _JOURNAL.c.student_id == bindparam("student_id"),
    _JOURNAL.c.kind == bindparam("kind"),
    _JOURNAL.c.period_start == bindparam("period_start"),
)
_BY_ID = sa_select(_JOURNAL).where(_JOURNAL.c.id == bindparam("id"))
_INSERT = insert(_JOURNAL).returning(_JOURNAL.c.id)
_REPLACE = (
    update(_JOURNAL)
    .where(_JOURNAL.c.id == bindparam("b_id"))
    .values(
        text=bindparam("text"),
        char_count=bindparam("char_count"),
        keywords=bindparam("keywords"),
        submitted_at=bindparam("submitted_at"),
    )
)


def latest_journal(executor, *, student_id: int) -> Row | None:
    return executor.execute(_LATEST, {"student_id": student_id}).first()


def journal_by_id(executor, *, journal_id: int) -> Row | None:
    return executor.execute(_BY_ID, {"id": journal_id}).first()


def journal_of_period(executor, *, student_id: int, kind: str, period_start: date) -> Row | None:
    params = {"student_id": student_id, "kind": kind, "period_start": period_start}
    return executor.execute(_OF_PERIOD, params).first()


def insert_journal(executor, **values) -> int:
    return executor.execute(_INSERT, values).scalar_one()


def replace_journal_text(executor, *, journal_id: int, text: str, char_count: int,
                         keywords: list, submitted_at) -> None:  # fmt: skip
    executor.execute(
        _REPLACE,
        dict(
            b_id=journal_id,
            text=text,
            char_count=char_count,
            keywords=keywords,
            submitted_at=submitted_at,
        ),
    )


def waiting_journals(executor, *, students, limit: int) -> tuple[int, list[Row]]:
    """Submitted, ungraded journals of the students meeting `students` (a condition on
    Student): how many, and the oldest `limit` with the student's name and number."""
    student = Student.__table__
    where = (_JOURNAL.c.status == "submitted") & students
    joined = _JOURNAL.join(student, student.c.id == _JOURNAL.c.student_id)
    total = executor.execute(sa_select(func.count()).select_from(joined).where(where)).scalar()
    rows = executor.execute(
        sa_select(
            _JOURNAL.c.id, _JOURNAL.c.kind, _JOURNAL.c.text, student.c.name, student.c.student_no
        )
        .select_from(joined)
        .where(where)
        .order_by(_JOURNAL.c.submitted_at, _JOURNAL.c.id)
        .limit(limit)
    ).all()
    return total or 0, list(rows)
