"""China's official calendar: public holidays and make-up days (调休), package and config.

The chinesecalendar package knows only the years already announced; for later years config
carries `[calendar] holidays` and `workdays`, and a year neither covers falls back to weekdays.
Whether a placement works on a day is core.due's rule, built on these.
"""

from __future__ import annotations

from datetime import date

import chinese_calendar

from core.settings import Settings

_PACKAGE_YEARS = sorted({d.year for d in chinese_calendar.holidays})
HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


def package_years() -> tuple[int, int]:
    """The first and last year the holiday package knows."""
    return _PACKAGE_YEARS[0], _PACKAGE_YEARS[-1]


def year_covered(year: int, settings: Settings) -> bool:
    """True when the package or the config lists the official calendar of `year`."""
    first, last = package_years()
    if first <= year <= last:
        return True
    cal = settings.calendar
    return any(d.year == year for d in (*cal.holidays, *cal.workdays))


def holiday_name(day: date, settings: Settings) -> str | None:
    """The public holiday `day` falls in (English name, "" for a config holiday), else None."""
    if day in settings.calendar.holidays:
        return ""
    return chinese_calendar.holidays.get(day)


def is_makeup_workday(day: date, settings: Settings) -> bool:
    """An official 调休 day: a weekend day that is worked instead of a holiday."""
    return day in settings.calendar.workdays or day in chinese_calendar.workdays
