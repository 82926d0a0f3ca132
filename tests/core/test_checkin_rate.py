"""签到率's denominator: workdays due, counted per mask and date, holidays and 调休 included."""

from __future__ import annotations

from datetime import date, timedelta

from factories import make_student
from sqlmodel import select

from core.calendar import is_workday
from core.rates import CHECKIN_WINDOW_DAYS
from core.stats import _checkin_rate
from models import ConsoleUser, Placement

# 30 days before 2026-03-02 span the Spring Festival holidays and the 2026-02-28 make-up day.
TODAY = date(2026, 3, 2)


def _brute_force_due(placements, settings) -> int:
    first = TODAY - timedelta(days=CHECKIN_WINDOW_DAYS)
    days = [first + timedelta(days=i) for i in range(CHECKIN_WINDOW_DAYS)]
    return sum(
        1
        for p in placements
        for d in days
        if p.start_date <= d <= p.end_date and is_workday(d, p.workdays_mask, settings)
    )


def test_workdays_due_match_a_day_by_day_count_across_the_spring_festival(session, settings):
    shapes = [
        ("1-5", date(2026, 1, 1), date(2026, 7, 31)),
        ("1-6", date(2026, 2, 10), date(2026, 2, 25)),
        ("1-7", date(2026, 2, 20), date(2026, 6, 30)),
        ("1,3,5", date(2025, 12, 1), date(2026, 2, 14)),
        ("1-5", date(2026, 3, 1), date(2026, 4, 30)),  # starts today-ish: outside the window
    ]
    for i, (workdays, start, end) in enumerate(shapes):
        make_student(session, student_no=f"S{i}", workdays=workdays, start_date=start, end_date=end)
    session.commit()
    province = ConsoleUser(username="p", role="province", password_hash="x")
    rate = _checkin_rate(session, province, TODAY, {}, settings)
    placements = session.exec(select(Placement)).all()
    assert rate["den"] == _brute_force_due(placements, settings) > 0
    assert rate["num"] == 0 and rate["value"] == 0
