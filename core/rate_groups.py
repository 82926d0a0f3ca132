"""The 签到率 per day and per group (school, class, teacher, city): core.checkin_rate's
counts (core.due's rule), summed the way the dashboard, the map and the rankings read them."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlmodel import Session

from core.checkin_rate import checkin_counts
from core.due import is_workday
from core.rates import ratio as rate  # one shape for every rate
from models import ConsoleUser


def _counts(session: Session, user: ConsoleUser, days: list[date], settings, group):
    """checkin_counts over the span of `days`, kept to those days."""
    if not days:
        return {}
    wanted = set(days)
    counts = checkin_counts(
        session, user, first=min(days), last=max(days), settings=settings, group=group
    )
    return {key: pair for key, pair in counts.items() if key[1] in wanted}


def due_counts(
    session: Session, user: ConsoleUser, days: list[date], settings, *, group: str | None = None
) -> dict[tuple, int]:
    """Students due on each day, as {(group value, day): n}; group None gives (None, day)."""
    counts = _counts(session, user, days, settings, group)
    return {key: due for key, (_, due) in counts.items() if due}


def rates_by(
    session: Session,
    user: ConsoleUser,
    days: list[date],
    settings,
    *,
    group: str | None = None,
) -> dict:
    """The 签到率 over `days` per group value: {group value: rate}."""
    totals: dict = defaultdict(lambda: [0, 0])
    for (g, _day), (checked, due) in _counts(session, user, days, settings, group).items():
        totals[g][0] += checked
        totals[g][1] += due
    return {g: rate(num, den) for g, (num, den) in totals.items()}


def daily_rates(session: Session, user: ConsoleUser, days: list[date], settings) -> list[dict]:
    """Each day's rate (due students checked in / due), with whether it was a workday at all."""
    counts = _counts(session, user, days, settings, None)
    out = []
    for d in days:
        checked, due = counts.get((None, d), (0, 0))
        workday = is_workday(d, 0b0011111, settings)  # Monday-Friday, holidays and 调休 applied
        out.append({"day": d.isoformat(), "workday": workday, **rate(checked, due)})
    return out
