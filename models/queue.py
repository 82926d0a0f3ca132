"""Putting messages into the outbox: one row per bound chat account, never the same key twice."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models.channel import ChannelAccount
from models.outbox import OutboxMessage
from models.types import utcnow


def insert_ignoring_duplicates(session: Session, table, rows: list[dict], *, key: str) -> int:
    """INSERT rows, skipping those whose unique `key` already exists; returns rows inserted."""
    if not rows:
        return 0
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(rows).on_conflict_do_nothing(index_elements=[key])
    # Without preserve_rowcount, SQLAlchemy 2.1 on psycopg reports -1 for this statement.
    result = session.execute(stmt, execution_options={"preserve_rowcount": True})
    return max(result.rowcount or 0, 0)


def enqueue(
    session: Session,
    *,
    person_kind: str,
    person_id: int,
    key: str,
    kind: str = "notice",
    text: str | None = None,
    params: dict | None = None,
    school_id: int | None = None,
    quiet_hours: bool = False,
    not_before: datetime | None = None,
    expires_at: datetime | None = None,
    day: date | None = None,
) -> int:
    """Queue a message to every active chat account of a person; returns rows newly queued."""
    accounts = session.execute(
        select(ChannelAccount.channel, ChannelAccount.external_id).where(
            ChannelAccount.person_kind == person_kind,
            ChannelAccount.person_id == person_id,
            ChannelAccount.active.is_(True),
        )
    ).all()
    now = utcnow()
    rows = [
        dict(
            idempotency_key=f"{key}:{channel}:{external_id}",
            school_id=school_id,
            kind=kind,
            channel=channel,
            to_external_id=external_id,
            person_kind=person_kind,
            person_id=person_id,
            day=day,
            text=text,
            params=params or {},
            quiet_hours=quiet_hours,
            status="pending",
            attempts=0,
            next_attempt_at=not_before or now,
            expires_at=expires_at,
            last_error="",
            upstream_id="",
            created_at=now,
        )
        for channel, external_id in accounts
    ]
    return insert_ignoring_duplicates(session, OutboxMessage.__table__, rows, key="idempotency_key")
