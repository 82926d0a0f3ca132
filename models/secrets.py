"""Secrets generated once and shared by every process through the database."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.channel import ApiCredential
from models.queue import insert_ignoring_duplicates
from models.types import utcnow

NEVER = datetime(9999, 1, 1, tzinfo=UTC)


def shared_secret(engine: Engine, name: str) -> str:
    """The secret called `name`, created on first use; concurrent first uses agree on one."""
    with Session(engine) as session:
        row = [
            dict(name=name, value=secrets.token_urlsafe(32), expires_at=NEVER, updated_at=utcnow())
        ]
        insert_ignoring_duplicates(session, ApiCredential.__table__, row, key="name")
        session.commit()
        return session.exec(select(ApiCredential.value).where(ApiCredential.name == name)).one()
