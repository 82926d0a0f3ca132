"""Tickets (维权/反馈/求助) and alerts, each with a history of status changes and notes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import AwareDateTime, utcnow

TICKET_CATEGORIES = (
    "wages",
    "overtime",
    "safety",
    "harassment",
    "fees",
    "housing",
    "contract",
    "other",
)
URGENT_CATEGORIES = ("safety", "harassment")
STATUSES = ("open", "acknowledged", "handling", "resolved")  # tickets and alerts alike
OPEN_CASE = STATUSES[:-1]  # every status short of resolved


class Ticket(SQLModel, table=True):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_school_status", "school_id", "status"),
        Index("ix_tickets_school_created", "school_id", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="schools.id")
    student_id: int = Field(foreign_key="students.id", index=True)
    category: str = Field(max_length=12)  # the main one
    # Every category that applies, the main one first (a wages report about a withheld ID
    # card is wages and fees).
    categories: list = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    severity: str = Field(default="normal", max_length=8)  # normal | urgent
    description: str
    status: str = Field(default="open", max_length=12)
    notify_parent: bool = False
    escalated_at: datetime | None = Field(default=None, sa_type=AwareDateTime)  # to the school
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class Alert(SQLModel, table=True):
    """Something a teacher or school must look at; one per (kind, student, day)."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("kind", "student_id", "day"),
        Index("ix_alerts_school_status", "school_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="schools.id")
    student_id: int = Field(foreign_key="students.id")
    kind: str = Field(max_length=24)  # missing | lost_contact | urgent_ticket | outside_fence
    severity: str = Field(default="normal", max_length=8)
    day: date
    message: str = ""
    ticket_id: int | None = Field(default=None, foreign_key="tickets.id")
    status: str = Field(default="open", max_length=12)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class CaseNote(SQLModel, table=True):
    """One step in a ticket's or alert's workflow: who moved it where, and why."""

    __tablename__ = "case_notes"
    __table_args__ = (Index("ix_case_notes_case", "case_kind", "case_id"),)
    id: int | None = Field(default=None, primary_key=True)
    case_kind: str = Field(max_length=8)  # ticket | alert
    case_id: int
    actor: str = Field(max_length=64)
    status: str = Field(max_length=12)
    note: str = ""
    at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


__all__ = ["Alert", "CaseNote", "Ticket", "date"]
