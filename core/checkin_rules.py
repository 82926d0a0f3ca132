"""Check-in rules without I/O: the active placement, start or end, repeats and the fence."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from core.calendar import holiday_name, is_workday
from core.geo import distance_m, to_gcj02
from core.settings import Settings
from models import CheckIn, Placement

# Two points closer than this count as "the same place" for repeat detection.
SAME_PLACE_M = 100.0


@dataclass(frozen=True, slots=True)
class DayDecision:
    """Whether a student should check in on a day, and why not when they should not."""

    placement: Placement | None
    reason: str  # ok | none | not_started | ended | holiday | rest_day
    holiday: str | None = None
    starts: date | None = None
    ended: date | None = None

    @property
    def ok(self) -> bool:
        return self.reason == "ok"


@dataclass(frozen=True, slots=True)
class Fence:
    norm: tuple[float, float]
    distance_m: float
    within: bool


def decide_day(placements: Iterable[Placement], day: date, settings: Settings) -> DayDecision:
    """Pick the placement that runs on `day` (the latest started wins) and check the calendar."""
    rows = list(placements)
    running = [p for p in rows if p.start_date <= day <= p.end_date]
    if not running:
        future = [p.start_date for p in rows if p.start_date > day]
        past = [p.end_date for p in rows if p.end_date < day]
        if future:
            return DayDecision(None, "not_started", starts=min(future))
        if past:
            return DayDecision(None, "ended", ended=max(past))
        return DayDecision(None, "none")
    placement = max(running, key=lambda p: (p.start_date, p.id or 0))
    name = holiday_name(day, settings)
    if name is not None:
        return DayDecision(placement, "holiday", holiday=name)
    if not is_workday(day, placement.workdays_mask, settings):
        return DayDecision(placement, "rest_day")
    return DayDecision(placement, "ok")


def fence(lat: float, lng: float, datum: str, placement: Placement) -> Fence:
    """Normalise a point to GCJ-02 and measure it against the placement's fence."""
    norm = to_gcj02(lat, lng, datum)
    dist = distance_m(norm, (placement.norm_lat, placement.norm_lng))
    return Fence(norm=norm, distance_m=dist, within=dist <= placement.radius_m)


def next_kind(earlier_today: int) -> str:
    """The first check-in of a day is start (上班); every later one is end (下班)."""
    return "start" if earlier_today == 0 else "end"


def is_repeat(
    previous: CheckIn | None, at: datetime, norm: tuple[float, float], settings: Settings
) -> bool:
    """A check-in soon after the previous one at the same place is not recorded again."""
    if previous is None:
        return False
    window = timedelta(minutes=settings.checkin.repeat_window_min)
    if at - previous.at > window or at < previous.at:
        return False
    return distance_m(norm, (previous.norm_lat, previous.norm_lng)) <= SAME_PLACE_M


def late_minutes(checkin_at: datetime, placement: Placement, settings: Settings) -> int:
    """Minutes a start check-in is past shift start + the grace period (0 when on time)."""
    local = checkin_at.astimezone(settings.tz)
    start = datetime.combine(local.date(), placement.shift_start, tzinfo=settings.tz)
    late = local - start - timedelta(minutes=settings.checkin.late_after_min)
    return max(0, int(late.total_seconds() // 60))
