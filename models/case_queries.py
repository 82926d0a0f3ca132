"""Small keyword-only reads and writes of tickets, alerts and their notes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import Integer, bindparam, func, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Row

from models.batch_sql import bind_of
from models.console import ConsoleUser
from models.leave import Leave
from models.people import Student
from models.prepared import Prepared, PreparedInsert, Read, RowsInsert
from models.records import MakeupRequest
from models.tickets import Alert, CaseNote, Ticket

_TICKET = Ticket.__table__
_ALERT = Alert.__table__
_NOTE = CaseNote.__table__
_USER = ConsoleUser.__table__

_OPEN_COUNT = sa_select(func.count()).where(
    _TICKET.c.student_id == bindparam("student_id"), _TICKET.c.status != "resolved"
)
_INSERT_TICKET = PreparedInsert(_TICKET, _TICKET.c.id)
# Ticket numbers taken from the table's own sequence ahead of the inserts (PostgreSQL).
_NEXT_TICKET_IDS = Prepared(
    sa_select(func.nextval(func.pg_get_serial_sequence("tickets", "id")).label("id")).select_from(
        func.generate_series(1, bindparam("n", type_=Integer))
    )
)
_INSERT_TICKET_WITH_ID = PreparedInsert(_TICKET)
# A batch's tickets and notes: on PostgreSQL one INSERT from arrays for all of them (RowsInsert),
# where an executemany runs (and plans) one per row; every column, each one a row leaves out
# filled with its Python default.
_INSERT_TICKET_ROWS = RowsInsert(_TICKET, tuple(column.key for column in _TICKET.c))
RESERVED_TICKET_IDS = "reserved_ticket_ids"  # the writer batch's numbers taken in advance
TICKET_ROWS = "tickets"  # the batch's collection of tickets to insert (Batch.rows)
_INSERT_NOTE = PreparedInsert(_NOTE)
_INSERT_NOTE_ROWS = RowsInsert(_NOTE, ("case_kind", "case_id", "actor", "status", "note", "at"))
_ALERT_OF_DAY = sa_select(_ALERT.c.id).where(
    _ALERT.c.kind == bindparam("kind"),
    _ALERT.c.student_id == bindparam("student_id"),
    _ALERT.c.day == bindparam("day"),
)
_INSERT_ALERT = insert(_ALERT).returning(_ALERT.c.id)
_REOPEN_ALERT = (
    update(_ALERT)
    .where(_ALERT.c.id == bindparam("b_id"))
    .values(
        severity=bindparam("severity"),
        status="open",
        message=bindparam("message"),
        ticket_id=bindparam("ticket_id"),
        updated_at=bindparam("updated_at"),
    )
)
_SCHOOL_ADMINS = (
    sa_select(_USER.c.id)
    .where(
        _USER.c.role == "school",
        _USER.c.school_id == bindparam("school_id"),
        _USER.c.active.is_(True),
    )
    .order_by(_USER.c.id)
)
_TICKET_BY_ID = sa_select(_TICKET).where(_TICKET.c.id == bindparam("id"))
_SET_CATEGORY = (
    update(_TICKET)
    .where(_TICKET.c.id == bindparam("b_id"))
    .values(
        category=bindparam("category"),
        categories=bindparam("categories"),
        updated_at=bindparam("updated_at"),
    )
)
_NOTE_COUNT = sa_select(func.count()).where(
    _NOTE.c.case_kind == bindparam("kind"), _NOTE.c.case_id == bindparam("case_id")
)


def open_ticket_count(executor, *, student_id: int) -> int:
    """A student's tickets not yet resolved."""
    return int(executor.execute(_OPEN_COUNT, {"student_id": student_id}).scalar() or 0)


def ticket_by_id(executor, *, ticket_id: int) -> Row | None:
    return executor.execute(_TICKET_BY_ID, {"id": ticket_id}).first()


def set_ticket_category(executor, *, ticket_id: int, categories: list[str], now: datetime) -> None:
    """The main category is the first of `categories`."""
    params = dict(b_id=ticket_id, category=categories[0], categories=categories, updated_at=now)
    executor.execute(_SET_CATEGORY, params)


