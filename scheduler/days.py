"""Local days and due windows: which days a scheduled moment falls due in (who is due: core.due)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from core.settings import Settings

WEEKDAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}


@dataclass(frozen=True)
class Window:
    """Shift starts in [lo, hi] on `day` whose scheduled moment has come (and not long ago)."""

    day: date
    lo: time
    hi: time


def local(now: datetime, settings: Settings) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(settings.tz)


def day_start(day: date, settings: Settings) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=settings.tz)


def day_end(day: date, settings: Settings) -> datetime:
    """The first instant after `day` (local), when a message about that day expires."""
    return day_start(day + timedelta(days=1), settings)


def due_windows(now: datetime, settings: Settings, *, after_min: int) -> list[Window]:
    """Shift-start ranges whose moment (shift start + after_min) lies in [now - grace, now].

    The grace (settings.scheduler.misfire_grace_s) lets a restart at 09:40 still send the
    09:30 nudge, while a sweep repeated every minute only looks at the recent past.
    """
    hi = local(now, settings) - timedelta(minutes=after_min)
    lo = hi - timedelta(seconds=settings.scheduler.misfire_grace_s)
    windows = []
    day = lo.date()
    while day <= hi.date():
        start = lo.time() if day == lo.date() else time(0, 0)
        end = hi.time() if day == hi.date() else time(23, 59, 59, 999999)
        windows.append(Window(day, start.replace(tzinfo=None), end.replace(tzinfo=None)))
        day += timedelta(days=1)
    return windows


def parse_weekly(spec: str) -> tuple[int, time]:
    """ "fri 18:00" -> (5, 18:00); ValueError when malformed."""
    try:
        name, hhmm = spec.strip().lower().split()
        return WEEKDAYS[name[:3]], time.fromisoformat(hhmm)
    except (ValueError, KeyError) as exc:
        raise ValueError(f"expected e.g. 'fri 18:00', got {spec!r}") from exc


def monday_of(day: date) -> date:
    return day - timedelta(days=day.isoweekday() - 1)


def weekly_moment_due(now: datetime, settings: Settings, spec: str) -> date | None:
    """The Monday of the week whose `spec` moment lies in [now - grace, now], else None."""
    weekday, at = parse_weekly(spec)
    now_local = local(now, settings)
    grace = timedelta(seconds=settings.scheduler.misfire_grace_s)
    # The moment may belong to this week or, just after midnight on Monday, to the last one.
    for monday in (monday_of(now_local.date()), monday_of(now_local.date()) - timedelta(7)):
        moment = datetime.combine(monday + timedelta(days=weekday - 1), at, tzinfo=settings.tz)
        if moment <= now_local <= moment + grace:
            return monday
    return None


def daily_moment_due(now: datetime, settings: Settings, at: time) -> date | None:
    """The local day whose `at` moment lies in [now - grace, now], else None."""
    now_local = local(now, settings)
    grace = timedelta(seconds=settings.scheduler.misfire_grace_s)
    for day in (now_local.date(), now_local.date() - timedelta(days=1)):
        moment = datetime.combine(day, at, tzinfo=settings.tz)
        if moment <= now_local <= moment + grace:
            return day
    return None
