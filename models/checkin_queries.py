"""Small keyword-only queries about placements, check-ins and a student's people."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import bindparam, insert, update
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
# Rowcounts of these statements decide things: psycopg reports -1 for some unless asked.
_COUNTED = {"preserve_rowcount": True}

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
_TOUCH_ACCOUNT = (
    update(_ACCOUNT)
    .where(
        _ACCOUNT.c.id == bindparam("account_id"),
        _ACCOUNT.c.active.is_(True),
        _ACCOUNT.c.person_kind == bindparam("b_person_kind"),
        _ACCOUNT.c.person_id == bindparam("b_person_id"),
    )
    .values(last_inbound_at=bindparam("b_at"))
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
_SENDER = (
    sa_select(
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
        _ACCOUNT.c.external_id == bindparam("external_id"),
        _ACCOUNT.c.active.is_(True),
    )
)
# The same for many senders of one channel at once (external_id tells the rows apart).
_SENDERS = (
    sa_select(_ACCOUNT.c.external_id, *_SENDER.selected_columns)
    .select_from(_SENDER.get_final_froms()[0])
    .where(
        _ACCOUNT.c.channel == bindparam("channel"),
        _ACCOUNT.c.external_id.in_(bindparam("external_ids", expanding=True)),
        _ACCOUNT.c.active.is_(True),
    )
)
_TOUCH_MANY = (
    update(_ACCOUNT)
    .where(_ACCOUNT.c.id.in_(bindparam("account_ids", expanding=True)))
    .values(last_inbound_at=bindparam("b_at"))
)
_CHECKINS_ON = (
    sa_select(
        *(_CHECKIN.c[name] for name in ("id", "at", "day", "kind", "norm_lat", "norm_lng")),
        *(_CHECKIN.c[name] for name in ("distance_m", "within_fence", "source")),
    )
    .where(_CHECKIN.c.student_id == bindparam("student_id"), _CHECKIN.c.day == bindparam("day"))
    .order_by(_CHECKIN.c.at, _CHECKIN.c.id)
)
_CHECKINS_OF_MANY = (
    sa_select(_CHECKIN.c.student_id, *_CHECKINS_ON.selected_columns)
    .where(
        _CHECKIN.c.student_id.in_(bindparam("student_ids", expanding=True)),
        _CHECKIN.c.day == bindparam("day"),
    )
    .order_by(_CHECKIN.c.at, _CHECKIN.c.id)
)
_STORED_REPLY = sa_select(_SEEN.c.reply).where(
    _SEEN.c.channel == bindparam("channel"), _SEEN.c.dedup_key == bindparam("key")
)
_STUDENT_SCHOOL = sa_select(_STUDENT.c.school_id).where(_STUDENT.c.id == bindparam("student_id"))
_STUDENT_NAME = sa_select(_STUDENT.c.name).where(_STUDENT.c.id == bindparam("student_id"))
_INSERT_CHECKIN = insert(_CHECKIN)


def _ignoring(table, *key: str):
    """INSERT ... ON CONFLICT (key) DO NOTHING, one statement per dialect."""
    return {
        "postgresql": postgresql.insert(table).on_conflict_do_nothing(index_elements=list(key)),
        "sqlite": sqlite.insert(table).on_conflict_do_nothing(index_elements=list(key)),
    }


_CLAIM = _ignoring(_SEEN, "channel", "dedup_key")
_ALERT_ONCE = _ignoring(_ALERT, "kind", "student_id", "day")


def active_account_row(conn: Connection, *, channel: str, external_id: str) -> Row | None:
    """(id, person_kind, person_id, school_id, language) of an active binding."""
    return conn.execute(
        _ACCOUNT_BY_SENDER, {"channel": channel, "external_id": external_id}
    ).first()


def touch_account(conn: Connection, *, account: Row, at: datetime) -> bool:
    """Open the 48-hour window; False when the binding is no longer exactly `account`.

    This is also what makes a cached binding safe: a row unbound or rebound by any process
    since it was cached matches no row here, and the caller falls back to the full path.
    """
    params = {
        "account_id": account.id,
        "b_person_kind": account.person_kind,
        "b_person_id": account.person_id,
        "b_at": at,
    }
    return conn.execute(_TOUCH_ACCOUNT, params, execution_options=_COUNTED).rowcount == 1


def sender_rows(conn: Connection, *, channel: str, external_id: str) -> list[Row]:
    """An active binding with its student's school and placements, in one query.

    One row per placement (a single row with NULL p_* columns when there is none, and no row
    when the sender is not bound); placement columns are prefixed `p_` (see PLACEMENT_FACTS).
    """
    return list(conn.execute(_SENDER, {"channel": channel, "external_id": external_id}))


def senders_rows(conn: Connection, *, channel: str, external_ids: list[str]) -> list[Row]:
    """sender_rows for many senders in one query; each row also carries `external_id`."""
    params = {"channel": channel, "external_ids": external_ids}
    return list(conn.execute(_SENDERS, params))


def checkin_rows_of_many(conn: Connection, *, student_ids: list[int], day: date) -> list[Row]:
    """checkin_rows_on for many students in one query; rows also carry `student_id`."""
    return list(conn.execute(_CHECKINS_OF_MANY, {"student_ids": student_ids, "day": day}))


def touch_accounts(conn: Connection, account_ids: list[int], at: datetime) -> None:
    """Open the 48-hour window of many accounts in one statement (`at`: the earliest message)."""
    if account_ids:
        conn.execute(_TOUCH_MANY, {"account_ids": sorted(set(account_ids)), "b_at": at})


def insert_checkins(conn: Connection, rows: list[dict]) -> None:
    """Insert many check-ins in one executemany (one statement compiled once; rows alike)."""
    if rows:
        conn.execute(_INSERT_CHECKIN, rows)


def placement_rows(conn: Connection, *, student_id: int) -> list[Row]:
    return list(conn.execute(_PLACEMENTS_OF, {"student_id": student_id}))


def checkin_rows_on(conn: Connection, *, student_id: int, day: date) -> list[Row]:
    """A student's check-ins of one day, oldest first, with what the rules and receipts read."""
    return list(conn.execute(_CHECKINS_ON, {"student_id": student_id, "day": day}))


def claim_inbound(conn: Connection, *, channel: str, key: str, reply: str, at: datetime) -> bool:
    """Insert the dedupe row with its reply; False when the key was already there."""
    values = {"channel": channel, "dedup_key": key[:128], "reply": reply, "at": at}
    stmt = _CLAIM[conn.dialect.name]
    return conn.execute(stmt, values, execution_options=_COUNTED).rowcount == 1


def stored_reply(conn: Connection, *, channel: str, key: str) -> str:
    """The reply stored for an inbound key ('' while the first delivery is still unanswered)."""
    return conn.execute(_STORED_REPLY, {"channel": channel, "key": key[:128]}).scalar() or ""


def insert_checkin(conn: Connection, values: dict) -> None:
    conn.execute(_INSERT_CHECKIN, values)


def student_school(conn: Connection, *, student_id: int) -> int | None:
    return conn.execute(_STUDENT_SCHOOL, {"student_id": student_id}).scalar()


def student_name(conn: Connection, *, student_id: int) -> str:
    return conn.execute(_STUDENT_NAME, {"student_id": student_id}).scalar() or ""


def insert_alert_once(conn: Connection, values: dict) -> None:
    """One alert per (kind, student, day): a second one is silently skipped."""
    conn.execute(_ALERT_ONCE[conn.dialect.name], values)
