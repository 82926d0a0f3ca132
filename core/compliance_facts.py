"""What the compliance rules read (facts, check-ins, tickets) and the helpers they share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property

from core.settings import ComplianceSettings

VIOLATION, OK, UNKNOWN = "violation", "ok", "unknown"
CRITICAL, MAJOR = "critical", "major"
MAX_EVIDENCE = 10  # lines of evidence kept per finding (the count says how many in all)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the roster and Shixi's own counts say about one placement."""

    placement_id: int
    start_date: date
    end_date: date
    company: str
    industry: str
    position: str
    city: str
    shift_start: time
    shift_end: time
    workdays_mask: int
    birth_date: date | None = None
    grade: int | None = None
    arranged_by: str | None = None
    arranged_by_school: bool = False
    agreement_signed: bool | None = None
    insured: bool | None = None
    guardian_consent: bool | None = None
    monthly_salary: int | None = None
    post_wage: int | None = None
    company_headcount: int | None = None
    post_headcount: int | None = None
    interns_at_company: int = 0  # active placements at the company (all schools)
    interns_at_post: int = 0  # ... on the same position


@dataclass(frozen=True, slots=True)
class Checkin:
    at: datetime  # local time
    day: date  # the day it counts for


@dataclass(frozen=True, slots=True)
class TicketFact:
    id: int
    category: str
    text: str
    created: date
    resolved: bool


@dataclass(frozen=True)
class Context:
    today: date
    cfg: ComplianceSettings
    holiday: Callable[[date], str | None]  # the holiday's name ("" unnamed) or None

    @cached_property  # read for every check-in of every placement a sweep decides
    def since(self) -> date:
        return self.today - timedelta(days=self.cfg.lookback_days)


@dataclass(frozen=True)
class Verdict:
    status: str
    detail: str = ""
    evidence: tuple[str, ...] = ()


def ok() -> Verdict:
    return Verdict(OK)


def unknown(why: str) -> Verdict:
    return Verdict(UNKNOWN, why)


def violation(detail: str, evidence: Sequence[str] = ()) -> Verdict:
    return Verdict(VIOLATION, detail, tuple(evidence[:MAX_EVIDENCE]))


# --- helpers shared by the rules ---------------------------------------------------------


def add_years(day: date, years: int) -> date:
    """The same date `years` later; 29 February becomes 1 March in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def is_minor_on(birth: date, day: date, cfg: ComplianceSettings) -> bool:
    return add_years(birth, cfg.adult_age) > day


def matched(words: Sequence[str], *texts: str) -> list[str]:
    joined = " ".join(t for t in texts if t).lower()
    return [w for w in words if w.lower() in joined]


def shift_minutes(start: time, end: time) -> int:
    """Length of a shift in minutes; an end at or before the start runs past midnight."""
    a, b = start.hour * 60 + start.minute, end.hour * 60 + end.minute
    return (b - a) % (24 * 60) or 24 * 60


def days_per_week(mask: int) -> int:
    return bin(mask & 127).count("1")


def hm(t: time | datetime) -> str:
    return t.strftime("%H:%M")


def stamp(c: Checkin) -> str:
    return c.at.strftime("%Y-%m-%d %H:%M")


def is_night(t: time, cfg: ComplianceSettings) -> bool:
    """Strictly after night_start or before night_end: a shift ending at 22:00 is not night."""
    t = t.replace(tzinfo=None)
    return t > cfg.night_start or t < cfg.night_end


def shift_at_night(f: Facts, cfg: ComplianceSettings) -> bool:
    overnight = f.shift_end <= f.shift_start
    return overnight or f.shift_start < cfg.night_end or f.shift_end > cfg.night_start


def worked_minutes(first: datetime, last: datetime, cfg: ComplianceSettings) -> int:
    """A day's first-to-last check-in, less the meal break (never below zero)."""
    span = int((last - first).total_seconds() // 60)
    return max(0, span - cfg.break_minutes) if span > 0 else 0


def by_day(checkins: Sequence[Checkin]) -> dict[date, list[Checkin]]:
    out: dict[date, list[Checkin]] = {}
    for c in sorted(checkins, key=lambda c: c.at):
        out.setdefault(c.day, []).append(c)
    return out


def min_wage_of(city: str, cfg: ComplianceSettings) -> int | None:
    if not city:
        return None
    table = cfg.min_wage
    return table.get(city) or table.get(city.removesuffix("市")) or table.get(city + "市")


def hours(minutes: float) -> str:
    return f"{minutes / 60:.1f}".removesuffix(".0")
