"""Compliance findings (SPEC section 12), the daily run marker and per-school tallies."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import AwareDateTime, utcnow

FINDING_STATUSES = ("open", "resolved", "waived")


class Finding(SQLModel, table=True):
    """One rule broken by one placement: kept until it is no longer true or is waived.

    On PostgreSQL the table has fillfactor 50 (migration 0012): the daily sweep updates every
    open finding's last_seen, and half-empty pages let those updates stay HOT.
    """

    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("placement_id", "rule"),
        Index("ix_findings_school_status", "school_id", "status"),
        Index("ix_findings_student", "student_id"),
        Index("ix_findings_rule_status", "rule", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(max_length=24)
    article: str = Field(max_length=120)
    severity: str = Field(max_length=8)  # critical | major
    school_id: int = Field(foreign_key="schools.id")
    student_id: int = Field(foreign_key="students.id")
    placement_id: int = Field(foreign_key="placements.id")
    company_id: int = Field(foreign_key="companies.id")
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    evidence: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    first_seen: date
    last_seen: date
    status: str = Field(default="open", max_length=12)
    note: str = Field(default="", max_length=2000)
    waived_by: str = Field(default="", max_length=64)
    resolved_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # When the student's teacher was told in chat (critical findings only); None = not yet.
    notified_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class ComplianceRun(SQLModel, table=True):
    """The daily check of one local day: the first scheduler to insert it does the work."""

    __tablename__ = "compliance_runs"
    day: date = Field(primary_key=True)
    started_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    counts: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ComplianceTally(SQLModel, table=True):
    """Per school and rule, as of the last check: placements checked, open, unknown.

    rule "*" counts placements: `open` those with any open finding, `unknown` those with any
    rule whose data is missing. The compliance page and the dashboard read these.
    """

    __tablename__ = "compliance_tallies"
    school_id: int = Field(foreign_key="schools.id", primary_key=True)
    rule: str = Field(max_length=24, primary_key=True)
    day: date
    placements: int = 0
    open: int = 0
    waived: int = 0
    unknown: int = 0
