"""Check-in nudges: at shift start + 30 min on a workday of an active placement, once."""

from __future__ import annotations

from datetime import date, time

from sched_helpers import add_student, at, check_in, rows
from sqlmodel import Session

from core.notices import render, still_relevant

MON = date(2026, 3, 2)
SAT = date(2026, 3, 7)


def test_a_nudge_is_queued_at_shift_start_plus_30_minutes_and_not_before(engine, student, sweep):
    sweep(MON, 9, 29)
    assert rows(engine, "nudge") == []
    sweep(MON, 9, 30)
    [nudge] = rows(engine, "nudge")
    assert (nudge.person_kind, nudge.person_id, nudge.day) == ("student", student, MON)
    assert nudge.quiet_hours is True
    assert nudge.expires_at == at(date(2026, 3, 3), 0, 0)  # a nudge is about one day
    with Session(engine) as session:
        assert "3月2日" in render(session, nudge)
        assert "签到" in render(session, nudge)


def test_a_student_who_has_checked_in_gets_no_nudge(engine, session, student, sweep):
    check_in(session, student, MON, 8, 50)
    sweep(MON, 9, 30)
    assert rows(engine, "nudge") == []


def test_a_nudge_no_longer_holds_once_the_student_checks_in(engine, session, student, sweep):
    sweep(MON, 9, 30)
    [nudge] = rows(engine, "nudge")
    assert still_relevant(session, nudge, at(MON, 9, 31))
    check_in(session, student, MON, 9, 35)
    assert not still_relevant(session, nudge, at(MON, 9, 36))


def test_no_nudge_on_a_weekend_for_a_monday_to_friday_placement(engine, session, sweep):
    add_student(session, "S001", workdays="1-5")
    add_student(session, "S002", name="李四", workdays="1-7")
    session.commit()
    sweep(SAT, 9, 30)
    assert [r.to_external_id for r in rows(engine, "nudge")] == ["S002"]


def test_no_nudge_on_labour_day_even_for_a_seven_day_placement(engine, session, sweep):
    add_student(session, "S001", workdays="1-5")
    add_student(session, "S002", name="李四", workdays="1-7")
    session.commit()
    sweep(date(2026, 5, 1), 9, 30)
    assert rows(engine, "nudge") == []


def test_the_official_makeup_saturday_is_a_workday(engine, session, sweep):
    add_student(session, "S001", workdays="1-5")
    session.commit()
    sweep(date(2026, 5, 9), 9, 30)  # 调休: Saturday worked for the Labour Day holiday
    assert len(rows(engine, "nudge")) == 1


def test_no_nudge_before_the_placement_starts_or_after_it_ends(engine, session, sweep):
    add_student(session, "S001", start_date=date(2026, 3, 3), end_date=date(2026, 3, 4))
    session.commit()
    sweep(MON, 9, 30)
    assert rows(engine, "nudge") == []
    sweep(date(2026, 3, 3), 9, 30)
    sweep(date(2026, 3, 4), 9, 30)
    sweep(date(2026, 3, 5), 9, 30)
    assert [r.day for r in rows(engine, "nudge")] == [date(2026, 3, 3), date(2026, 3, 4)]


def test_a_restart_at_0940_still_sends_the_0930_nudge(engine, student, sweep):
    sweep(MON, 9, 40)
    assert len(rows(engine, "nudge")) == 1


def test_a_sweep_long_after_the_grace_period_does_not_nudge_late(engine, student, sweep):
    sweep(MON, 15, 0)  # misfire_grace_s is an hour: 09:30 is long gone
    assert rows(engine, "nudge") == []


def test_each_student_is_nudged_at_their_own_shift(engine, session, sweep):
    add_student(session, "S001", shift_start=time(8, 0))
    add_student(session, "S002", name="李四", shift_start=time(10, 0))
    session.commit()
    sweep(MON, 8, 30)
    assert [r.to_external_id for r in rows(engine, "nudge")] == ["S001"]
    sweep(MON, 10, 30)
    assert [r.to_external_id for r in rows(engine, "nudge")] == ["S001", "S002"]


def test_every_bound_chat_account_gets_the_nudge_once(engine, session, student, sweep):
    from factories import bind

    bind(session, person_kind="student", person_id=student, channel="telegram", external_id="42")
    session.commit()
    sweep(MON, 9, 30)
    sweep(MON, 9, 31)
    assert sorted(r.channel for r in rows(engine, "nudge")) == ["console", "telegram"]


def test_an_english_telegram_user_gets_the_nudge_in_english(engine, session, student, sweep):
    from factories import bind

    bind(
        session,
        person_kind="student",
        person_id=student,
        channel="telegram",
        external_id="42",
        language="en",
    )
    session.commit()
    sweep(MON, 9, 30)
    [nudge] = rows(engine, "nudge", channel="telegram")
    assert "check-in" in render(session, nudge)
