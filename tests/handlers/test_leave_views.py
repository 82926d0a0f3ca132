"""Approved leave as chat shows it: 请假 in the student's and the parent's week, and in 今日."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from models.leave import create_leave
from tests.factories import make_student

TZ = ZoneInfo("Asia/Shanghai")
TUE, WED = date(2026, 3, 3), date(2026, 3, 4)


def _excuse(session, student, start, end):
    result = create_leave(
        session, student_id=student.id, start=start, end=end, reason="发烧",
        today=start, now=datetime(2026, 3, 2, 8, tzinfo=TZ), max_past_days=7,
        approved_by="李老师",
    )  # fmt: skip
    assert result.ok
    session.commit()


def test_the_parent_and_the_student_see_leave_days_and_they_are_not_counted_due(
    session, chat_factory, bound_student, bind_as
):
    student = bound_student()
    bind_as(student, "parent", "p1")
    _excuse(session, student, TUE, WED)
    parent = chat_factory("p1").later(days=2)  # Wednesday
    reply = parent.send("状态")
    assert "张三 本周签到：0/1 个工作日" in reply, reply  # Monday only
    assert "3月2日（周一）：未签到" in reply
    assert "3月3日（周二）：请假" in reply and "3月4日（周三）：请假" in reply
    me = chat_factory("u1").later(days=2)
    mine = me.send("状态")
    assert "今天：已请假，无需签到。" in mine and "本周出勤：0/1 天" in mine


def test_the_teachers_today_lists_leave_and_unbound_students_apart(
    session, chat_factory, bound_student, bind_as
):
    student = bound_student()
    bind_as(student, "teacher", "t1")
    _excuse(session, student, date(2026, 3, 2), date(2026, 3, 2))
    make_student(session, student_no="S077", name="王五")  # never binds
    session.commit()
    reply = chat_factory("t1").later(hours=3).send("今日")
    assert "今日 3月2日（周一）：应签到 0 人，已签到 0 人。" in reply
    assert "请假 1 人：张三" in reply and "未绑定 1 人：王五" in reply
    assert "未签到" not in reply


def test_a_parent_of_a_child_not_yet_bound_is_told_so(session, chat_factory, bind_as):
    child = make_student(session, student_no="S055", name="王五")
    bind_as(child, "parent", "p5")
    reply = chat_factory("p5").send("状态")
    assert "王五 还没有绑定实习助手" in reply and "没有实习工作日" not in reply
