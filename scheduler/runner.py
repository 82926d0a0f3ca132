"""The APScheduler runner: every minute, all sweeps as of now; plus the outbox sender task."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.engine import Engine

from core.settings import Settings
from models.db import session_scope
from scheduler.calendar_check import calendar_warnings
from scheduler.sweeps import run_sweeps

log = logging.getLogger("shixi.scheduler")
JOB_ID = "shixi-sweeps"


def sweep_now(engine: Engine, settings: Settings) -> None:
    """The job: every sweep as of this minute (they look back misfire_grace_s themselves)."""
    results = run_sweeps(engine, settings, datetime.now(settings.tz), raise_errors=False)
    if any(results.values()):
        log.info("sweeps queued %s", results)


def make_scheduler(engine: Engine, settings: Settings) -> BackgroundScheduler:
    """A scheduler in the configured zone that runs the sweeps each minute, in a thread."""
    scheduler = BackgroundScheduler(timezone=settings.tz)
    scheduler.add_job(
        sweep_now,
        CronTrigger(minute="*", timezone=settings.tz),
        args=(engine, settings),
        id=JOB_ID,
        replace_existing=True,
        misfire_grace_time=settings.scheduler.misfire_grace_s,
        coalesce=True,  # after a pause, one catch-up run, not one per missed minute
        max_instances=1,
        next_run_time=datetime.now(settings.tz),  # catch up at once after a restart
    )
    return scheduler


def log_calendar_warnings(engine: Engine, settings: Settings) -> list[str]:
    """Log (and return) the years placements reach that the holiday calendar does not know."""
    try:
        with session_scope(engine) as session:
            warnings = calendar_warnings(session, settings)
    except Exception:  # e.g. the schema is not migrated yet; the sweeps will say so again
        log.exception("could not check the holiday calendar")
        return []
    for line in warnings:
        log.warning("holiday calendar: %s", line)
    return warnings


class Runnable(Protocol):
    async def run_forever(self, stop_event: asyncio.Event) -> None: ...


async def start_background(
    engine: Engine, settings: Settings, *, sender: Runnable | None = None
) -> Callable[[], Awaitable[None]]:
    """Start the sweeps (a thread) and `sender` (a task on this loop); returns a stopper.

    The outbox sender is handed in by the composition root: the scheduler knows no channel.
    """
    log_calendar_warnings(engine, settings)
    scheduler = make_scheduler(engine, settings)
    scheduler.start()
    stop_event = asyncio.Event()
    task = None
    if sender is not None:
        task = asyncio.create_task(sender.run_forever(stop_event), name="shixi-outbox")
    log.info("scheduler started (%s)", settings.server.timezone)

    async def stop() -> None:
        stop_event.set()
        # Let a sweep that is running finish its transaction before the process (or a test)
        # moves on; waiting in a thread keeps the event loop free meanwhile.
        await asyncio.to_thread(scheduler.shutdown, True)
        if task is not None:
            try:
                await asyncio.wait_for(task, timeout=15)
            except TimeoutError:
                log.warning("outbox sender did not stop within 15 s; cancelled")
        log.info("scheduler stopped")

    return stop
