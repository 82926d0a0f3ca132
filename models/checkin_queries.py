"""Small keyword-only queries about placements, check-ins and a student's people."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date, datetime
from functools import partial

from sqlalchemy import Integer, String, any_, bindparam, func, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row
from sqlmodel import Session, col, select

from models.channel import ChannelAccount, InboundSeen
from models.people import Guardianship, Student, Teacher
from models.placement import Placement
from models.records import CheckIn
from models.tickets import Alert


def placements_of(session: Session, *, student_id: int) -> list[Placement]:
    return list(session.exec(select(Placement).where(Placement.student_id == student_id)).all())


def checkins_between(session: Session, *, student_id: int, start: date, end: date) -> list[CheckIn]:
    """A student's check-ins on days start..end (both included), oldest first."""
    return list(
        session.exec(
            select(CheckIn)
            .where(CheckIn.student_id == student_id, CheckIn.day >= start, CheckIn.day <= end)
            .order_by(col(CheckIn.at), col(CheckIn.id))
        ).all()
    )


def checkins_on(session: Session, *, student_id: int, day: date) -> list[CheckIn]:
    return checkins_between(session, student_id=student_id, start=day, end=day)


def children_of(session: Session, *, parent_id: int) -> list[Student]:
    return list(
        session.exec(
            select(Student)
            .join(Guardianship, col(Guardianship.student_id) == col(Student.id))
            .where(Guardianship.parent_id == parent_id)
            .order_by(col(Student.id))
        ).all()
    )


def students_of_teacher(session: Session, *, teacher_id: int) -> list[Student]:
    return list(
        session.exec(
            select(Student).where(Student.teacher_id == teacher_id).order_by(col(Student.id))
        ).all()
    )


def teacher_of(session: Session, *, student: Student) -> Teacher | None:
    return session.get(Teacher, student.teacher_id) if student.teacher_id else None


def account_for(session: Session, *, channel: str, external_id: str) -> ChannelAccount | None:
    """The binding row of a sender, active or not (one row per channel + external id)."""
    return session.exec(
        select(ChannelAccount).where(
            ChannelAccount.channel == channel, ChannelAccount.external_id == external_id
        )
    ).first()


# --- the batched webhook path: SQLAlchemy Core on one connection, no ORM identity map ------
# Each function is one statement, built once with bind parameters (so SQLAlchemy computes its
# cache key and compiles it once per dialect); callers run many of them in one transaction.

_ACCOUNT = ChannelAccount.__table__
_PLACEMENT = Placement.__table__
_CHECKIN = CheckIn.__table__
_SEEN = InboundSeen.__table__
_ALERT = Alert.__table__
_STUDENT = Student.__table__

# `column IN (...)` with an expanding parameter renders the statement anew for every call, in
# Python: it was the writer's most expensive statement work. These lists travel as one
# parameter instead (a JSON array read by json_each on SQLite, an array compared with ANY on
# PostgreSQL), so that each statement is built and compiled once per dialect.
_DIALECTS = ("postgresql", "sqlite")


def _member(dialect: str, column, name: str, item_type):
    """`column` is one of the list parameter `name` (see _listed)."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(item_type)))
    values = func.json_each(bindparam(name, type_=String)).table_valued("value")
    return column.in_(sa_select(values.c.value))


def _per_dialect(build: Callable) -> dict:
    """{dialect: build(member)}, `member(column, name, item_type)` being that dialect's test."""
    return {dialect: build(partial(_member, dialect)) for dialect in _DIALECTS}


def _listed(conn: Connection, values: Iterable) -> list | str:
    """The value of a list parameter of the statements built by _per_dialect."""
    values = list(values)
    return values if conn.dialect.name == "postgresql" else json.dumps(values)


