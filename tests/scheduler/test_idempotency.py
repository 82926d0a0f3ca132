"""Each message once: the same tick twice, and two schedulers at once on one PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date

import pytest
from sched_helpers import add_student, at, bind_teacher_and_parent, check_in, rows
from sqlmodel import Session, func, select

from models import Alert, OutboxMessage
from models.db import make_engine
from scheduler.sweeps import run_sweeps

MON, TUE, WED = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)
STUDENTS = 30


def _school(session) -> None:
    """30 students with one teacher; every student and parent bound; silent since Saturday."""
    for i in range(STUDENTS):
        sid = add_student(session, f"S{i:03d}", name=f"学生{i}")
        if i == 0:
            bind_teacher_and_parent(session, sid)
        check_in(session, sid, date(2026, 2, 28))
    session.commit()


def _outbox_keys(engine) -> list[str]:
    return [r.idempotency_key for r in rows(engine)]


def test_running_the_same_tick_twice_queues_nothing_new(engine, settings, session):
    _school(session)
    for day in (MON, TUE, WED):
        for hh, mm in ((9, 30), (11, 0)):
            first = run_sweeps(engine, settings, at(day, hh, mm))
            again = run_sweeps(engine, settings, at(day, hh, mm))
            assert again["nudges"] == 0 and again["escalations"].get("queued", 0) == 0, first
            assert again["surveys"] == 0, first
    kinds = Counter(r.kind for r in rows(engine))
    assert kinds == {
        "nudge": STUDENTS * 3,
        "teacher_digest": 3,
        "parent_alert": 1,  # only student 0's parent is bound
        "lost_contact": 1,
        "journal_digest": 1,  # Monday 09:30 is within the hour after the 09:00 journal digest
        "survey": STUDENTS + 1,  # Tuesday 11:00: a month into the placements (+ the parent)
    }


@pytest.mark.pg_only
def test_two_schedulers_at_once_on_postgresql_send_each_message_once(settings, session):
    if not settings.database.url.startswith("postgresql"):
        pytest.skip("concurrency on one PostgreSQL database")
    _school(session)
    engines = [make_engine(settings.database.url) for _ in range(4)]
    errors: list[BaseException] = []

    def worker(engine, barrier):
        try:
            barrier.wait()
            run_sweeps(engine, settings, barrier.now)
        except BaseException as exc:
            errors.append(exc)

    try:
        for day in (MON, TUE, WED):
            for hh, mm in ((9, 30), (11, 0)):
                barrier = threading.Barrier(len(engines))
                barrier.now = at(day, hh, mm)
                threads = [threading.Thread(target=worker, args=(e, barrier)) for e in engines]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
    finally:
        for e in engines:
            e.dispose()
    assert errors == []
    keys = _outbox_keys(engines[0])
    assert len(keys) == len(set(keys)) == STUDENTS * 3 + 3 + 1 + 1 + 1 + STUDENTS + 1
    with Session(engines[0]) as s:
        alerts = s.exec(select(Alert.kind, func.count()).group_by(Alert.kind)).all()
        assert dict(alerts) == {"missing": STUDENTS, "lost_contact": STUDENTS}
        assert s.exec(select(func.count()).select_from(OutboxMessage)).one() == len(keys)
