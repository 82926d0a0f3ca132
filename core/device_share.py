"""Per school: the share of check-ins resting on the phone's own position (SPEC 11 evidence)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from core.scope import condition
from models import ConsoleUser, School, SchoolDay

SHARE_DAYS = 30


def device_shares(session: Session, user: ConsoleUser, *, today: date) -> list[dict] | None:
    """[{name, num, den, value}] per school over the last SHARE_DAYS days, highest share
    first, from the daily roll-ups (device check-ins / all check-ins); None for a teacher,
    whose students are a part of a school the roll-ups cannot tell apart."""
    if user.role not in ("province", "school"):
        return None
    first = today - timedelta(days=SHARE_DAYS - 1)
    rows = session.execute(
        select(School.name, func.sum(SchoolDay.device_checkins), func.sum(SchoolDay.checkins))
        .join(School, School.id == SchoolDay.school_id)
        .where(condition(user, SchoolDay), SchoolDay.day.between(first, today))
        .group_by(School.id, School.name)
    ).all()
    out = [
        {"name": name, "num": int(d or 0), "den": int(c or 0), "value": (d or 0) / c if c else None}
        for name, d, c in rows
    ]
    out.sort(key=lambda r: (r["value"] is None, -(r["value"] or 0), r["name"]))
    return out