_ACCOUNT_BY_SENDER = sa_select(
    _ACCOUNT.c.id,
    _ACCOUNT.c.person_kind,
    _ACCOUNT.c.person_id,
    _ACCOUNT.c.school_id,
    _ACCOUNT.c.language,
).where(
    _ACCOUNT.c.channel == bindparam("channel"),
    _ACCOUNT.c.external_id == bindparam("external_id"),
    _ACCOUNT.c.active.is_(True),
)
# What a cached binding is checked against: one row per account id, active or not.
_ACCOUNT_STATES = _per_dialect(
    lambda member: sa_select(
        _ACCOUNT.c.id, _ACCOUNT.c.person_kind, _ACCOUNT.c.person_id, _ACCOUNT.c.active
    ).where(member(_ACCOUNT.c.id, "account_ids", Integer))
)
_PLACEMENTS_OF = sa_select(_PLACEMENT).where(_PLACEMENT.c.student_id == bindparam("student_id"))
# What a check-in needs to know about a placement (rules, fence, receipt).
PLACEMENT_FACTS = (
    "id",
    "start_date",
    "end_date",
    "workdays_mask",
    "norm_lat",
    "norm_lng",
    "radius_m",
    "shift_start",
)
# An active binding with its student's school and placements: one row per placement (a single
# row with NULL p_* columns when there is none), for many senders of one channel at once.
_SENDERS = _per_dialect(
    lambda member: (
        sa_select(
            _ACCOUNT.c.external_id,
            _ACCOUNT.c.id,
            _ACCOUNT.c.person_kind,
            _ACCOUNT.c.person_id,
            _ACCOUNT.c.language,
            _STUDENT.c.school_id.label("student_school_id"),
            *(_PLACEMENT.c[name].label(f"p_{name}") for name in PLACEMENT_FACTS),
        )
        .select_from(
            _ACCOUNT.outerjoin(
                _STUDENT,
                (_STUDENT.c.id == _ACCOUNT.c.person_id) & (_ACCOUNT.c.person_kind == "student"),
            ).outerjoin(_PLACEMENT, _PLACEMENT.c.student_id == _STUDENT.c.id)
        )
        .where(
            _ACCOUNT.c.channel == bindparam("channel"),
            member(_ACCOUNT.c.external_id, "external_ids", String),
            _ACCOUNT.c.active.is_(True),
        )
    )
)
_TOUCH_MANY = _per_dialect(
    lambda member: (
        update(_ACCOUNT)
        .where(member(_ACCOUNT.c.id, "account_ids", Integer))
        .values(last_inbound_at=bindparam("b_at"))
    )
)
_CHECKINS_ON = (
    sa_select(
        *(_CHECKIN.c[name] for name in ("id", "at", "day", "kind", "norm_lat", "norm_lng")),
        *(_CHECKIN.c[name] for name in ("distance_m", "within_fence", "source")),
    )
    .where(_CHECKIN.c.student_id == bindparam("student_id"), _CHECKIN.c.day == bindparam("day"))
    .order_by(_CHECKIN.c.at, _CHECKIN.c.id)
)
_CHECKINS_OF_MANY = _per_dialect(
    lambda member: (
        sa_select(_CHECKIN.c.student_id, *_CHECKINS_ON.selected_columns)
        .where(
            member(_CHECKIN.c.student_id, "student_ids", Integer),
            _CHECKIN.c.day == bindparam("day"),
        )
        .order_by(_CHECKIN.c.at, _CHECKIN.c.id)
    )
)
_STORED_REPLIES = _per_dialect(
    lambda member: sa_select(_SEEN.c.dedup_key, _SEEN.c.reply).where(
        _SEEN.c.channel == bindparam("channel"), member(_SEEN.c.dedup_key, "keys", String)
    )
)
_STUDENT_SCHOOL = sa_select(_STUDENT.c.school_id).where(_STUDENT.c.id == bindparam("student_id"))
_STUDENT_NAME = sa_select(_STUDENT.c.name).where(_STUDENT.c.id == bindparam("student_id"))
_INSERT_CHECKIN = insert(_CHECKIN)


