"""Who is still missing at digest time, and for how many due days in a row: temp tables.

The absentees of one due window (students due on the day by core.due, with no check-in) are
materialised once (one INSERT ... SELECT with an anti-join) into `tmp_absentees`, so that alerts
and messages can be built from them set-based; the students who would be due but have no chat
account go to `tmp_unbound` (listed apart as 未绑定, never escalated). Streaks count due days
since the last check-in, from per-mask prefix sums of workdays (`tmp_workday_sums`, 128 masks x
the lookback, one calendar decision per date: core.due.day_bits), starting no earlier than the
placement's start and the student's binding, less the workdays of approved leave.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

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
    true,
    update,
)
from sqlmodel import Session

from core.due import (
    bound_since_sql,
    due_clause,
    first_due_day_sql,
    leave_clause,
    present_clause,
    reachable_clause,
    scheduled_clause,
    workday_counts,
)
from core.notices import format_day
from core.settings import Settings
from core.sqltime import greatest
from models import ChannelAccount, CheckIn, Leave, Placement, SchoolClass, Student
from models.attendance import any_leave_between, any_leave_on
from scheduler.days import Window
from scheduler.outbox_sql import tune_for_bulk

# Streaks are counted this far back; a longer silence is reported as this many workdays or more.
LOOKBACK_DAYS = 62
NEVER = "暂无"

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
    Column("streak", Integer),  # consecutive due days without a check-in, the day included
    Column("mask", Integer),  # the placement's weekdays, for the streak's leave correction
    Column("counted_before", Integer),  # prefix workdays up to the streak's start
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
UNBOUND = Table(
    "tmp_unbound",
    _meta,
    Column("student_id", Integer, primary_key=True),
    Column("name", String),
    Column("class_name", String),
    Column("school_id", Integer),
    Column("teacher_id", Integer),
    Column("shift_start", Time),
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
TEMP_TABLES = (ABSENTEES, UNBOUND, SUMS, LABELS)
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


def materialize_absentees(session: Session, settings: Settings, window: Window) -> tuple[int, int]:
    """Fill tmp_absentees, tmp_unbound and helpers for `window`: (missing, unbound) counts."""
    conn = session.connection()
    tune_for_bulk(session)
    drop_temp_tables(session)
    for table in TEMP_TABLES:
        table.create(conn)
    day, dialect = window.day, conn.dialect.name
    first = day - timedelta(days=LOOKBACK_DAYS)
    _fill_sums(session, settings, first, day)
    any_leave = any_leave_on(session, day=day)
    session.execute(
        insert(ABSENTEES).from_select(
            ABSENTEE_FACTS, _absentees(day, window, settings, dialect, first, any_leave)
        )
    )
    _from_binding(session, settings, day, first)
    if any_leave_between(session, first=first, last=day):
        _less_leave(session, day)
    session.execute(
        insert(UNBOUND).from_select(
            [c.name for c in UNBOUND.c], _unbound(day, window, settings, dialect, any_leave)
        )
    )
    last_days = session.scalars(select(ABSENTEES.c.last_day).distinct()).all()
    labels = [{"day": d, "label": format_day(d)} for d in last_days if d is not None]
    if labels:
        session.execute(insert(LABELS), labels)
    analyze_temp(session, ABSENTEES, UNBOUND, LABELS)
    return _count(session, ABSENTEES), _count(session, UNBOUND)


def _count(session: Session, table: Table) -> int:
    return int(session.execute(select(func.count()).select_from(table)).scalar() or 0)


def last_label():
    """SQL for the last check-in day as the digests print it; needs an outer join to LABELS."""
    return func.coalesce(LABELS.c.label, NEVER)


def with_label(from_clause):
    return from_clause.outerjoin(LABELS, LABELS.c.day == ABSENTEES.c.last_day)


def _fill_sums(session: Session, settings: Settings, first: date, last: date) -> None:
    counts = workday_counts(first, last, settings)  # one calendar decision per date
    rows = [
        {"mask": mask, "day": first + timedelta(days=i), "n_before": n[i], "n_through": n[i + 1]}
        for mask, n in counts.items()
        for i in range(len(n) - 1)
    ]
    session.execute(insert(SUMS), rows)


def _sums(column, mask, day_value):
    """Workdays of `mask` before / through a date, as a primary-key lookup (NULL outside).

    Lookups rather than a join: a join here tempts PostgreSQL's planner into a nested loop
    over its misestimated rows.
    """
    lookup = select(column).where(SUMS.c.mask == mask, SUMS.c.day == day_value)
    return lookup.correlate_except(SUMS).scalar_subquery()


def _absentees(
    day: date, window: Window, settings: Settings, dialect: str, first: date, any_leave: bool
):
    """Students due on `day` in `window` (core.due) with no check-in that day, with streaks."""
    last_day = (
        select(func.max(CheckIn.day))
        .where(CheckIn.student_id == Placement.student_id, CheckIn.day < day)
        .scalar_subquery()
    )
    found = _materialized(
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
        )
        .join(Student, Student.id == Placement.student_id)
        .outerjoin(SchoolClass, SchoolClass.id == Student.class_id)
        .where(
            Placement.shift_start >= window.lo,
            Placement.shift_start <= window.hi,
            due_clause(day, settings, dialect, any_leave=any_leave),
            ~exists().where(
                CheckIn.student_id == Placement.student_id,
                CheckIn.day == day,
                present_clause(),
            ),
        ),
        "found",
        dialect,
    )
    f = found.c

    def prefix(column, value):
        return func.coalesce(_sums(column, f.mask, value), 0)

    # The streak starts after the later of: the last check-in, the day before the placement
    # started (dates before the lookback: 0); a recent binding is applied after (_from_binding).
    anchored = _materialized(
        select(
            f,
            greatest(
                case((f.last_day >= f.start_date, prefix(SUMS.c.n_through, f.last_day)), else_=0),
                prefix(SUMS.c.n_before, f.start_date),
            ).label("counted_before"),
        ),
        "anchored",
        dialect,
    )
    a = anchored.c
    return select(
        a.student_id,
        a.name,
        a.class_name,
        a.school_id,
        a.teacher_id,
        a.shift_start,
        a.last_day,
        (func.coalesce(_sums(SUMS.c.n_through, a.mask, day), 0) - a.counted_before).label("streak"),
        a.mask,
        a.counted_before,
    )


def _materialized(stmt, name: str, dialect: str):
    """A CTE computed once: PostgreSQL would otherwise inline it and run every scalar
    subquery once per reference (SQLite keeps the older plan it was tuned with)."""
    cte = stmt.cte(name)
    return cte.prefix_with("MATERIALIZED") if dialect == "postgresql" else cte


def _from_binding(session: Session, settings: Settings, day: date, first: date) -> None:
    """Start the streaks of students bound within the lookback at their first due day.

    Few students bound that recently, so they are found from their accounts and updated after,
    rather than every absentee looking its binding up.
    """
    a = ABSENTEES.c
    recent = datetime.combine(first - timedelta(days=2), time(0, 0), tzinfo=settings.tz)
    bound_from = first_due_day_sql(bound_since_sql(a.student_id), settings, day, a.shift_start)
    anchor = case(
        (bound_from >= first, func.coalesce(_sums(SUMS.c.n_before, a.mask, bound_from), 0)),
        else_=0,
    )
    later = greatest(a.counted_before, anchor)
    recently_bound = select(ChannelAccount.person_id).where(
        ChannelAccount.person_kind == "student",
        ChannelAccount.active.is_(True),
        ChannelAccount.bound_at >= recent,
    )
    session.execute(
        update(ABSENTEES)
        .where(a.student_id.in_(recently_bound))
        .values(counted_before=later, streak=a.streak + a.counted_before - later)
    )


def _less_leave(session: Session, day: date) -> None:
    """Take the workdays of approved leave inside each streak out of it (few students)."""
    a = ABSENTEES.c
    through = case(
        (Leave.end_date < day, _sums(SUMS.c.n_through, a.mask, Leave.end_date)),
        else_=_sums(SUMS.c.n_through, a.mask, day),
    )
    since = greatest(
        func.coalesce(_sums(SUMS.c.n_before, a.mask, Leave.start_date), 0), a.counted_before
    )
    days = func.coalesce(through, 0) - since
    in_streak = (
        select(func.coalesce(func.sum(case((days > 0, days), else_=0)), 0))
        .where(_leave_before(a.student_id, day))
        .scalar_subquery()
    )
    session.execute(
        update(ABSENTEES)
        .where(exists().where(_leave_before(a.student_id, day)))
        .values(streak=a.streak - in_streak)
    )


def _leave_before(student_id, day: date):
    """Approved leave of the student ending before `day` within the lookback."""
    return (
        (Leave.student_id == student_id)
        & (Leave.status == "approved")
        & (Leave.start_date < day)
        & (Leave.end_date >= day - timedelta(days=LOOKBACK_DAYS))
    )


def _unbound(day: date, window: Window, settings: Settings, dialect: str, any_leave: bool):
    """Students who would be due in `window` but have no chat account bound (未绑定)."""
    return (
        select(
            Placement.student_id,
            Student.name,
            func.coalesce(SchoolClass.name, "").label("class_name"),
            Placement.school_id,
            Student.teacher_id,
            Placement.shift_start,
        )
        .join(Student, Student.id == Placement.student_id)
        .outerjoin(SchoolClass, SchoolClass.id == Student.class_id)
        .where(
            Placement.shift_start >= window.lo,
            Placement.shift_start <= window.hi,
            scheduled_clause(day, settings, dialect),
            ~leave_clause(day) if any_leave else true(),
            ~reachable_clause(),
        )
    )
