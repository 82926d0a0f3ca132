"""The runner: APScheduler in Asia/Shanghai, misfire grace and coalescing; start and stop."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from sched_helpers import add_student
from sqlmodel import Session

from scheduler.calendar_check import calendar_warnings
from scheduler.runner import JOB_ID, make_scheduler, start_background


def test_the_scheduler_runs_every_minute_in_shanghai_with_grace_and_coalescing(engine, settings):
    scheduler = make_scheduler(engine, settings)
    job = scheduler.get_job(JOB_ID)
    assert str(scheduler.timezone) == "Asia/Shanghai"
    assert job.misfire_grace_time == settings.scheduler.misfire_grace_s
    assert job.coalesce is True and job.max_instances == 1
    fire = job.trigger.get_next_fire_time(None, job.next_run_time)
    assert (job.trigger.get_next_fire_time(fire, fire) - fire) == timedelta(minutes=1)


async def test_start_background_runs_the_sender_and_stops_cleanly(engine, settings):
    started = asyncio.Event()

    class FakeSender:
        stopped = False

        async def run_forever(self, stop_event):
            started.set()
            await stop_event.wait()
            FakeSender.stopped = True

    stop = await start_background(engine, settings, sender=FakeSender())
    await asyncio.wait_for(started.wait(), timeout=30)
    assert not FakeSender.stopped  # it runs until told to stop ...
    await stop()
    assert FakeSender.stopped  # ... and stop() waits for it to finish


def test_the_app_starts_and_stops_the_scheduler_when_enabled(settings, engine, monkeypatch):
    from fastapi.testclient import TestClient

    import api.commands.worker as worker
    from api.app import create_app

    calls = []

    async def fake_start(engine, settings):
        calls.append("start")

        async def stop():
            calls.append("stop")

        return stop

    monkeypatch.setattr(worker, "start_in_process", fake_start)
    with TestClient(create_app(settings, engine=engine)):
        pass
    assert calls == []  # tests run with the scheduler off
    enabled = settings.model_copy(update={"scheduler": settings.scheduler.model_copy()})
    enabled.scheduler.enabled = True
    with TestClient(create_app(enabled, engine=engine)):
        assert calls == ["start"]
    assert calls == ["start", "stop"]


def test_placements_running_into_an_unknown_year_are_warned_about(session, settings):
    add_student(session, "S001", start_date=date(2026, 9, 1), end_date=date(2027, 6, 30))
    session.commit()
    [warning] = calendar_warnings(session, settings, today=date(2026, 3, 2))
    assert "2027" in warning and "[calendar]" in warning
    covered = settings.model_copy(
        update={"calendar": settings.calendar.model_copy(update={"holidays": [date(2027, 1, 1)]})}
    )
    assert calendar_warnings(session, covered, today=date(2026, 3, 2)) == []


def test_no_calendar_warning_for_placements_within_known_years(engine, settings):
    with Session(engine) as session:
        add_student(session, "S001")
        session.commit()
        assert calendar_warnings(session, settings, today=date(2026, 3, 2)) == []
