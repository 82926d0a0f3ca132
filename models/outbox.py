"""The durable outbox: every message the system pushes on its own."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from models.types import AwareDateTime, utcnow


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    # Only what the queue's own queries use: sweeps insert a province's messages at once, and
    # each index or foreign-key check is paid per row (migration 0002).
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=160, unique=True)
    school_id: int | None = None  # the school the message is about (a label, not a reference)
    kind: str = Field(max_length=32)  # nudge | teacher_digest | parent_alert | ... | notice
    channel: str = Field(max_length=16)
    to_external_id: str = Field(max_length=64)
    person_kind: str = Field(default="", max_length=16)
    person_id: int | None = None
    day: date | None = None
    text: str | None = None  # rendered text; None means render from kind + params at send time
    params: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    quiet_hours: bool = False  # respect quiet hours (students and parents)
    status: str = Field(default="pending", max_length=12)  # pending|sending|sent|failed|expired
    # The delivery pass whose lock must be held while the row is 'sending' (bot/outbox_owner.py).
    claimed_by: int | None = Field(default=None, sa_type=BigInteger)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    last_error: str = ""
    upstream_id: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
