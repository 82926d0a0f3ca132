"""Leave data functions: ask, overlap and date checks, list pending, approve / reject by whom."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from factories import make_student

from core.settings import Settings
from models import ConsoleUser, Leave
from models.attendance import approved_leave_days
from models.leave import create_leave, decide_leave, parse_number, pending_for_teacher

TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 3, 4)  # a Wednesday
NOW = datetime(2026, 3, 4, 10, 0, tzinfo=TZ)


def _ask(session, student_id, start, end=None, reason="发烧去医院", **kw):
    return create_leave(
        session, student_id=student_id, start=start, end=end or start, reason=reason,
        today=TODAY, now=NOW, max_past_days=Settings().checkin.makeup_max_days, **kw,
    )  # fmt: skip


def test_a_request_across_a_weekend_is_pending_and_numbered(session):
    student = make_student(session)
    result = _ask(session, student.id, date(2026, 3, 6), date(2026, 3, 9))  # Fri to Mon
    assert result.ok
    leave = result.leave
    assert (leave.status, leave.number, leave.school_id) == ("pending", f"L{leave.id}", 1)
    assert (leave.start_date, leave.end_date, leave.reason) == (
        date(2026, 3, 6),
        date(2026, 3, 9),
        "发烧去医院",
    )


def test_overlapping_dates_are_refused_with_the_other_request(session):
    student = make_student(session)
    first = _ask(session, student.id, date(2026, 3, 5), date(2026, 3, 6)).leave
    refused = _ask(session, student.id, date(2026, 3, 6), date(2026, 3, 10))
    assert refused.error == "overlap"
    assert refused.detail == {
        "number": first.number,
        "status": "pending",
        "start": date(2026, 3, 5),
        "end": date(2026, 3, 6),
    }
    # A rejected request frees its days.
    decide_leave(
        session, leave_id=first.id, approve=False, decider_kind="teacher",
        decider_id=1, decided_by="李老师", now=NOW, refusal="请先补交病历",
    )  # fmt: skip
    assert _ask(session, student.id, date(2026, 3, 6)).ok


def test_dates_reasons_and_ranges_are_checked(session):
    student = make_student(session)
    assert _ask(session, student.id, date(2026, 2, 24)).error == "too_old"  # 8 days ago
    assert _ask(session, student.id, date(2026, 2, 25)).ok  # 7 days ago: allowed
    assert _ask(session, student.id, date(2026, 3, 10), date(2026, 3, 9)).error == "bad_range"
    assert _ask(session, student.id, date(2026, 4, 1), date(2026, 6, 1)).error == "too_long"
    assert _ask(session, student.id, date(2026, 3, 12), reason="  ").error == "no_reason"
    assert _ask(session, 999, date(2026, 3, 12)).error == "no_student"


def test_only_the_students_teacher_or_a_school_admin_of_that_school_decides(session):
    student = make_student(session)
    other = make_student(session, student_no="S900", teacher_phone="13800000999")
    far = make_student(session, student_no="S800", school="另一所学校", teacher_phone="13800000888")
    admin = ConsoleUser(username="a", password_hash="x", role="school", school_id=1)
    admin_far = ConsoleUser(username="b", password_hash="x", role="school", school_id=2)
    session.add_all([admin, admin_far])
    session.flush()
    leave = _ask(session, student.id, date(2026, 3, 5)).leave

    def decide(kind, who, approve=True):
        return decide_leave(
            session, leave_id=leave.id, approve=approve, decider_kind=kind, decider_id=who,
            decided_by="x", now=NOW, refusal="",
        )  # fmt: skip

    assert decide("teacher", other.teacher_id).error == "forbidden"
    assert decide("teacher", far.teacher_id).error == "forbidden"
    assert decide("school_admin", admin_far.id).error == "forbidden"
    assert decide("parent", 1).error == "forbidden"
    assert decide("teacher", student.teacher_id, approve=False).error == "no_reason"
    done = decide("school_admin", admin.id)
    assert done.ok and done.leave.status == "approved" and done.leave.decided_at == NOW
    again = decide("teacher", student.teacher_id)
    assert again.error == "decided" and again.detail["status"] == "approved"
    assert decide_leave(
        session, leave_id=9999, approve=True, decider_kind="teacher", decider_id=1,
        decided_by="x", now=NOW,
    ).error == "not_found"  # fmt: skip


def test_pending_lists_and_approved_days_for_the_due_rule(session):
    mine = make_student(session)
    theirs = make_student(session, student_no="S900", teacher_phone="13800000999")
    a = _ask(session, mine.id, date(2026, 3, 5)).leave
    b = _ask(session, mine.id, date(2026, 3, 9), date(2026, 3, 10)).leave
    _ask(session, theirs.id, date(2026, 3, 5))
    excused = _ask(session, mine.id, date(2026, 3, 3), approved_by="李老师", source="console")
    assert excused.leave.status == "approved" and excused.leave.decided_by == "李老师"
    pending = pending_for_teacher(session, teacher_id=mine.teacher_id)
    assert [leave.id for leave, _ in pending] == [a.id, b.id]
    assert {s.name for _, s in pending} == {"张三"}
    days = approved_leave_days(
        session, student_ids=[mine.id, theirs.id], first=date(2026, 3, 1), last=date(2026, 3, 31)
    )
    assert days == {mine.id: [(date(2026, 3, 3), date(2026, 3, 3))]}
    assert session.get(Leave, b.id).status == "pending"


def test_leave_numbers_are_read_from_chat_text():
    assert parse_number("L12") == 12
    assert parse_number(" l 7 ") == 7
    assert parse_number("T12") is None
    assert parse_number("L") is None
