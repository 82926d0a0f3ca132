"""Check-in evidence and flags (SPEC 11): what a check-in rests on, and what looks faked.

One pure function, `judge`, decides both when a check-in is recorded; the caller reads the
facts it needs (EvidenceFacts) for a whole batch of messages at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from core.geo import distance_m
from core.settings import Settings

# CheckIn.verify: '' nothing to verify, pending (待核实: not present yet), accepted by a teacher.
from models.verify_queries import ACCEPTED, PENDING  # noqa: F401  (named here for readers)

EVIDENCE = ("device", "event", "live", "pin")
FLAGS = ("same_point", "shared_point", "impossible_speed", "far_from_event", "low_accuracy")
# Evidence a school that requires the phone's own position trusts (require_device).
TRUSTED = ("device", "event")

EVIDENCE_ZH = {"device": "手机定位", "event": "微信位置上报", "live": "实时位置", "pin": "地图选点"}
FLAGS_ZH = {
    "same_point": "与往日坐标完全相同",
    "shared_point": "与他人同日坐标相同",
    "impossible_speed": "移动速度不可能",
    "far_from_event": "与微信位置上报相距过远",
    "low_accuracy": "定位精度过低",
}


# How far back a location sample may be the "previous fix" of a speed check.
SAMPLE_LOOKBACK = timedelta(hours=12)


def sample_since(now: datetime) -> datetime:
    """The oldest location sample a check-in at `now` looks at (a batch reads from here)."""
    return now - SAMPLE_LOOKBACK


@dataclass(frozen=True, slots=True)
class Fix:
    """A place a student was seen at (GCJ-02) and when."""

    at: datetime
    lat: float
    lng: float


@dataclass(frozen=True, slots=True)
class EvidenceFacts:
    """What `judge` compares a new check-in with, read set-wise for a batch."""

    own_days: frozenset[date] = frozenset()  # days the student checked in at this very point
    others_today: bool = False  # another student checked in at this very point that day
    previous: Fix | None = None  # the student's latest fix before this one
    events: tuple[Fix, ...] = field(default=())  # the student's WeChat LOCATION events nearby


def point_key(lat: float, lng: float) -> str:
    """The coordinates to 6 decimals as sent: the same key means the very same point."""
    return f"{lat:.6f},{lng:.6f}"


def judge(
    *,
    source: str,
    at: datetime,
    day: date,
    norm: tuple[float, float],
    accuracy_m: float | None,
    facts: EvidenceFacts,
    settings: Settings,
) -> tuple[str, list[str]]:
    """(evidence, flags) of a check-in at `norm` (GCJ-02) from a location of `source`."""
    cfg = settings.checkin
    flags: list[str] = []
    if any(d < day for d in facts.own_days):
        flags.append("same_point")
    if facts.others_today:
        flags.append("shared_point")
    prev = facts.previous
    if prev is not None and prev.at < at:
        hours = (at - prev.at).total_seconds() / 3600
        if distance_m(norm, (prev.lat, prev.lng)) / 1000 > cfg.max_speed_kmh * hours:
            flags.append("impossible_speed")
    window = cfg.event_window_min * 60
    near = [e for e in facts.events if abs((at - e.at).total_seconds()) <= window]
    dists = [distance_m(norm, (e.lat, e.lng)) for e in near]
    if any(d > cfg.event_distance_m for d in dists):
        flags.append("far_from_event")
    if accuracy_m is not None and accuracy_m > cfg.max_accuracy_m:
        flags.append("low_accuracy")
    if source == "device":
        evidence = "device"
    elif any(d <= cfg.event_distance_m for d in dists):
        evidence = "event"
    elif source == "live":
        evidence = "live"
    else:
        evidence = "pin"
    return evidence, flags


def verify_state(evidence: str, settings: Settings) -> str:
    """'' or PENDING: with require_device, a check-in without trusted evidence waits."""
    if settings.checkin.require_device and evidence not in TRUSTED:
        return PENDING
    return ""


def flag_list(flags: str | None) -> list[str]:
    """The stored flags (comma-separated) as a list."""
    return [f for f in (flags or "").split(",") if f]


def describe(evidence: str | None, flags: str | None) -> str:
    """Evidence and flags in Chinese, for the console and the teacher."""
    parts = [EVIDENCE_ZH.get(evidence or "pin", evidence or "")]
    parts += [FLAGS_ZH.get(f, f) for f in flag_list(flags)]
    return "；".join(p for p in parts if p)
