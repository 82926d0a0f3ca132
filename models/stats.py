"""Daily roll-ups per school, kept up to date as records arrive, read by the dashboards."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel

from models.prepared import Prepared
from models.types import AwareDateTime


class SchoolDay(SQLModel, table=True):
    __tablename__ = "school_days"
    school_id: int = Field(foreign_key="schools.id", primary_key=True)
    day: date = Field(primary_key=True, index=True)
    checkins: int = 0  # check-in records
    students_checked_in: int = 0  # distinct students with a check-in
    journals: int = 0
    tickets: int = 0
    device_checkins: int = 0  # check-ins with evidence "device" (the check-in page, SPEC 11)


_COUNTERS = ("checkins", "students_checked_in", "journals", "tickets", "device_checkins")


def _bump_statement(dialect):
    """INSERT a roll-up row, or add its counters to the stored one (bound parameters only)."""
    table = SchoolDay.__table__
    stmt = dialect.insert(table)
    added = {name: table.c[name] + stmt.excluded[name] for name in _COUNTERS}
    return stmt.on_conflict_do_update(index_elements=["school_id", "day"], set_=added)


# Built once: a statement built per call costs more to build and cache-key than to run.
_BUMP = Prepared({"postgresql": _bump_statement(postgresql), "sqlite": _bump_statement(sqlite)})


def bump_school_day(
    session,
    *,
    school_id: int,
    day: date,
    checkins: int = 0,
    students_checked_in: int = 0,
    journals: int = 0,
    tickets: int = 0,
    device_checkins: int = 0,
) -> None:
    """Add to a school's roll-up for a day (an upsert, safe under concurrent writers)."""
    # `session` may also be a Core Connection (the batched webhook path).
    params = dict(
        school_id=school_id,
        day=day,
        checkins=checkins,
        students_checked_in=students_checked_in,
        journals=journals,
        tickets=tickets,
        device_checkins=device_checkins,
    )
    _BUMP.run(session, params)


def count_school_day(executor, *, batch=None, school_id: int, day: date, **counts: int) -> None:
    """Add to a school's roll-up for a day. With the inbound path's writer `batch`, the
    additions of all its messages are summed and written once per (school, day) just before
    it commits (one upsert instead of one per message); without one, at once."""
    if batch is None:
        bump_school_day(executor, school_id=school_id, day=day, **counts)
        return
    totals = batch.rows("school_day_rollups", _write_totals, new=dict)
    mine = totals.setdefault((school_id, day), dict.fromkeys(_COUNTERS, 0))
    for name, n in counts.items():
        mine[name] += n


def _write_totals(conn, totals: dict) -> None:
    # Sorted, so that two processes' batches lock the roll-up rows in the same order.
    for (school_id, day), counts in sorted(totals.items()):
        bump_school_day(conn, school_id=school_id, day=day, **counts)


class DashboardSnapshot(SQLModel, table=True):
    """The slow, slowly-changing dashboard figures of one scope, as of `computed_at`."""

    __tablename__ = "dashboard_snapshots"
    scope: str = Field(primary_key=True, max_length=40)  # "province" or "school:<id>"
    day: date  # the local day the figures are for; a new day needs new figures
    computed_at: datetime = Field(sa_type=AwareDateTime)
    figures: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def read_snapshot(session, *, scope: str) -> DashboardSnapshot | None:
    """The stored snapshot of `scope`, if any."""
    # populate_existing: another writer (the sweep) may have replaced it since it was loaded.
    return session.get(DashboardSnapshot, scope, populate_existing=True)


def store_snapshot(session, *, scope: str, day: date, computed_at: datetime, figures: dict) -> None:
    """Insert or replace the snapshot of `scope` (an upsert: two writers race harmlessly)."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = DashboardSnapshot.__table__
    values = dict(day=day, computed_at=computed_at, figures=figures)
    stmt = dialect.insert(table).values(scope=scope, **values)
    session.execute(stmt.on_conflict_do_update(index_elements=["scope"], set_=values))
