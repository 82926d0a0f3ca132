"""What students produce: check-ins (with location evidence), journals and make-up requests."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import AwareDateTime, utcnow


class CheckIn(SQLModel, table=True):
    __tablename__ = "checkins"
    __table_args__ = (
        Index("ix_checkins_school_day", "school_id", "day"),
        Index("ix_checkins_student_day", "student_id", "day"),
        Index("ix_checkins_day_at", "day", "at"),
        Index("ix_checkins_point_day_student", "point", "day", "student_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="schools.id")
    student_id: int = Field(foreign_key="students.id")
    placement_id: int = Field(foreign_key="placements.id", index=True)
    day: date  # the local (Asia/Shanghai) workday it counts for
    at: datetime = Field(sa_type=AwareDateTime)
    kind: str = Field(max_length=8)  # start (上班) | end (下班)
    # Coordinates are personal data: the retention sweep clears them (NULL) once the
    # placement ended longer ago than [privacy] retain_days_after_end; the row stays.
    raw_lat: float | None
    raw_lng: float | None
    datum: str = Field(max_length=8)  # gcj02 | wgs84 | bd09
    norm_lat: float | None  # GCJ-02
    norm_lng: float | None
    distance_m: float
    within_fence: bool
    source: str = Field(default="location", max_length=16)  # location | event | live | makeup
    accuracy_m: float | None = None
    label: str = Field(default="", max_length=255)
    channel: str = Field(default="", max_length=16)
    # Evidence (SPEC 11, core/evidence.py): device | event | live | pin; flags comma-separated.
    evidence: str = Field(default="pin", max_length=8)
    flags: str = Field(default="", max_length=96)
    point: str | None = Field(default=None, max_length=24)  # raw coordinates to 6 decimals
    verify: str = Field(default="", max_length=8)  # '' | pending (待核实) | accepted
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class LocationSample(SQLModel, table=True):
    """Passive location evidence: WeChat LOCATION events, Telegram live-location updates."""

    __tablename__ = "location_samples"
    __table_args__ = (Index("ix_location_samples_student_at", "student_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    school_id: int | None = Field(default=None, foreign_key="schools.id")
    student_id: int | None = Field(default=None, foreign_key="students.id")
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=64)
    at: datetime = Field(sa_type=AwareDateTime)
    lat: float
    lng: float
    datum: str = Field(max_length=8)
    accuracy_m: float | None = None
    live_period: int | None = None
    source: str = Field(default="event", max_length=16)


class Journal(SQLModel, table=True):
    __tablename__ = "journals"
    __table_args__ = (
        UniqueConstraint("student_id", "kind", "period_start"),
        Index("ix_journals_school_submitted", "school_id", "submitted_at"),
        Index("ix_journals_status", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="schools.id")
    student_id: int = Field(foreign_key="students.id")
    kind: str = Field(max_length=8)  # daily | weekly | monthly | summary
    period_start: date
    text: str
    char_count: int = 0
    keywords: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="submitted", max_length=12)  # submitted | graded
    score: int | None = None
    comment: str = ""
    submitted_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    graded_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    graded_by: str = Field(default="", max_length=64)


class MakeupRequest(SQLModel, table=True):
    """补卡: a student's request to count a missed day, decided by the teacher."""

    __tablename__ = "makeup_requests"
    __table_args__ = (UniqueConstraint("student_id", "day"),)
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="schools.id", index=True)
    student_id: int = Field(foreign_key="students.id")
    day: date
    reason: str
    status: str = Field(default="pending", max_length=12)  # pending | approved | refused
    decided_by: str = Field(default="", max_length=64)
    decided_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