class _RowsInsert:
    """An INSERT of many rows as one executemany on the driver.

    SQLAlchemy's work per execution of a list of rows (a cache lookup, then every value of
    every row through its type's processing) cost the writer more than the database's own
    work. Here the statement is compiled once per dialect and the rows are converted with the
    columns' own bind processors, so the database gets exactly what SQLAlchemy would send.
    """

    def __init__(self, table, columns: tuple[str, ...]):
        self.table, self.columns = table, columns
        self._prepared: dict[type, tuple] = {}  # per dialect class (its driver's paramstyle)

    def _for(self, dialect) -> tuple:
        prepared = self._prepared.get(type(dialect))
        if prepared is None:
            compiled = insert(self.table).compile(
                dialect=dialect, column_keys=list(self.columns), for_executemany=True
            )
            names = compiled.positiontup if compiled.positional else self.columns
            processors = tuple(
                (name, self.table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
                for name in names
            )
            prepared = self._prepared[type(dialect)] = (
                compiled.string,
                compiled.positional,
                processors,
            )
        return prepared

    def __call__(self, conn: Connection, rows: list[dict]) -> None:
        sql, positional, processors = self._for(conn.dialect)
        if positional:
            params = [
                tuple(row[name] if p is None else p(row[name]) for name, p in processors)
                for row in rows
            ]
        else:
            params = [
                {name: row[name] if p is None else p(row[name]) for name, p in processors}
                for row in rows
            ]
        conn.exec_driver_sql(sql, params)


CHECKIN_COLUMNS = tuple(c.key for c in _CHECKIN.c if c.key != "id")
_INSERT_CHECKINS = _RowsInsert(_CHECKIN, CHECKIN_COLUMNS)
_INSERT_SEENS = _RowsInsert(_SEEN, ("channel", "dedup_key", "reply", "at"))


def _ignoring(table, *key: str):
    """INSERT ... ON CONFLICT (key) DO NOTHING, one statement per dialect."""
    return {
        "postgresql": postgresql.insert(table).on_conflict_do_nothing(index_elements=list(key)),
        "sqlite": sqlite.insert(table).on_conflict_do_nothing(index_elements=list(key)),
    }


_ALERT_ONCE = _ignoring(_ALERT, "kind", "student_id", "day")


def active_account_row(conn: Connection, *, channel: str, external_id: str) -> Row | None:
    """(id, person_kind, person_id, school_id, language) of an active binding."""
    return conn.execute(
        _ACCOUNT_BY_SENDER, {"channel": channel, "external_id": external_id}
    ).first()


def account_states(conn: Connection, account_ids: list[int]) -> dict[int, Row]:
    """(id, person_kind, person_id, active) of many bindings by id, in one query."""
    params = {"account_ids": _listed(conn, sorted(set(account_ids)))}
    return {row.id: row for row in conn.execute(_ACCOUNT_STATES[conn.dialect.name], params)}


def senders_rows(conn: Connection, *, channel: str, external_ids: list[str]) -> list[Row]:
    """Active bindings with their students' schools and placements, in one query.

    One row per placement (a single row with NULL p_* columns when there is none, and no row
    for a sender who is not bound); each row carries `external_id`, and the placement columns
    are prefixed `p_` (see PLACEMENT_FACTS).
    """
    params = {"channel": channel, "external_ids": _listed(conn, external_ids)}
    return list(conn.execute(_SENDERS[conn.dialect.name], params))


def checkin_rows_of_many(conn: Connection, *, student_ids: list[int], day: date) -> list[Row]:
    """checkin_rows_on for many students in one query; rows also carry `student_id`."""
    params = {"student_ids": _listed(conn, student_ids), "day": day}
    return list(conn.execute(_CHECKINS_OF_MANY[conn.dialect.name], params))


def touch_accounts(conn: Connection, account_ids: list[int], at: datetime) -> None:
    """Open the 48-hour window of many accounts in one statement (`at`: the earliest message)."""
    if account_ids:
        params = {"account_ids": _listed(conn, sorted(set(account_ids))), "b_at": at}
        conn.execute(_TOUCH_MANY[conn.dialect.name], params)


def insert_checkins(conn: Connection, rows: list[dict]) -> None:
    """Insert many check-ins in one executemany (every row has all of CHECKIN_COLUMNS)."""
    if rows:
        _INSERT_CHECKINS(conn, rows)


def placement_rows(conn: Connection, *, student_id: int) -> list[Row]:
    return list(conn.execute(_PLACEMENTS_OF, {"student_id": student_id}))


def checkin_rows_on(conn: Connection, *, student_id: int, day: date) -> list[Row]:
    """A student's check-ins of one day, oldest first, with what the rules and receipts read."""
    return list(conn.execute(_CHECKINS_ON, {"student_id": student_id, "day": day}))


def stored_replies(conn: Connection, *, channel: str, keys: list[str]) -> dict[str, str]:
    """The inbound keys among `keys` already recorded, with their stored replies ('' if none)."""
    params = {"channel": channel, "keys": _listed(conn, sorted({key[:128] for key in keys}))}
    rows = conn.execute(_STORED_REPLIES[conn.dialect.name], params)
    return {row.dedup_key: row.reply or "" for row in rows}


def claim_inbounds(conn: Connection, rows: list[dict]) -> None:
    """Insert dedupe rows (channel, dedup_key, reply, at) in one executemany.

    A plain INSERT: a key recorded meanwhile by another process is a unique violation, and the
    caller's transaction fails rather than answering twice.
    """
    if rows:
        _INSERT_SEENS(conn, rows)


def insert_checkin(conn: Connection, values: dict) -> None:
    conn.execute(_INSERT_CHECKIN, values)


def student_school(conn: Connection, *, student_id: int) -> int | None:
    return conn.execute(_STUDENT_SCHOOL, {"student_id": student_id}).scalar()


def student_name(conn: Connection, *, student_id: int) -> str:
    return conn.execute(_STUDENT_NAME, {"student_id": student_id}).scalar() or ""


def insert_alert_once(conn: Connection, values: dict) -> None:
    """One alert per (kind, student, day): a second one is silently skipped."""
    conn.execute(_ALERT_ONCE[conn.dialect.name], values)
