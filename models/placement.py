"""Placements: a student at a workplace, with its fence, shift, workdays and terms."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.types import AwareDateTime, utcnow


class Placement(SQLModel, table=True):
    __tablename__ = "placements"
    __table_args__ = (
        Index("ix_placements_student_dates", "student_id", "start_date", "end_date"),
        Index("ix_placements_school_dates", "school_id", "start_date", "end_date"),
        Index("ix_placements_active_window", "start_date", "end_date"),
    )
    id: int | None = Field(default=None, primary_key=True)
    student_id: int = Field(foreign_key="students.id")
    school_id: int = Field(foreign_key="schools.id")
    company_id: int = Field(foreign_key="companies.id", index=True)
    # The company mentor (企业导师) the roster names for this placement, if any.
    mentor_id: int | None = Field(default=None, foreign_key="mentors.id", index=True)
    industry: str = Field(default="", max_length=60)
    position: str = Field(default="", max_length=120)
    address: str = Field(default="", max_length=255)
    city: str = Field(default="", max_length=60)
    # The workplace as the roster gave it, and normalised to GCJ-02 for distances.
    latitude: float
    longitude: float
    coord_system: str = Field(default="gcj02", max_length=8)
    norm_lat: float
    norm_lng: float
    radius_m: int = 500
    shift_start: time
    shift_end: time
    workdays: str = Field(default="1-5", max_length=20)  # roster syntax, 1 = Monday
    workdays_mask: int = 31  # bit (weekday-1) set when that ISO weekday is a workday
    start_date: date
    end_date: date
    monthly_salary: int | None = None  # yuan
    arranged_by_school: bool = False
    # Compliance facts (SPEC section 12); None = the roster did not say, so a rule is "unknown".
    agreement_signed: bool | None = None
    insured: bool | None = None
    matches_major: bool | None = None  # 对口
    grade: int | None = None  # 年级: 1 = first year
    arranged_by: str | None = Field(default=None, max_length=8)  # school | self | agency
    guardian_consent: bool | None = None
    post_wage: int | None = None  # yuan a month, what staff on the same post earn
    company_headcount: int | None = None
    post_headcount: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
