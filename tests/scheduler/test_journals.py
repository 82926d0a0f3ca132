"""Weekly journals: Friday 18:00 reminder, Monday 09:00 teacher digest, daily grading digest."""

from __future__ import annotations

from datetime import date

from sched_helpers import add_student, at, bind_teacher_and_parent, rows

from core.notices import render, still_relevant
from models import Journal

MON, FRI, SUN = date(2026, 3, 2), date(2026, 3, 6), date(2026, 3, 8)
NEXT_MON = date(2026, 3, 9)


def write_weekly(session, student_id: int, monday: date, when=None) -> int:
    journal = Journal(
        school_id=1,
        student_id=student_id,
        kind="weekly",
        period_start=monday,
        text="本周学习了发动机保养。" * 30,
        char_count=300,
        submitted_at=when or at(monday, 20),
    )
    session.add(journal)
    session.commit()
    return journal.id


def test_students_without_this_weeks_journal_are_reminded_on_friday_at_1800(engine, session, sweep):
    a = add_student(session, "S001", name="张三")
    b = add_student(session, "S002", name="李四")
    write_weekly(session, b, MON)
    sweep(FRI, 17, 59)
    assert rows(engine, "journal_reminder") == []
    sweep(FRI, 18, 0)
    sweep(FRI, 18, 5)
    [reminder] = rows(engine, "journal_reminder")
    assert (reminder.person_id, reminder.day, reminder.quiet_hours) == (a, MON, True)
    assert reminder.expires_at == at(NEXT_MON, 0, 0)  # due Sunday 23:59
    assert "3月8日" in render(session, reminder)


def test_a_reminder_is_dropped_if_the_journal_arrives_before_it_is_sent(engine, session, sweep):
    a = add_student(session, "S001")
    session.commit()
    sweep(FRI, 18, 0)
    [reminder] = rows(engine, "journal_reminder")
    write_weekly(session, a, MON, at(FRI, 21))
    assert not still_relevant(session, reminder, at(date(2026, 3, 7), 7, 0))


def test_teachers_hear_on_monday_at_0900_who_missed_last_weeks_journal(engine, session, sweep):
    a = add_student(session, "S001", name="张三")
    b = add_student(session, "S002", name="李四")
    bind_teacher_and_parent(session, a)
    write_weekly(session, b, MON)
    sweep(NEXT_MON, 8, 59)
    assert rows(engine, "journal_digest") == []
    sweep(NEXT_MON, 9, 0)
    [digest] = rows(engine, "journal_digest")
    assert digest.person_kind == "teacher" and digest.day == MON
    assert "张三" in digest.text and "李四" not in digest.text
    assert "3月2日（周一）—3月8日（周日）" in digest.text


def test_the_daily_grading_digest_lists_journals_since_yesterdays(engine, session, sweep):
    a = add_student(session, "S001", name="张三")
    bind_teacher_and_parent(session, a)
    old = write_weekly(session, a, date(2026, 2, 23), at(MON, 17, 0))
    new = write_weekly(session, a, MON, at(date(2026, 3, 3), 12, 0))
    sweep(date(2026, 3, 3), 18, 0)
    sweep(date(2026, 3, 3), 18, 30)
    [digest] = rows(engine, "grading_digest")
    assert f"#{new} 张三（汽修2301）周记" in digest.text and f"#{old} " not in digest.text
    assert "共 2 篇待批阅" in digest.text
    assert "批阅" in digest.text


def test_no_grading_digest_when_nothing_new_was_submitted(engine, session, sweep):
    bind_teacher_and_parent(session, add_student(session, "S001"))
    sweep(date(2026, 3, 3), 18, 0)
    assert rows(engine, "grading_digest") == []
