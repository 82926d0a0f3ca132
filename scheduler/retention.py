"""The daily retention sweep (SPEC section 13): personal records of long-ended placements go."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlmodel import Session

from core.settings import Settings
from models.privacy import claim_daily_run
from models.retention import expire_personal_data

SWEEP_NAME = "retention"
# Once a day, at the first sweep from this local time on: the night is quiet.
RUN_FROM = time(3, 0)


def retention_cutoff(settings: Settings, now: datetime):
    """Placements that ended before this day are past retention."""
    today = now.astimezone(settings.tz).date()
    return today - timedelta(days=settings.privacy.retain_days_after_end)


def purge_expired(session: Session, settings: Settings, now: datetime) -> dict[str, int]:
    """Apply the retention rule as of `now` (whatever the hour); idempotent."""
    keep = timedelta(days=settings.privacy.retain_days_after_end)
    return expire_personal_data(
        session, cutoff=retention_cutoff(settings, now), unattributed_before=now - keep
    )


def sweep_retention(session: Session, settings: Settings, now: datetime) -> dict[str, int]:
    """Once a day (claimed across schedulers), delete what the retention rule says has expired."""
    local = now.astimezone(settings.tz)
    if local.time() < RUN_FROM:
        return {}
    if not claim_daily_run(session, name=SWEEP_NAME, day=local.date(), at=now):
        return {}
    return purge_expired(session, settings, now)
