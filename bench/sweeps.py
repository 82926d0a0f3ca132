"""The scheduler sweeps at seed scale, as of a fixed workday: nudges, then digests/escalations."""

from __future__ import annotations

from sqlalchemy import func, select

from bench.common import NOT_BUILT, at_local, bench_settings, optional, timed
from models import Alert, OutboxMessage
from models.db import make_engine, session_scope

NUDGE_AT = "09:30"  # every seeded shift (08:00-09:00) is due for its nudge
DIGEST_AT = "11:00"  # and for its digest and escalations (shift start + 2 h)


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
        for name, found, hhmm in (
            ("nudges", nudges, NUDGE_AT),
            ("escalations", escalations, DIGEST_AT),
        ):
            if found is None:
                result[name] = NOT_BUILT
                continue
            sweep, now = found[0], at_local(today, hhmm)
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
