"""Console users, API tokens and the audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from models.types import AwareDateTime, utcnow

ROLES = ("province", "school", "teacher")


class ConsoleUser(SQLModel, table=True):
    __tablename__ = "console_users"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=12)
    school_id: int | None = Field(default=None, foreign_key="schools.id")
    teacher_id: int | None = Field(default=None, foreign_key="teachers.id")
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=AwareDateTime)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # Part of every signed session cookie; changing it (logout, lock-out) ends all sessions.
    session_nonce: str = Field(default="", max_length=32)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_tokens"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="console_users.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)  # sha256 hex; the token is shown once
    name: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # A token stops working at expires_at; migration 0004 gave older tokens one.
    expires_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    revoked: bool = False
    revoked_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    actor: str = Field(max_length=64)  # username, "cli", or "chat:<channel>:<id>"
    action: str = Field(max_length=64)
    target_kind: str = Field(default="", max_length=32)
    target_id: str = Field(default="", max_length=64)
    school_id: int | None = Field(default=None, foreign_key="schools.id")
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
