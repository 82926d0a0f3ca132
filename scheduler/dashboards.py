"""Dashboard snapshots: keep the province's and the viewed schools' slow figures fresh."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from core.settings import Settings
from core.stats import PROVINCE, SCHOOL_PREFIX, scope_user, slow_figures
from models import DashboardSnapshot, School
from models.stats import store_snapshot

# Refresh a little before readers would call a snapshot stale, so they never compute it.
REFRESH_AT = 2 / 3  # of console.snapshot_max_age_min: 10 of the default 15 minutes


def _scopes(session: Session, *, every_school: bool) -> list[str]:
    """The province, and the schools already viewed (or every school when asked)."""
    if every_school:
        ids = session.execute(select(School.id).order_by(School.id)).scalars()
        schools = [f"{SCHOOL_PREFIX}{i}" for i in ids]
    else:
        rows = session.execute(
            select(DashboardSnapshot.scope).where(DashboardSnapshot.scope.startswith(SCHOOL_PREFIX))
        ).scalars()
        schools = sorted(rows, key=lambda s: int(s.removeprefix(SCHOOL_PREFIX)))
    return [PROVINCE, *schools]


def refresh_dashboards(
    session: Session,
    settings: Settings,
    now: datetime,
    *,
    older_than: timedelta | None = None,
    every_school: bool = False,
) -> int:
    """Recompute the snapshots older than `older_than` (all when None); returns how many.

    Figures are computed before any is written, so a SQLite write lock is held only briefly.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    today = now.astimezone(settings.tz).date()
    stored = {
        scope: (day, at, figures)
        for scope, day, at, figures in session.execute(
            select(
                DashboardSnapshot.scope,
                DashboardSnapshot.day,
                DashboardSnapshot.computed_at,
                DashboardSnapshot.figures,
            )
        )
    }
    due = []
    for scope in _scopes(session, every_school=every_school):
        day, at, _ = stored.get(scope, (None, None, None))
        if older_than is None or day != today or now - at >= older_than:
            due.append(scope)

    def earlier(scope: str) -> dict | None:
        """Today's figures of `scope` already stored (签到率 is counted once a day)."""
        day, _, figures = stored.get(scope, (None, None, None))
        return figures if day == today else None

    computed = [
        (scope, slow_figures(session, scope_user(scope), today=today, settings=settings,
                             earlier=earlier(scope)))
        for scope in due
    ]  # fmt: skip
    for scope, figures in computed:
        store_snapshot(session, scope=scope, day=today, computed_at=now, figures=figures)
    return len(computed)


def sweep_dashboards(session: Session, settings: Settings, now: datetime) -> int:
    """Refresh the dashboard snapshots that are getting old; returns how many were recomputed."""
    older_than = timedelta(minutes=settings.console.snapshot_max_age_min) * REFRESH_AT
    return refresh_dashboards(session, settings, now, older_than=older_than)
