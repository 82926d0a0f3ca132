"""Every sweep, run as of one moment; each in its own transaction, each idempotent."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from core.settings import Settings
from models.db import session_scope
from scheduler.compliance import sweep_compliance
from scheduler.compliance_notify import sweep_compliance_summary
from scheduler.dashboards import sweep_dashboards
from scheduler.escalation import sweep_escalations
from scheduler.housekeeping import sweep_housekeeping
from scheduler.journals import (
    sweep_grading_digest,
    sweep_journal_reminders,
    sweep_missing_journals,
)
from scheduler.nudges import sweep_nudges
from scheduler.retention import sweep_retention
from scheduler.surveys import sweep_surveys
from scheduler.tickets import sweep_ticket_escalation

log = logging.getLogger("shixi.scheduler")

SWEEPS: dict[str, Callable] = {
    "nudges": sweep_nudges,
    "escalations": sweep_escalations,
    "tickets": sweep_ticket_escalation,  # open tickets nobody took up go to the school
    "journal_reminders": sweep_journal_reminders,
    "missing_journals": sweep_missing_journals,
    "grading_digest": sweep_grading_digest,
    "housekeeping": sweep_housekeeping,
    "compliance": sweep_compliance,  # once a day, at [compliance] check_at
    "compliance_summary": sweep_compliance_summary,
    "retention": sweep_retention,  # once a day from 03:00
    "surveys": sweep_surveys,
    "dashboards": sweep_dashboards,  # last: the slowest, and nothing waits on it
}
ATTEMPTS = 3  # two schedulers inserting the same keys may deadlock on PostgreSQL; one retries


def run_sweeps(
    engine: Engine, settings: Settings, now: datetime, *, raise_errors: bool = True
) -> dict[str, object]:
    """Run every sweep as of `now`; returns what each queued. One failing sweep stops no other."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    results: dict[str, object] = {}
    errors: list[BaseException] = []
    for name, sweep in SWEEPS.items():
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with session_scope(engine) as session:
                    results[name] = sweep(session, settings, now)
                break
            except OperationalError as exc:
                if attempt < ATTEMPTS:
                    log.warning("sweep %s hit %s; retrying", name, exc.orig)
                    continue
                log.exception("sweep %s failed", name)
                errors.append(exc)
            except Exception as exc:
                log.exception("sweep %s failed", name)
                errors.append(exc)
                break
    if errors and raise_errors:
        raise errors[0]
    return results
