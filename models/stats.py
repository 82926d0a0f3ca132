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


def bump_school_day(
    session,
    *,
    school_id: int,
    day: date,
    checkins: int = 0,
    students_checked_in: int = 0,
    journals: int = 0,
    tickets: int = 0,
) -> None:
    """Add to a school's roll-up for a day (an upsert, safe under concurrent writers)."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = SchoolDay.__table__
    stmt = dialect.insert(table).values(
        school_id=school_id,
        day=day,
        checkins=checkins,
        students_checked_in=students_checked_in,
        journals=journals,
        tickets=tickets,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["school_id", "day"],
        set_={
            "checkins": table.c.checkins + checkins,
            "students_checked_in": table.c.students_checked_in + students_checked_in,
            "journals": table.c.journals + journals,
            "tickets": table.c.tickets + tickets,
        },
    )
    session.execute(stmt)
