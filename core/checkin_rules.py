"""Check-in rules without I/O: start or end, repeats and the fence (the day itself: core.due)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.geo import distance_m, to_gcj02
from core.settings import Settings
from models import CheckIn, Placement

# Two points closer than this count as "the same place" for repeat detection.
SAME_PLACE_M = 100.0


@dataclass(frozen=True, slots=True)
class Fence:
    norm: tuple[float, float]
    distance_m: float
    within: bool


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
