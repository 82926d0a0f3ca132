"""Daily roll-ups per school, kept up to date as records arrive, read by the dashboards."""

from __future__ import annotations

from datetime import date

from sqlmodel import Field, SQLModel


class SchoolDay(SQLModel, table=True):
    __tablename__ = "school_days"
    school_id: int = Field(foreign_key="schools.id", primary_key=True)
    day: date = Field(primary_key=True, index=True)
    checkins: int = 0  # check-in records
    students_checked_in: int = 0  # distinct students with a check-in
    journals: int = 0
    tickets: int = 0
