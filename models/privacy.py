"""Consent to the privacy notice, and marks for once-a-day sweeps."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, bindparam, exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel

from models.batch_sql import bind_of
from models.people import Guardianship
from models.prepared import RowsInsert
from models.types import AwareDateTime


class Consent(SQLModel, table=True):
    """Who accepted which version of the privacy notice, when, and for whose data.

    A student consents for themselves at binding; a parent's binding is the guardian's consent
    for each of their children (SPEC section 13: minors' guardians consent that way).
    """

    __tablename__ = "consents"
    __table_args__ = (
        Index("ix_consents_student", "student_id"),
        Index("ix_consents_person", "person_kind", "person_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    person_kind: str = Field(max_length=16)  # who gave it: student | parent | teacher ...
    person_id: int
    student_id: int | None = Field(default=None, foreign_key="students.id")  # whose data
    basis: str = Field(max_length=12)  # self | guardian
    notice_version: str = Field(max_length=32)
    channel: str = Field(max_length=16)
    school_id: int | None = Field(default=None, foreign_key="schools.id")
    at: datetime = Field(sa_type=AwareDateTime)


class DailyRun(SQLModel, table=True):
    """A once-a-day sweep that has run on a day (several schedulers: the first one claims it)."""

    __tablename__ = "daily_runs"
    name: str = Field(max_length=32, primary_key=True)
    day: date = Field(primary_key=True)
    at: datetime = Field(sa_type=AwareDateTime)


_CHILDREN = select(Guardianship.__table__.c.student_id).where(
    Guardianship.__table__.c.parent_id == bindparam("parent_id")
)
_INSERT_CONSENTS = RowsInsert(
    Consent.__table__,
    ("person_kind", "person_id", "student_id", "basis", "notice_version", "channel", "school_id",
     "at"),
)  # fmt: skip


def insert_consents(
    conn,
    *,
    person_kind: str,
    person_id: int,
    channel: str,
    school_id: int | None,
    notice_version: str,
    at: datetime,
    batch=None,
) -> int:
    """Record a binding's consent; a parent's covers each child. Returns the rows written
    (with the inbound path's writer `batch`: with the batch's other consents, just before it
    commits; nothing in a batch reads them)."""
    base = dict(
        person_kind=person_kind,
        person_id=person_id,
        notice_version=notice_version,
        channel=channel,
        school_id=school_id,
        at=at,
    )
    if person_kind == "parent":
        children = conn.execute(_CHILDREN, {"parent_id": person_id}).scalars()
        rows = [dict(base, student_id=child, basis="guardian") for child in children]
    else:
        student = person_id if person_kind == "student" else None
        rows = [dict(base, student_id=student, basis="self")]
    if batch is None:
        _INSERT_CONSENTS(conn, rows)
    else:
        batch.rows("consent_rows", _INSERT_CONSENTS).extend(rows)
    return len(rows)


def guardian_consented(conn, *, student_id: int) -> bool:
    """Whether a guardian of the student has consented through a parent binding."""
    return bool(
        conn.execute(
            select(exists().where(Consent.student_id == student_id, Consent.basis == "guardian"))
        ).scalar()
    )


_CLAIM_DAY = {
    name: dialect.insert(DailyRun.__table__)
    .on_conflict_do_nothing()
    .returning(DailyRun.__table__.c.name)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


def claim_daily_run(conn, *, name: str, day: date, at: datetime) -> bool:
    """True once per (name, day) across processes: the caller runs that day's sweep."""
    params = {"name": name, "day": day, "at": at}
    return conn.execute(_CLAIM_DAY[bind_of(conn).dialect.name], params).first() is not None
