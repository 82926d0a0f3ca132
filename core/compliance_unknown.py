"""SQL for "this rule's data is missing" per rule, as core.compliance answers "unknown".

Expressions only (no I/O): the daily sweep's tallies and the console's live figures for a
teacher both build on them.
"""

from __future__ import annotations

from sqlalchemy import Date, cast, func, literal_column
from sqlalchemy.sql import ColumnElement

from core.settings import Settings
from models import Placement, Student


def years_later(dialect: str, column, years: int, days: int = 0):
    """SQL date `years` (and `days`) after a date column."""
    if dialect == "sqlite":
        return func.date(column, f"+{years} years", f"+{days} days")
    return cast(column + literal_column(f"interval '{years} years {days} days'"), Date)


def unknown_conditions(dialect: str, settings: Settings) -> dict[str, ColumnElement[bool]]:
    """Per rule, SQL over Placement joined to Student: true where the rule cannot decide."""
    cfg = settings.compliance
    p, st = Placement, Student
    known_cities = sorted(
        {c for city in cfg.min_wage for c in (city, city.removesuffix("市"), city + "市")}
    )
    no_city_wage = p.city.not_in(known_cities) if known_cities else literal_column("1") == 1
    minor_at_start = years_later(dialect, st.birth_date, cfg.adult_age) > p.start_date
    return {
        "under_16": st.birth_date.is_(None),
        "first_year": p.grade.is_(None),
        "intermediary": p.arranged_by.is_(None) & p.arranged_by_school.is_(False),
        "minor_banned_work": st.birth_date.is_(None),
        "no_agreement": p.agreement_signed.is_(None),
        "no_insurance": p.insured.is_(None),
        "no_guardian_consent": st.birth_date.is_(None)
        | (p.guardian_consent.is_(None) & minor_at_start),
        "low_pay": p.monthly_salary.is_(None) | (p.post_wage.is_(None) & no_city_wage),
        "intern_ratio": p.company_headcount.is_(None) & p.post_headcount.is_(None),
    }
