"""Small keyword-only queries about placements, check-ins and a student's people."""

from __future__ import annotations

import json
import re
from collections import namedtuple
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time
from functools import partial
from operator import attrgetter

from sqlalchemy import (
    Column,
    Date,
    Integer,
    String,
    any_,
    bindparam,
    func,
    insert,
    literal_column,
    true,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row
from sqlmodel import Session, col, select

from models.channel import ChannelAccount, InboundSeen
from models.people import Guardianship, Student, Teacher
from models.placement import Placement
from models.records import CheckIn
from models.stats import SchoolDay, bump_school_day
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


# What a cached binding is checked against: one row per account id, active or not.
_ACCOUNT_STATES = _per_dialect(
    lambda member: sa_select(
        _ACCOUNT.c.id, _ACCOUNT.c.person_kind, _ACCOUNT.c.person_id, _ACCOUNT.c.active
    ).where(member(_ACCOUNT.c.id, "account_ids", Integer))
)
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
def _senders_where(*conditions):
    return (
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
        .where(_ACCOUNT.c.channel == bindparam("channel"), _ACCOUNT.c.active.is_(True), *conditions)
    )


_SENDERS = _per_dialect(
    lambda member: _senders_where(member(_ACCOUNT.c.external_id, "external_ids", String))
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
# SQLite: the check-ins of many students on one day.
_CHECKINS_OF_MANY = (
    sa_select(_CHECKIN.c.student_id, *_CHECKINS_ON.selected_columns)
    .where(
        _member("sqlite", _CHECKIN.c.student_id, "student_ids", Integer),
        _CHECKIN.c.day == bindparam("day"),
    )
    .order_by(_CHECKIN.c.at, _CHECKIN.c.id)
)


# Written into the SQL rather than bound: a generic plan then knows them too.
_ZERO, _ONE = literal_column("0"), literal_column("1")


def _one_probe_per_row(names: tuple[str, ...], arrays: dict, probe, name: str = "found"):
    """PostgreSQL: (wanted, found): the rows of unnest(`arrays`) named `names`, and `probe(wanted)`
    run once for each of them as a LATERAL subquery.

    A plan that statistics cannot spoil: PostgreSQL knows nothing of today's rows until the
    next ANALYZE (a new day, a fresh table), and then prefers reading all of them (`day =
    today` or `channel = 'wechat'` thought to match nothing) over one index probe per key, a
    cost that grows with the table. A subquery with an OFFSET or LIMIT is not flattened into a
    join, so each key is one probe of the index on all its columns.
    """
    params = [bindparam(param, type_=postgresql.ARRAY(kind)) for param, kind in arrays.items()]
    wanted = func.unnest(*params).table_valued(*names).render_derived(name="wanted")
    return wanted, probe(wanted).lateral(name)


def _checkins_of_pairs():
    """PostgreSQL: the check-ins of (student, day) pairs, one index probe per pair."""
    wanted, found = _one_probe_per_row(
        ("student_id", "day"),
        {"student_ids": Integer, "days": Date},
        lambda wanted: (
            sa_select(_CHECKIN.c.student_id, *_CHECKINS_ON.selected_columns)
            .where(_CHECKIN.c.student_id == wanted.c.student_id, _CHECKIN.c.day == wanted.c.day)
            .offset(_ZERO)
        ),
    )
    return sa_select(found).select_from(wanted.join(found, true())).order_by(found.c.at, found.c.id)


def _stored_of_keys():
    """PostgreSQL: the stored replies of many keys of one channel, one index probe per key."""
    wanted, found = _one_probe_per_row(
        ("key",),
        {"keys": String},
        lambda wanted: (
            sa_select(_SEEN.c.dedup_key, _SEEN.c.reply)
            .where(_SEEN.c.channel == bindparam("channel"), _SEEN.c.dedup_key == wanted.c.key)
            .limit(_ONE)
        ),
    )
    return sa_select(found).select_from(wanted.join(found, true()))


_CHECKINS_OF_PAIRS = _checkins_of_pairs()


def _senders_of_ids():
    """PostgreSQL: _SENDERS, one index probe per external id."""
    wanted, found = _one_probe_per_row(
        ("external_id",),
        {"external_ids": String},
        lambda wanted: _senders_where(_ACCOUNT.c.external_id == wanted.c.external_id).offset(_ZERO),
    )
    return sa_select(found).select_from(wanted.join(found, true()))


def _checkins_of_senders():
    """PostgreSQL: the check-ins of (external id, day) pairs of one channel, through the
    sender's active student binding; one index probe per pair and table."""
    wanted, bound = _one_probe_per_row(
        ("external_id", "day"),
        {"wanted_ids": String, "wanted_days": Date},
        lambda wanted: (
            sa_select(_ACCOUNT.c.person_id)
            .where(
                _ACCOUNT.c.channel == bindparam("channel"),
                _ACCOUNT.c.external_id == wanted.c.external_id,
                _ACCOUNT.c.active.is_(True),
                _ACCOUNT.c.person_kind == "student",
            )
            .limit(_ONE)
        ),
        name="bound",
    )
    found = (
        sa_select(_CHECKIN.c.student_id, *_CHECKINS_ON.selected_columns)
        .where(_CHECKIN.c.student_id == bound.c.person_id, _CHECKIN.c.day == wanted.c.day)
        .offset(_ZERO)
        .lateral("checkin")
    )
    return sa_select(found).select_from(wanted.join(bound, true()).join(found, true()))


def _json_rows(select):
    """The rows of `select` as one JSON array of arrays ('[]' when there are none)."""
    rows = select.subquery()
    return sa_select(
        func.coalesce(func.json_agg(func.json_build_array(*rows.c)), literal_column("'[]'::json"))
    ).scalar_subquery()


_STORED_REPLIES = {
    "postgresql": _stored_of_keys(),
    "sqlite": sa_select(_SEEN.c.dedup_key, _SEEN.c.reply).where(
        _SEEN.c.channel == bindparam("channel"),
        _member("sqlite", _SEEN.c.dedup_key, "keys", String),
    ),
}


# --- PostgreSQL: a batch's reads in one statement ------------------------------------------
# A round trip of the writer lets go of the GIL, then waits to take it back from the busy
# event loop (milliseconds under load); the senders, their stored replies and their day's
# check-ins come back in one statement instead of three (and a BEGIN), each part a JSON array
# of rows. PostgreSQL writes a float8 in its shortest exact form: it reads back bit for bit.
SENDER_FIELDS = (
    "external_id",
    "id",
    "person_kind",
    "person_id",
    "language",
    "student_school_id",
    *(f"p_{name}" for name in PLACEMENT_FACTS),
)
CHECKIN_FIELDS = tuple(c.key for c in _CHECKINS_OF_PAIRS.selected_columns)
SenderRow = namedtuple("SenderRow", SENDER_FIELDS)
CheckinRow = namedtuple("CheckinRow", CHECKIN_FIELDS)
_CHECKIN_ID = CHECKIN_FIELDS.index("id")
_BATCH_READS = sa_select(
    _json_rows(_senders_of_ids()).label("senders"),
    _json_rows(_stored_of_keys()).label("stored"),
    _json_rows(_checkins_of_senders()).label("checkins"),
)


def _maybe(parse):
    return lambda value: None if value is None else parse(value)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)  # as AwareDateTime reads it


# JSON's types back to the columns' (None: as JSON gives it); a float8 that happens to be whole
# comes as a JSON integer.
_SENDER_TYPES = {
    "p_start_date": _maybe(date.fromisoformat),
    "p_end_date": _maybe(date.fromisoformat),
    "p_norm_lat": _maybe(float),
    "p_norm_lng": _maybe(float),
    "p_shift_start": _maybe(time.fromisoformat),
}
_CHECKIN_TYPES = {
    "at": _utc,
    "day": date.fromisoformat,
    "norm_lat": float,
    "norm_lng": float,
    "distance_m": float,
}


def _typed(fields: tuple[str, ...], types: dict):
    converters = [(i, types[name]) for i, name in enumerate(fields) if name in types]

    def convert(values: list) -> list:
        for i, to_type in converters:
            values[i] = to_type(values[i])
        return values

    return convert


_sender_values = _typed(SENDER_FIELDS, _SENDER_TYPES)
_checkin_values = _typed(CHECKIN_FIELDS, _CHECKIN_TYPES)


def batch_reads(
    conn: Connection,
    *,
    channel: str,
    external_ids: list[str],
    keys: list[str],
    days: list[tuple[str, date]],
) -> tuple[list, dict[str, str], list]:
    """PostgreSQL: senders_rows, stored_replies and the check-ins of (external id, day) pairs
    (through each sender's active student binding, oldest first), in one statement."""
    pairs = sorted(set(days))
    params = {
        "channel": channel,
        "external_ids": external_ids,
        "keys": sorted({key[:128] for key in keys}),
        "wanted_ids": [pair[0] for pair in pairs],
        "wanted_days": [pair[1] for pair in pairs],
    }
    senders, stored, checkins = conn.execute(_BATCH_READS, params).one()
    # By id: two bindings of one student would bring the student's check-ins twice.
    checkins = {row[_CHECKIN_ID]: CheckinRow._make(_checkin_values(row)) for row in checkins}
    checkins = sorted(checkins.values(), key=attrgetter("at", "id"))
    return (
        [SenderRow._make(_sender_values(row)) for row in senders],
        {key: reply or "" for key, reply in stored},
        checkins,
    )


_STUDENT_NAME = sa_select(_STUDENT.c.name).where(_STUDENT.c.id == bindparam("student_id"))


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


class _BinaryStatement:
    """A PostgreSQL statement compiled once and run by psycopg with binary parameters.

    psycopg sends a list in text form unless asked otherwise, and quoting every element cost
    the writer more than executing the statement; binary parameters (`%(name)b`) skip that.
    SQLAlchemy does not process the values of a driver-level statement, so each parameter
    named in `columns` goes through that column type's bind processing here (each element of
    an array parameter), as in _RowsInsert.
    """

    _PLACEHOLDER = re.compile(r"%\((\w+)\)s")

    def __init__(self, statement, columns: dict[str, tuple[Column, bool]]):
        self.statement, self.columns = statement, columns  # name -> (column, is an array)
        self._prepared: tuple | None = None

    def _prepare(self, dialect) -> tuple:
        if self._prepared is None:
            sql = self._PLACEHOLDER.sub(r"%(\1)b", self.statement.compile(dialect=dialect).string)
            processors = []
            for name, (column, is_array) in self.columns.items():
                process = column.type.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    processors.append((name, process, is_array))
            self._prepared = (sql, processors)
        return self._prepared

    def __call__(self, conn: Connection, params: dict) -> None:
        sql, processors = self._prepare(conn.dialect)
        for name, process, is_array in processors:
            value = params[name]
            params[name] = [process(v) for v in value] if is_array else process(value)
        conn.exec_driver_sql(sql, params)


def _unnested(table, columns: tuple[str, ...], prefix: str, params: dict):
    """SELECT * FROM unnest(one array parameter `prefix_column` per column): rows as columns.

    Each parameter is added to `params` (name -> (column, True)) for _BinaryStatement.
    """
    arrays = []
    for name in columns:
        param = f"{prefix}_{name}"
        arrays.append(bindparam(param, type_=postgresql.ARRAY(table.c[name].type)))
        params[param] = (table.c[name], True)
    rows = func.unnest(*arrays).table_valued(*columns).render_derived(name=prefix)
    return sa_select(*rows.c)


SEEN_COLUMNS = ("channel", "dedup_key", "reply", "at")
ROLLUP_COLUMNS = ("school_id", "day", "checkins", "students_checked_in")


def _record_batch_pg() -> _BinaryStatement:
    """PostgreSQL: a batch's writes as one statement, each table's rows as arrays.

    One round trip instead of one per table, and one execution per table instead of one per
    row: an executemany runs the INSERT (and its constraint triggers' set-up) once per row.
    The CTEs run to completion whether or not they are read; a failing one (a dedupe key
    stored meanwhile by another process) fails the statement, and nothing is written.
    """
    params = {"touched_at": (_ACCOUNT.c.last_inbound_at, False)}
    claimed = postgresql.insert(_SEEN).from_select(
        SEEN_COLUMNS, _unnested(_SEEN, SEEN_COLUMNS, "seen", params)
    )
    touched = (
        update(_ACCOUNT)
        .where(_ACCOUNT.c.id == any_(bindparam("account_ids", type_=postgresql.ARRAY(Integer))))
        .values(last_inbound_at=bindparam("touched_at"))
    )
    recorded = insert(_CHECKIN).from_select(
        CHECKIN_COLUMNS, _unnested(_CHECKIN, CHECKIN_COLUMNS, "checkin", params)
    )
    days = SchoolDay.__table__
    rollups = _unnested(days, ROLLUP_COLUMNS, "rollup", params)
    rolled = postgresql.insert(days).from_select(
        (*ROLLUP_COLUMNS, "journals", "tickets"),
        rollups.add_columns(literal_column("0"), literal_column("0")),
    )
    # The rows come in the caller's (sorted) order: two processes lock them in the same order.
    rolled = rolled.on_conflict_do_update(
        index_elements=["school_id", "day"],
        set_={name: days.c[name] + rolled.excluded[name] for name in ROLLUP_COLUMNS[2:]},
    )
    parts = {"claimed": claimed, "touched": touched, "recorded": recorded, "rolled": rolled}
    statement = sa_select(literal_column("1")).add_cte(
        *(part.cte(name) for name, part in parts.items())
    )
    return _BinaryStatement(statement, params)


_RECORD_BATCH_PG = _record_batch_pg()


def _ignoring(table, *key: str):
    """INSERT ... ON CONFLICT (key) DO NOTHING, one statement per dialect."""
    return {
        "postgresql": postgresql.insert(table).on_conflict_do_nothing(index_elements=list(key)),
        "sqlite": sqlite.insert(table).on_conflict_do_nothing(index_elements=list(key)),
    }


_ALERT_ONCE = _ignoring(_ALERT, "kind", "student_id", "day")


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


def checkin_rows_of_many(conn: Connection, pairs: Iterable[tuple[int, date]]) -> list[Row]:
    """The check-ins of many (student_id, day) pairs, oldest first; rows carry `student_id`.

    One query on PostgreSQL, one per day on SQLite (a batch rarely spans midnight).
    """
    pairs = sorted(set(pairs))
    if conn.dialect.name == "postgresql":
        params = {"student_ids": [p[0] for p in pairs], "days": [p[1] for p in pairs]}
        return list(conn.execute(_CHECKINS_OF_PAIRS, params))
    by_day: dict[date, list[int]] = {}
    for student_id, day in pairs:
        by_day.setdefault(day, []).append(student_id)
    rows = []
    for day, student_ids in by_day.items():
        params = {"student_ids": json.dumps(student_ids), "day": day}
        rows += conn.execute(_CHECKINS_OF_MANY, params)
    return rows


def touch_accounts(conn: Connection, account_ids: list[int], at: datetime) -> None:
    """Open the 48-hour window of many accounts in one statement (`at`: the earliest message)."""
    if account_ids:
        params = {"account_ids": _listed(conn, sorted(set(account_ids))), "b_at": at}
        conn.execute(_TOUCH_MANY[conn.dialect.name], params)


def insert_checkins(conn: Connection, rows: list[dict]) -> None:
    """Insert many check-ins in one executemany (every row has all of CHECKIN_COLUMNS)."""
    if rows:
        _INSERT_CHECKINS(conn, rows)


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


def record_batch(
    conn: Connection,
    *,
    claims: list[dict],
    account_ids: list[int],
    touched_at: datetime | None,
    checkins: list[dict],
    rollups: list[tuple[int, date, int, int]],
) -> None:
    """A check-in batch's writes, just before its commit.

    `claims`: dedupe rows (channel, dedup_key, reply, at), a plain INSERT (see claim_inbounds);
    `account_ids`: 48-hour windows to open at `touched_at`; `checkins`: rows with all of
    CHECKIN_COLUMNS; `rollups`: sorted (school_id, day, checkins, students_checked_in) to add.
    One statement on PostgreSQL; on SQLite (no round trips) one per table, the dedupe rows
    first, so that a key stored meanwhile fails the batch before anything else is written.
    """
    if not claims:
        return  # every job fell back or was a duplicate: nothing to write
    if conn.dialect.name != "postgresql":
        claim_inbounds(conn, claims)
        touch_accounts(conn, account_ids, touched_at)
        insert_checkins(conn, checkins)
        for school_id, day, added, students in rollups:
            bump_school_day(
                conn, school_id=school_id, day=day, checkins=added, students_checked_in=students
            )
        return
    params: dict = {
        "account_ids": sorted(set(account_ids)),
        "touched_at": touched_at,
    }
    for prefix, columns, rows in (
        ("seen", SEEN_COLUMNS, claims),
        ("checkin", CHECKIN_COLUMNS, checkins),
        ("rollup", ROLLUP_COLUMNS, [dict(zip(ROLLUP_COLUMNS, r, strict=True)) for r in rollups]),
    ):
        params.update((f"{prefix}_{name}", [row[name] for row in rows]) for name in columns)
    _RECORD_BATCH_PG(conn, params)


def student_name(conn: Connection, *, student_id: int) -> str:
    return conn.execute(_STUDENT_NAME, {"student_id": student_id}).scalar() or ""


def insert_alert_once(conn: Connection, values: dict) -> None:
    """One alert per (kind, student, day): a second one is silently skipped."""
    conn.execute(_ALERT_ONCE[conn.dialect.name], values)
