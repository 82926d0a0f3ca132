"""The scheduler sweeps at seed scale, as of a fixed workday: nudges, then digests/escalations.

The escalation sweep is measured twice. First on the workday before, when the seeded history
has no alerts at all, so every long silence is new (the day a school starts with its history
imported); then on the day itself, an ordinary day: yesterday's sweep has run, and only the
silences that reach a threshold today raise alerts, while every teacher still gets a digest.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bench.common import NOT_BUILT, at_local, bench_settings, optional, timed
from core.due import is_workday
from core.workdays import parse_workdays
from models import Alert, OutboxMessage
from models.db import make_engine, session_scope

NUDGE_AT = "09:30"  # every seeded shift (08:00-09:00) is due for its nudge
DIGEST_AT = "11:00"  # and for its digest and escalations (shift start + 2 h)
MON_TO_FRI = parse_workdays("1-5")


def workday_before(day, settings):
    day -= timedelta(days=1)
    while not is_workday(day, MON_TO_FRI, settings):
        day -= timedelta(days=1)
    return day


def _count(engine, model) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar()


def run(url: str, *, today, log=print) -> dict:
    nudges = optional("scheduler.nudges", "sweep_nudges")
    escalations = optional("scheduler.escalation", "sweep_escalations")
    settings = bench_settings(url)
    engine = make_engine(url)
    result: dict = {}
    try:
        for name, found, day, hhmm in (
            ("nudges", nudges, today, NUDGE_AT),
            ("escalations_first_day", escalations, workday_before(today, settings), DIGEST_AT),
            ("escalations", escalations, today, DIGEST_AT),
        ):
            if found is None:
                result[name] = NOT_BUILT
                continue
            sweep, now = found[0], at_local(day, hhmm)
            before = _count(engine, OutboxMessage)

            def once(sweep=sweep, now=now):
                with session_scope(engine) as session:
                    return sweep(session, settings, now)

            seconds, value = timed(once)
            again, repeat = timed(once)  # idempotent: the second run must queue nothing
            result[name] = {
                "seconds": round(seconds, 3),
                "returned": value,
                "outbox_rows": _count(engine, OutboxMessage) - before,
                "rerun_seconds": round(again, 3),
                "rerun_returned": repeat,
            }
            log(f"  {name}: {seconds:.2f} s, {result[name]['outbox_rows']} outbox rows")
        result["alerts"] = _count(engine, Alert)
    finally:
        engine.dispose()
    return result
