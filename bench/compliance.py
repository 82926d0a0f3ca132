"""The daily compliance check at seed scale: every active placement, 28 days of check-ins.

Measured three times as of the bench's Monday: the first check (every finding is new, each
critical one listed to its teacher), the same check again (idempotent: nothing new, nothing
queued) and the next day's (findings touched, some resolved as the window moves on).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bench.common import NOT_BUILT, at_local, bench_settings, optional, timed
from models import Finding, OutboxMessage
from models.db import make_engine, session_scope

CHECK_AT = "06:30"


def _count(engine, model) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar()


def run(url: str, *, today, log=print) -> dict:
    found = optional("scheduler.compliance", "check_compliance")
    if found is None:
        return {"check": NOT_BUILT}
    check = found[0]
    settings = bench_settings(url)
    engine = make_engine(url)
    result: dict = {}
    try:
        for name, day in (
            ("first", today),
            ("rerun", today),
            ("next_day", today + timedelta(days=1)),
        ):
            now = at_local(day, CHECK_AT)
            outbox = _count(engine, OutboxMessage)

            def once(now=now):
                with session_scope(engine) as session:
                    return check(session, settings, now)

            seconds, counts = timed(once)
            result[name] = {
                "seconds": round(seconds, 3),
                "returned": counts,
                "outbox_rows": _count(engine, OutboxMessage) - outbox,
            }
            log(f"  compliance {name}: {seconds:.2f} s, {counts}")
        result["findings"] = _count(engine, Finding)
    finally:
        engine.dispose()
    return result
