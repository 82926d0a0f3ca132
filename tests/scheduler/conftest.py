"""Scheduler fixtures: a clock-driven sweep runner and a bound student."""

from __future__ import annotations

from datetime import date, time

import pytest
from sched_helpers import add_student, at, bind_teacher_and_parent

from scheduler.sweeps import run_sweeps


@pytest.fixture
def sweep(engine, settings):
    """Run every sweep as of a local time: sweep(date, hh, mm)."""

    def run(day: date, hh: int, mm: int = 0):
        return run_sweeps(engine, settings, at(day, hh, mm))

    return run


@pytest.fixture
def student(session) -> int:
    """张三, shift 09:00, Mon–Fri, placed 2026-02-01 to 2026-07-31, bound with teacher/parent."""
    sid = add_student(session, "S001", shift_start=time(9, 0))
    bind_teacher_and_parent(session, sid)
    session.commit()
    return sid
