"""Workdays: placement weekdays, official holidays and make-up days, config for later years."""

from __future__ import annotations

from datetime import date

from core.calendar import package_years, year_covered
from core.due import decide_day, is_workday, workdays_between
from core.settings import Settings
from core.workdays import parse_workdays
from models import Placement

MON_FRI = parse_workdays("1-5")
EVERY_DAY = parse_workdays("1-7")


def test_ordinary_weekdays_follow_the_placement_mask():
    cfg = Settings()
    assert is_workday(date(2026, 3, 2), MON_FRI, cfg)  # Monday
    assert not is_workday(date(2026, 3, 7), MON_FRI, cfg)  # Saturday
    assert is_workday(date(2026, 3, 7), EVERY_DAY, cfg)
    assert not is_workday(date(2026, 3, 4), parse_workdays("1,2"), cfg)  # Wednesday


def test_public_holidays_are_off_even_for_seven_day_placements():
    cfg = Settings()
    assert not is_workday(date(2026, 10, 1), MON_FRI, cfg)  # National Day, a Thursday
    assert not is_workday(date(2026, 10, 1), EVERY_DAY, cfg)


def test_official_makeup_days_are_worked_on_weekends():
    assert is_workday(date(2026, 2, 14), MON_FRI, Settings())  # Saturday 调休 (Spring Festival)


def test_config_lists_holidays_and_makeup_days_for_years_the_package_does_not_know():
    first, last = package_years()
    assert first <= 2026 <= last
    later = last + 1
    holiday, makeup = date(later, 1, 1), date(later, 2, 6)
    cfg = Settings(calendar={"holidays": [holiday], "workdays": [makeup]})
    plain = Settings()
    assert not year_covered(later, plain) and year_covered(later, cfg)
    weekday_holiday = holiday.isoweekday() <= 5
    assert is_workday(holiday, MON_FRI, plain) == weekday_holiday  # unknown year: weekdays
    assert not is_workday(holiday, MON_FRI, cfg)
    assert is_workday(makeup, MON_FRI, cfg)


def test_workdays_between_counts_a_week_with_a_holiday():
    days = workdays_between(date(2026, 9, 28), date(2026, 10, 4), MON_FRI, Settings())
    assert days == [date(2026, 9, 28), date(2026, 9, 29), date(2026, 9, 30)]


def _placement(start, end, pid=1, mask=MON_FRI):
    return Placement(
        id=pid,
        student_id=1,
        school_id=1,
        company_id=1,
        latitude=0,
        longitude=0,
        norm_lat=0,
        norm_lng=0,
        shift_start="09:00",
        shift_end="18:00",
        workdays_mask=mask,
        start_date=start,
        end_date=end,
    )


def test_decide_day_gives_the_reason_when_there_is_nothing_to_check_in_for():
    cfg = Settings()
    p = _placement(date(2026, 3, 1), date(2026, 6, 30))
    assert decide_day([p], date(2026, 3, 2), cfg).ok
    assert decide_day([p], date(2026, 2, 27), cfg).reason == "not_started"
    assert decide_day([p], date(2026, 7, 1), cfg).reason == "ended"
    assert decide_day([p], date(2026, 3, 7), cfg).reason == "rest_day"
    holiday = decide_day([p], date(2026, 5, 1), cfg)
    assert (holiday.reason, holiday.holiday) == ("holiday", "Labour Day")
    assert decide_day([], date(2026, 3, 2), cfg).reason == "none"


def test_the_latest_started_placement_wins_when_two_overlap():
    cfg = Settings()
    old = _placement(date(2026, 1, 1), date(2026, 6, 30), pid=1)
    new = _placement(date(2026, 3, 1), date(2026, 8, 31), pid=2)
    assert decide_day([old, new], date(2026, 3, 2), cfg).placement is new
