"""Warn when placements run into a year whose official holidays nobody has told us."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlmodel import Session

from core.calendar import package_years, year_covered
from core.settings import Settings
from models import Placement

WARNING = (
    "{n} placement(s) run into {year}, beyond the holiday data (chinesecalendar knows "
    "{first}–{last}) and not covered by [calendar] holidays/workdays in config.toml: "
    "until it is, {year} uses plain weekdays (no public holidays, no 调休 make-up days)."
)


def calendar_warnings(session: Session, settings: Settings, *, today: date | None = None) -> list:
    """One readable line per uncovered year that a current or future placement reaches."""
    today = today or date.today()
    last_end = session.execute(
        select(func.max(Placement.end_date)).where(Placement.end_date >= today)
    ).scalar()
    if last_end is None:
        return []
    first, last = package_years()
    warnings = []
    for year in range(today.year, last_end.year + 1):
        if year_covered(year, settings):
            continue
        n = session.execute(
            select(func.count(Placement.id)).where(
                Placement.end_date >= max(today, date(year, 1, 1)),
                Placement.start_date <= date(year, 12, 31),
            )
        ).scalar()
        if n:
            warnings.append(WARNING.format(n=n, year=year, first=first, last=last))
    return warnings
