"""INSERT ... SELECT into the outbox, skipping keys already there (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Date,
    Integer,
    Select,
    String,
    cast,
    func,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.types import JSON
from sqlmodel import Session

from models import ChannelAccount, OutboxMessage, Placement, Student
from models.types import AwareDateTime

# The columns a sweep's SELECT must produce, in this order.
COLUMNS = (
    "idempotency_key",
    "school_id",
    "kind",
    "channel",
    "to_external_id",
    "person_kind",
    "person_id",
    "day",
    "text",
    "params",
    "quiet_hours",
    "status",
    "attempts",
    "next_attempt_at",
    "expires_at",
    "last_error",
    "upstream_id",
    "created_at",
)


def key_expr(prefix: str, person_id, suffix: str, *more):
    """SQL for f"{prefix}:{person_id}:{suffix}[:{more}...]:{channel}:{external_id}"."""
    expr = literal(f"{prefix}:") + cast(person_id, String) + literal(f":{suffix}")
    for part in more:
        expr = expr + literal(":") + cast(part, String)
    return expr + literal(":") + ChannelAccount.channel + literal(":") + ChannelAccount.external_id


_FIELD = re.compile(r"\{(\w+)\}")


def sql_format(template: str, **values):
    """SQL for template.format(**values) with SQL expressions as values (NULL prints as '')."""
    parts = _FIELD.split(template)
    expr = literal(parts[0], String)
    for i in range(1, len(parts), 2):
        expr = expr + func.coalesce(cast(values[parts[i]], String), "")
        if parts[i + 1]:
            expr = expr + literal(parts[i + 1], String)
    return expr


def json_expr(session: Session, text_expr):
    """A JSON document built as text in SQL, typed for the params column."""
    return cast(text_expr, JSON) if _is_pg(session) else text_expr


def json_object(session: Session, **values):
    """A JSON object built in SQL from named SQL expressions (strings escaped by the database)."""
    args = [part for name, expr in values.items() for part in (literal(name, String), expr)]
    if _is_pg(session):
        return func.json_build_object(*args)
    return func.json_object(*args)


def row_columns(
    session: Session,
    *,
    key,
    school_id,
    kind: str,
    person_kind: str,
    person_id,
    day,
    quiet_hours: bool,
    now: datetime,
    expires_at: datetime | None,
    text=None,
    params=None,
) -> list:
    """The SELECT list for one outbox row per joined ChannelAccount.

    Without `text` the message renders at send time (core.notices.render); `params` is a JSON
    expression (json_expr), '{}' when omitted.
    """
    if params is None:
        params = literal_column("'{}'::json" if _is_pg(session) else "'{}'")
    return [
        key.label("idempotency_key"),
        school_id,
        literal(kind, String),
        ChannelAccount.channel,
        ChannelAccount.external_id,
        literal(person_kind, String),
        person_id,
        literal(day, Date),
        cast(literal(None), String) if text is None else text,
        params,
        literal(quiet_hours, Boolean),
        literal("pending", String),
        literal(0, Integer),
        literal(now, AwareDateTime()),
        literal(expires_at, AwareDateTime()),
        literal("", String),
        literal("", String),
        literal(now, AwareDateTime()),
    ]


SWEEP_WORK_MEM = "256MB"  # per sort or hash, for this one transaction


def tune_for_bulk(session: Session) -> None:
    """Settings for a sweep over a province's placements, for this transaction only.

    On PostgreSQL: JIT compiling one-off statements costs more than it saves, and the sorts
    and hashes over half a million placements fit in memory instead of spilling to disk.
    """
    if _is_pg(session):
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text(f"SET LOCAL work_mem = '{SWEEP_WORK_MEM}'"))


def insert_select(session: Session, select_stmt: Select) -> int:
    """Run INSERT INTO outbox SELECT ... ON CONFLICT (idempotency_key) DO NOTHING."""
    dialect = postgresql if _is_pg(session) else sqlite
    stmt = (
        dialect.insert(OutboxMessage.__table__)
        .from_select(list(COLUMNS), select_stmt)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    # Without preserve_rowcount, SQLAlchemy 2.1 on psycopg reports -1 for INSERT ... SELECT.
    result = session.execute(stmt, execution_options={"preserve_rowcount": True})
    return max(result.rowcount or 0, 0)


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def joined(session: Session, expr, order_by, sep: str = "\n"):
    """Aggregate: the group's `expr`s joined by `sep` in `order_by` order (NULLs skipped).

    SQLite before 3.44 has no ORDER BY inside group_concat, but it keeps the order of an
    ordered subquery for an aggregate on purpose (its flattener refuses that case, for
    group_concat), so callers aggregate over a subquery sorted by group and `order_by`.
    """
    if _is_pg(session):
        return func.string_agg(expr, aggregate_order_by(literal(sep), order_by))
    return func.group_concat(expr, sep)


def text_order(session: Session, column):
    """Sort text by code point, as Python does, whatever the database's collation."""
    return column.collate("C") if _is_pg(session) else column


def student_params(session: Session):
    """Params naming the placement's student, for a template's {student} (SPEC section 9)."""
    name = select(Student.name).where(Student.id == Placement.student_id).scalar_subquery()
    return json_object(session, student=name)


def placements_with_student_chats(*columns):
    """SELECT columns FROM placements joined to each student's active chat accounts."""
    return (
        select(*columns)
        .select_from(Placement)
        .join(
            ChannelAccount,
            (ChannelAccount.person_kind == "student")
            & (ChannelAccount.person_id == Placement.student_id)
            & ChannelAccount.active.is_(True),
        )
    )
