"""Teacher digest at shift + 2 h; parents at the 2nd missed workday; 失联 at the 3rd."""

from __future__ import annotations

from datetime import date, time

from factories import bind
from sched_helpers import add_student, bind_teacher_and_parent, check_in, rows
from sqlmodel import Session, select

from models import Alert, ConsoleUser

# Saturday 28 February 2026 is an official make-up workday (调休), the last before our week.
LAST = date(2026, 2, 28)
MON, TUE, WED = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)


def alerts(engine, kind: str) -> list[Alert]:
    with Session(engine) as session:
        return list(session.exec(select(Alert).where(Alert.kind == kind).order_by(Alert.day)))


def test_the_teacher_digest_comes_at_shift_plus_two_hours_listing_who_is_missing(
    engine, session, sweep
):
    a = add_student(session, "S001", name="张三")
    b = add_student(session, "S002", name="李四")
    add_student(session, "S003", name="王五")
    bind_teacher_and_parent(session, a)
    check_in(session, a, LAST)
    check_in(session, b, MON, 8, 58)
    sweep(MON, 10, 59)
    assert rows(engine, "teacher_digest") == []
    sweep(MON, 11, 0)
    [digest] = rows(engine, "teacher_digest")
    assert digest.person_kind == "teacher" and digest.quiet_hours is False
    assert "张三（汽修2301）连续 1 个工作日未签到，最后签到：2月28日（周六）" in digest.text
    assert "王五" in digest.text and "最后签到：暂无" in digest.text
    assert "李四" not in digest.text
    assert "2 人未签到" in digest.text


def test_no_parent_alert_on_the_first_missed_workday(engine, student, session, sweep):
    check_in(session, student, LAST)
    sweep(MON, 11, 0)
    assert rows(engine, "parent_alert") == []
    assert alerts(engine, "missing") == []


def test_parents_are_told_calmly_at_the_second_missed_workday(engine, student, session, sweep):
    check_in(session, student, LAST)
    sweep(MON, 11, 0)
    sweep(TUE, 10, 59)
    assert rows(engine, "parent_alert") == []
    sweep(TUE, 11, 0)
    [alert] = rows(engine, "parent_alert")
    assert alert.person_kind == "parent" and alert.quiet_hours is True
    assert "张三已连续 2 个工作日没有实习签到" in alert.text
    assert "李老师" in alert.text and "13800000001" in alert.text  # whom to contact
    [missing] = alerts(engine, "missing")
    assert (missing.student_id, missing.day) == (student, TUE)


def test_the_school_gets_a_lost_contact_alert_at_the_third_missed_workday(
    engine, student, session, sweep
):
    admin = ConsoleUser(username="school1", password_hash="x", role="school", school_id=1)
    session.add(admin)
    session.flush()
    bind(session, person_kind="school_admin", person_id=admin.id, external_id="admin")
    check_in(session, student, LAST)
    for day in (MON, TUE):
        sweep(day, 11, 0)
    assert alerts(engine, "lost_contact") == []
    sweep(WED, 11, 0)
    [lost] = alerts(engine, "lost_contact")
    assert (lost.student_id, lost.day, lost.severity) == (student, WED, "urgent")
    notices = rows(engine, "lost_contact")
    assert sorted(r.person_kind for r in notices) == ["school_admin", "teacher"]
    assert all("张三" in r.text and "连续 3 个工作日" in r.text for r in notices)
    assert len(rows(engine, "parent_alert")) == 1  # parents were told once, on Tuesday


def test_a_weekend_does_not_count_as_missed_days(engine, student, session, sweep):
    check_in(session, student, date(2026, 3, 5))  # Thursday
    sweep(date(2026, 3, 6), 11, 0)  # Friday: 1
    sweep(date(2026, 3, 9), 11, 0)  # Monday: 2, Saturday and Sunday skipped
    [alert] = rows(engine, "parent_alert")
    assert alert.day == date(2026, 3, 9)
    assert "连续 2 个工作日" in alert.text


def test_the_labour_day_holiday_does_not_count_as_missed_days(engine, student, session, sweep):
    check_in(session, student, date(2026, 4, 30))
    sweep(date(2026, 5, 6), 11, 0)  # 1 May to 5 May are public holidays
    assert rows(engine, "parent_alert") == []
    sweep(date(2026, 5, 7), 11, 0)
    assert len(rows(engine, "parent_alert")) == 1


def test_a_new_silence_after_a_check_in_alerts_parents_again(engine, student, session, sweep):
    check_in(session, student, LAST)
    sweep(MON, 11, 0)
    sweep(TUE, 11, 0)
    check_in(session, student, WED)
    sweep(WED, 11, 0)
    sweep(date(2026, 3, 5), 11, 0)
    sweep(date(2026, 3, 6), 11, 0)
    assert [a.day for a in alerts(engine, "missing")] == [TUE, date(2026, 3, 6)]
    assert len(rows(engine, "parent_alert")) == 2


def test_a_long_silence_raises_each_alert_once(engine, student, session, sweep):
    check_in(session, student, LAST)
    for day in range(2, 7):
        sweep(date(2026, 3, day), 11, 0)
        sweep(date(2026, 3, day), 11, 30)
    assert len(alerts(engine, "missing")) == 1
    assert len(alerts(engine, "lost_contact")) == 1
    assert len(rows(engine, "parent_alert")) == 1
    assert len(rows(engine, "teacher_digest")) == 5  # but the teacher hears every day


def test_students_on_different_shifts_get_their_own_digest(engine, session, sweep):
    a = add_student(session, "S001", shift_start=time(8, 0))
    add_student(session, "S002", name="李四", shift_start=time(9, 0))
    bind_teacher_and_parent(session, a)
    sweep(MON, 10, 0)
    assert ["张三" in r.text for r in rows(engine, "teacher_digest")] == [True]
    sweep(MON, 11, 0)
    assert len(rows(engine, "teacher_digest")) == 2


def test_alerts_are_inserted_with_their_key_checks_planned_once(engine, student, session, sweep):
    """PostgreSQL: the INSERT of the day's alerts (a school and a student key each) runs
    between models.db.CACHED_PLANS and PLAN_EACH: PostgreSQL's per-row key checks keep
    their plans while the session otherwise plans each execution anew."""
    import pytest
    from sqlalchemy import event

    from models.db import CACHED_PLANS, PLAN_EACH

    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan cache")
    check_in(session, student, LAST)
    sweep(MON, 11, 0)
    sent: list[str] = []
    listen = lambda conn, cursor, statement, *args: sent.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    try:
        sweep(TUE, 11, 0)
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert len(alerts(engine, "missing")) == 1
    inserts = [i for i, s in enumerate(sent) if s.startswith("INSERT INTO alerts ")]
    assert inserts and all((sent[i - 1], sent[i + 1]) == (CACHED_PLANS, PLAN_EACH) for i in inserts)
