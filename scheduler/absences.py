"""Who is still missing at digest time, and for how many workdays in a row: a temp table.

The absentees of one due window are materialised once (one INSERT ... SELECT with an anti-join)
into `tmp_absentees`, so that alerts and messages can be built from them set-based. Streaks come
from per-mask prefix sums of workdays (`tmp_workday_sums`, 128 masks x the lookback), decided in
Python once per date, so holidays and make-up days count exactly as core.calendar says.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    Time,
    case,
    exists,
    false,
    func,
    insert,
    select,
    text,
)
from sqlmodel import Session

from core.calendar import is_workday
from core.notices import format_day
from core.settings import Settings
from core.workdays import ALL_WEEKDAYS
from models import CheckIn, Placement, SchoolClass, Student
from scheduler.days import Window, active_on, workday_clause
from scheduler.outbox_sql import tune_for_bulk

# Streaks are counted this far back; a longer silence is reported as this many workdays or more.
LOOKBACK_DAYS = 62
NEVER = "暂无"
MASKS = range(1 << 7)  # every combination of the seven weekday bits

_meta = MetaData()
ABSENTEES = Table(
    "tmp_absentees",
    _meta,
    Column("student_id", Integer, primary_key=True),
    Column("name", String),
    Column("class_name", String),
    Column("school_id", Integer),
    Column("teacher_id", Integer),
    Column("shift_start", Time),
    Column("last_day", Date),  # the last day with a check-in before the window's day
    Column("streak", Integer),  # consecutive workdays without a check-in, the day included
    # Set by the escalation sweep: the streak is due for a parent / school alert it has not had.
    Column("fresh_missing", Boolean, server_default=false(), nullable=False),
    Column("fresh_lost", Boolean, server_default=false(), nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
SUMS = Table(
    "tmp_workday_sums",
    _meta,
    Column("mask", Integer, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("n_before", Integer),  # workdays of `mask` in [first, day)
    Column("n_through", Integer),  # workdays of `mask` in [first, day]
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
LABELS = Table(
    "tmp_day_labels",
    _meta,
    Column("day", Date, primary_key=True),
    Column("label", String),  # 2月28日（周六）
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
TEMP_TABLES = (ABSENTEES, SUMS, LABELS)
ABSENTEE_FACTS = [c.name for c in ABSENTEES.c if not c.name.startswith("fresh_")]


def drop_temp_tables(session: Session) -> None:
    # SQLite runs DDL outside the transaction, so a table left by an earlier run may remain.
    for table in TEMP_TABLES:
        session.execute(text(f"DROP TABLE IF EXISTS {table.name}"))


def analyze_temp(session: Session, *tables: Table) -> None:
    """Give PostgreSQL's planner statistics for temp tables (autovacuum never sees them);
    without them it plans nested loops over what it guesses is one row."""
    if session.get_bind().dialect.name == "postgresql":
        for table in tables:
            session.execute(text(f"ANALYZE {table.name}"))


def materialize_absentees(session: Session, settings: Settings, window: Window) -> int:
    """Fill tmp_absentees (and its helpers) for `window`; returns how many students are missing."""
    conn = session.connection()
    tune_for_bulk(session)
    drop_temp_tables(session)
    for table in TEMP_TABLES:
        table.create(conn)
    day = window.day
    _fill_sums(session, settings, day - timedelta(days=LOOKBACK_DAYS), day)
    session.execute(
        insert(ABSENTEES).from_select(
            ABSENTEE_FACTS, _absentees(day, window, settings, conn.dialect.name)
        )
    )
    last_days = session.scalars(select(ABSENTEES.c.last_day).distinct()).all()
    labels = [{"day": d, "label": format_day(d)} for d in last_days if d is not None]
    if labels:
        session.execute(insert(LABELS), labels)
    analyze_temp(session, ABSENTEES, LABELS)
    return int(session.execute(select(func.count()).select_from(ABSENTEES)).scalar() or 0)


def last_label():
    """SQL for the last check-in day as the digests print it; needs an outer join to LABELS."""
    return func.coalesce(LABELS.c.label, NEVER)


def with_label(from_clause):
    return from_clause.outerjoin(LABELS, LABELS.c.day == ABSENTEES.c.last_day)


def _fill_sums(session: Session, settings: Settings, first: date, last: date) -> None:
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    # One calendar decision per date; the weekday bit decides the rest per mask.
    kinds = []
    for d in days:
        if not is_workday(d, ALL_WEEKDAYS, settings):
            kinds.append(0)  # a public holiday
        elif is_workday(d, 0, settings):
            kinds.append(ALL_WEEKDAYS)  # a make-up day: everybody works
        else:
            kinds.append(1 << (d.isoweekday() - 1))
    rows = []
    for mask in MASKS:
        total = 0
        for d, bits in zip(days, kinds, strict=True):
            works = int(bool(mask & bits)) if bits != ALL_WEEKDAYS else 1
            rows.append({"mask": mask, "day": d, "n_before": total, "n_through": total + works})
            total += works
    session.execute(insert(SUMS), rows)


def _absentees(day: date, window: Window, settings: Settings, dialect: str):
    """Students on a working placement in `window` with no check-in on `day`, with streaks."""
    last_day = (
        select(func.max(CheckIn.day))
        .where(CheckIn.student_id == Placement.student_id, CheckIn.day < day)
        .scalar_subquery()
    )
    # Overlapping placements: the latest one counts.
    rank = func.row_number().over(
        partition_by=Placement.student_id,
        order_by=(Placement.start_date.desc(), Placement.id.desc()),
    )
    found = (
        select(
            Placement.student_id,
            Student.name,
            func.coalesce(SchoolClass.name, "").label("class_name"),
            Placement.school_id,
            Student.teacher_id,
            Placement.shift_start,
            Placement.workdays_mask.label("mask"),
            Placement.start_date,
            last_day.label("last_day"),
            rank.label("rn"),
        )
        .join(Student, Student.id == Placement.student_id)
        .outerjoin(SchoolClass, SchoolClass.id == Student.class_id)
        .where(
            active_on(day, dialect),
            workday_clause(day, settings),
            Placement.shift_start >= window.lo,
            Placement.shift_start <= window.hi,
            ~exists().where(CheckIn.student_id == Placement.student_id, CheckIn.day == day),
        )
        .subquery("found")
    )

    # Workdays since the later of the last check-in and the placement's start, as PK lookups
    # (a join here tempts PostgreSQL's planner into a nested loop over its misestimated rows).
    def sums(column, day_value):
        return (
            select(column)
            .where(SUMS.c.mask == found.c.mask, SUMS.c.day == day_value)
            .scalar_subquery()
        )

    counted_before = case(
        (found.c.last_day >= found.c.start_date, sums(SUMS.c.n_through, found.c.last_day)),
        else_=sums(SUMS.c.n_before, found.c.start_date),
    )
    return select(
        found.c.student_id,
        found.c.name,
        found.c.class_name,
        found.c.school_id,
        found.c.teacher_id,
        found.c.shift_start,
        found.c.last_day,
        (sums(SUMS.c.n_through, day) - func.coalesce(counted_before, 0)).label("streak"),
    ).where(found.c.rn == 1)
