"""INSERT ... SELECT into the outbox, skipping keys already there (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Date, Integer, Select, String, cast, literal, literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models import ChannelAccount, OutboxMessage
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


def key_expr(prefix: str, person_id, suffix: str):
    """SQL for f"{prefix}:{person_id}:{suffix}:{channel}:{external_id}" (per chat account)."""
    return (
        literal(f"{prefix}:")
        + cast(person_id, String)
        + literal(f":{suffix}:")
        + ChannelAccount.channel
        + literal(":")
        + ChannelAccount.external_id
    )


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
) -> list:
    """The SELECT list for one outbox row per joined ChannelAccount; text renders at send time."""
    empty_json = "'{}'::json" if _is_pg(session) else "'{}'"
    return [
        key.label("idempotency_key"),
        school_id,
        literal(kind, String),
        ChannelAccount.channel,
        ChannelAccount.external_id,
        literal(person_kind, String),
        person_id,
        literal(day, Date),
        cast(literal(None), String),
        literal_column(empty_json),
        literal(quiet_hours, Boolean),
        literal("pending", String),
        literal(0, Integer),
        literal(now, AwareDateTime()),
        literal(expires_at, AwareDateTime()),
        literal("", String),
        literal("", String),
        literal(now, AwareDateTime()),
    ]


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
