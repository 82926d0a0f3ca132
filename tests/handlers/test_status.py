"""状态 / 我的 for students, parents (no coordinates) and teachers."""

from __future__ import annotations

from datetime import date, timedelta

from models import Journal, Ticket
from tests.factories import GUIYANG, make_student


def test_student_status_shows_identity_placement_today_week_journal_and_tickets(
    session, chat_factory, bound_student
):
    student = bound_student()
    me = chat_factory("u1").later(days=2)  # Wednesday
    me.location(*GUIYANG, at=me.now - timedelta(days=2))  # Monday
    me.location(*GUIYANG)  # today
    session.add(
        Journal(
            school_id=student.school_id,
            student_id=student.id,
            kind="weekly",
            period_start=date(2026, 2, 23),
            text="x" * 200,
            status="graded",
            score=88,
        )
    )
    session.add(
        Ticket(
            school_id=student.school_id, student_id=student.id, category="wages", description="x"
        )
    )
    session.commit()
    reply = me.send("状态")
    for part in (
        "学生 张三（学号 S001）、贵州交通职业技术学院",
        "实习单位：贵阳汽车服务有限公司 · 汽车维修；上班 09:00–18:00，周一至周五",
        "今天：上班 09:00",
        "本周出勤：2/3 天",
        "最近日志：周记 2月23日（周一），已批阅 88 分",
        "未结的反馈：1 件",
    ):
        assert part in reply, reply
    assert "本周出勤：2/3 天" in me.send("我的")


def test_student_status_in_english(session, english_telegram):
    _, tg = english_telegram("8")
    reply = tg.send("", intent="status")
    assert "Today: no check-in yet." in reply and "This week: present 0 of 1 workdays" in reply
    assert "shift 09:00–18:00, Mon–Fri" in reply


def test_parent_sees_days_present_and_times_but_no_coordinates_or_distances(
    session, chat_factory, bound_student, bind_as
):
    bind_as(bound_student(), "parent", "p1")
    me = chat_factory("u1").later(days=2)
    me.location(GUIYANG[0] + 0.02, GUIYANG[1], at=me.now - timedelta(days=2))  # outside
    reply = chat_factory("p1").later(days=2).send("状态")
    assert "张三 本周签到：1/3 个工作日" in reply
    assert "3月2日（周一）：上班 09:00" in reply
    assert "3月3日（周二）：未签到" in reply
    for secret in ("26.", "106.", "米", "公里", "范围"):
        assert secret not in reply


def test_teacher_status_counts_own_students(session, chat, bind_as):
    bind_as(make_student(session), "teacher")
    assert "名下学生 1 人" in chat.send("状态")
