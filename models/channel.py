"""Chat identities and their plumbing: bindings, invite codes, conversation state, dedupe."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import AwareDateTime, utcnow

PERSON_KINDS = ("student", "teacher", "parent", "mentor", "school_admin")


class ChannelAccount(SQLModel, table=True):
    """The binding of a WeChat openid / Telegram user / terminal user to a person."""

    __tablename__ = "channel_accounts"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_channel_accounts_person", "person_kind", "person_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)  # wechat | telegram | console
    external_id: str = Field(max_length=64)
    person_kind: str = Field(max_length=16)
    person_id: int
    school_id: int | None = Field(default=None, foreign_key="schools.id")
    language: str = Field(default="zh", max_length=8)
    display_name: str = Field(default="", max_length=64)
    active: bool = True
    bound_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    # WeChat lets us send free-form custom messages only within 48 h of the user's last message.
    last_inbound_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class InviteCode(SQLModel, table=True):
    __tablename__ = "invite_codes"
    __table_args__ = (Index("ix_invite_codes_person", "person_kind", "person_id"),)
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=16, unique=True)
    person_kind: str = Field(max_length=16)
    person_id: int
    school_id: int | None = Field(default=None, foreign_key="schools.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    expires_at: datetime = Field(sa_type=AwareDateTime)
    used_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    used_by: int | None = Field(default=None, foreign_key="channel_accounts.id")


class BindFailure(SQLModel, table=True):
    """A wrong invite code from a sender; five within an hour lock the sender out."""

    __tablename__ = "bind_failures"
    __table_args__ = (Index("ix_bind_failures_sender", "channel", "external_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=64)
    at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class ConversationState(SQLModel, table=True):
    """Which step of a dialog a chat user is in; webhooks stay stateless."""

    __tablename__ = "conversation_states"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=64)
    state: str = Field(max_length=32)
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    expires_at: datetime = Field(sa_type=AwareDateTime)


class InboundSeen(SQLModel, table=True):
    """Inbound messages already handled (WeChat MsgId, event triple, Telegram update_id)."""

    __tablename__ = "inbound_seen"
    __table_args__ = (UniqueConstraint("channel", "dedup_key"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    dedup_key: str = Field(max_length=128)
    reply: str | None = None  # the passive reply given the first time
    at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime, index=True)


class ApiCredential(SQLModel, table=True):
    """Upstream credentials shared by every process (e.g. the WeChat access token)."""

    __tablename__ = "api_credentials"
    name: str = Field(primary_key=True, max_length=64)
    value: str
    expires_at: datetime = Field(sa_type=AwareDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
