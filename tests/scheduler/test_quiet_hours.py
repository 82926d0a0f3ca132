"""Quiet hours: late messages to students and parents wait, and are dropped once untrue."""

from __future__ import annotations

from datetime import date, time

from sched_helpers import add_student, at, bind_teacher_and_parent, check_in, rows

from core.notices import still_relevant

MON, TUE = date(2026, 3, 2), date(2026, 3, 3)


def test_a_night_shift_nudge_is_held_and_expires_with_its_day(engine, session, sweep):
    add_student(session, "S001", shift_start=time(21, 50), shift_end=time(6, 0))
    session.commit()
    sweep(MON, 22, 20)
    [nudge] = rows(engine, "nudge")
    assert nudge.quiet_hours is True  # the sender holds it until 07:00 ...
    assert not still_relevant(session, nudge, at(TUE, 7, 0))  # ... when it is about yesterday


def test_a_held_parent_alert_is_dropped_when_the_child_checks_in(engine, session, sweep):
    sid = add_student(session, "S001", shift_start=time(20, 0), shift_end=time(4, 0))
    bind_teacher_and_parent(session, sid)
    check_in(session, sid, date(2026, 2, 28), 19, 55)
    sweep(MON, 22, 0)
    sweep(TUE, 22, 0)
    [alert] = rows(engine, "parent_alert")
    assert alert.quiet_hours is True
    assert still_relevant(session, alert, at(TUE, 23, 0))
    check_in(session, sid, TUE, 23, 30)
    assert not still_relevant(session, alert, at(date(2026, 3, 4), 7, 0))


def test_teacher_messages_ignore_quiet_hours(engine, session, sweep):
    sid = add_student(session, "S001", shift_start=time(21, 0), shift_end=time(5, 0))
    bind_teacher_and_parent(session, sid)
    sweep(MON, 23, 0)
    [digest] = rows(engine, "teacher_digest")
    assert digest.quiet_hours is False