def reserve_ticket_ids_read(executor, *, count: Callable[[], int]) -> Read | None:
    """count() ticket numbers from the tickets' sequence, to read with a batch's other reads,
    so that its tickets can be inserted with the batch's other writes (insert_ticket); None
    where the database has no sequence to take them from (SQLite: an insert there is no round
    trip, and count is not called) or none is wanted."""
    if bind_of(executor).dialect.name != "postgresql":
        return None
    n = count()
    if n <= 0:
        return None
    return Read(_NEXT_TICKET_IDS, {"n": n}, lambda rows: [row.id for row in rows])


def insert_ticket(executor, *, batch=None, at_once: bool = False, **values) -> int:
    """Insert a ticket and return its id. With the inbound path's writer `batch` holding a
    reserved number (reserve_ticket_ids_read), it takes that number and, unless `at_once`,
    the row is written with the batch's other writes before its commit: a job of the batch
    that reads tickets first calls `batch.write_now(conn, TICKET_ROWS)`."""
    reserved = batch.data.get(RESERVED_TICKET_IDS) if batch is not None else None
    if not reserved:
        return _INSERT_TICKET.scalar(executor, values)
    row = {"id": reserved.pop(0), **values}
    if at_once:
        _INSERT_TICKET_WITH_ID.run(executor, row)
    else:
        batch.rows(TICKET_ROWS, _INSERT_TICKET_ROWS).append(row)
    return row["id"]


def add_case_note(
    executor,
    *,
    kind: str,
    case_id: int,
    actor: str,
    status: str,
    note: str,
    at: datetime,
    batch=None,
) -> None:
    """One step in a case's history (a note alone when the status stays); with the inbound
    path's writer `batch`, written with the batch's other writes before its commit."""
    row = dict(case_kind=kind, case_id=case_id, actor=actor[:64], status=status, note=note, at=at)
    if batch is None:
        _INSERT_NOTE.run(executor, row)
    else:
        batch.rows("case_notes", _INSERT_NOTE_ROWS).append(row)


def note_count(executor, *, kind: str, case_id: int) -> int:
    return int(executor.execute(_NOTE_COUNT, {"kind": kind, "case_id": case_id}).scalar() or 0)


def raise_alert(
    executor,
    *,
    kind: str,
    school_id: int,
    student_id: int,
    day: date,
    severity: str,
    message: str,
    now: datetime,
    ticket_id: int | None = None,
) -> int:
    """Open the (kind, student, day) alert, or reopen it with this message; returns its id."""
    found = executor.execute(
        _ALERT_OF_DAY, {"kind": kind, "student_id": student_id, "day": day}
    ).scalar()
    if found is not None:
        executor.execute(
            _REOPEN_ALERT,
            dict(
                b_id=found, severity=severity, message=message, ticket_id=ticket_id, updated_at=now
            ),
        )
        return found
    values = dict(
        school_id=school_id,
        student_id=student_id,
        kind=kind,
        severity=severity,
        day=day,
        message=message,
        ticket_id=ticket_id,
        status="open",
        created_at=now,
        updated_at=now,
    )
    return executor.execute(_INSERT_ALERT, values).scalar_one()


def school_admin_ids(executor, *, school_id: int) -> list[int]:
    """The active console admins of a school (they are told of urgent and escalated cases)."""
    return list(executor.execute(_SCHOOL_ADMINS, {"school_id": school_id}).scalars())


def open_counts(executor, *, students) -> dict[str, int]:
    """What waits on someone overseeing the students meeting `students` (a condition on
    Student): unresolved tickets and alerts, pending leave and make-up requests."""
    mine = sa_select(Student.id).where(students)
    waiting = {
        "tickets": (Ticket, Ticket.status != "resolved"),
        "alerts": (Alert, Alert.status != "resolved"),
        "leaves": (Leave, Leave.status == "pending"),
        "makeups": (MakeupRequest, MakeupRequest.status == "pending"),
    }
    counts = [
        sa_select(func.count())
        .where(model.student_id.in_(mine), open_)
        .scalar_subquery()
        .label(name)
        for name, (model, open_) in waiting.items()
    ]
    return dict(executor.execute(sa_select(*counts)).one()._mapping)
