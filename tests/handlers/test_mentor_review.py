"""Mentors and teachers in chat: a mentor's 今日, journal notices, 批阅 list and show."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models import Journal, Mentor, Placement
from tests.factories import make_student

LINE = "今天在车间跟着师傅学习更换刹车片，先拆下轮胎再检查磨损情况，最后按规定力矩装回去。"


@pytest.fixture
def workshop(session, bound_student, bind_as):
    """Student u1 (张三) mentored by 赵师傅 (m1), teacher t1; 王五 (u2) at the same company,
    not mentored by 赵师傅."""
    student = bound_student()
    bind_as(student, "teacher", "t1")
    other = make_student(session, student_no="S002", name="王五")
    bind_as(other, "student", "u2")
    placement = session.exec(select(Placement).where(Placement.student_id == student.id)).one()
    mentor = Mentor(company_id=placement.company_id, name="赵师傅", phone="13600000001")
    session.add(mentor)
    session.flush()
    placement.mentor_id = mentor.id
    from tests.factories import bind

    bind(session, person_kind="mentor", person_id=mentor.id, external_id="m1")
    session.commit()
    return mentor


def test_a_mentor_sees_own_interns_today_and_nobody_else(chat_factory, workshop):
    chat_factory("u2").location(26.5783, 106.7135)

    reply = chat_factory("m1").send("今日")

    assert reply.startswith("今日 3月2日（周一）：应签到 1 人，已签到 0 人。")
    assert "未签到 1 人：张三" in reply and "王五" not in reply


def test_a_mentor_is_told_when_an_intern_submits_a_journal(chat_factory, outbox, workshop):
    chat_factory("u1").send("日报 " + LINE * 2)
    chat_factory("u2").send("日报 " + LINE * 2)

    (told,) = outbox(person_kind="mentor")
    assert told.kind == "journal_submitted" and told.to_external_id == "m1"
    assert told.text.startswith("实习生张三提交了日报（编号 J1，")
    assert "发送「批阅 J1」查看全文" in told.text


def test_a_mentor_lists_shows_and_grades_own_interns_journals(session, chat_factory, workshop):
    chat_factory("u1").send("日报 第一天\n" + LINE * 2)
    chat_factory("u2").send("日报 " + LINE * 2)
    mentor = chat_factory("m1")

    listed = mentor.send("批阅")
    shown = mentor.send("批阅 J1")
    foreign = mentor.send("批阅 J2")
    graded = mentor.send("批阅 J1 88 很认真")

    assert listed.splitlines() == [
        "待批阅日志 1 篇：",
        "J1 张三 日报：第一天",
        "发送「批阅 编号」查看全文，「批阅 编号 分数 评语」评分。",
    ]
    assert shown.startswith("J1 张三（学号 S001）的日报，3月2日（周一） 09:00 提交，")
    assert LINE in shown and shown.endswith(
        "发送「批阅 J1 分数 评语」评分，例如「批阅 J1 90 写得很具体」。"
    )
    assert "没有找到日志 J2" in foreign
    assert graded.startswith("已批阅 J1（张三的日报）：88 分")
    session.expire_all()
    assert session.get(Journal, 1).graded_by == f"mentor:{workshop.id}"
    assert mentor.send("批阅") == "目前没有待批阅的日志。"


def test_a_teacher_lists_waiting_journals_with_number_student_kind_and_first_line(
    chat_factory, workshop
):
    chat_factory("u1").send("周记 " + LINE * 6)

    listed = chat_factory("t1").send("批阅")

    assert listed.splitlines()[:2] == ["待批阅日志 1 篇：", f"J1 张三 周记：{LINE[:40]}…"]


def test_todo_counts_what_waits_on_a_teacher_and_a_mentor(chat_factory, workshop):
    chat_factory("u1").send("周记 " + LINE * 6)
    chat_factory("u1").send("维权 老板两个月没发工资了")

    teacher = chat_factory("t1").send("待办")
    mentor = chat_factory("m1").send("待办")

    assert teacher.splitlines() == [
        "待办：",
        "待批阅日志 1 篇，发送「批阅」查看",
        "未结工单 1 件，发送「处理 T编号 说明」处理",
    ]
    assert mentor.splitlines() == ["待办：", "待批阅日志 1 篇，发送「批阅」查看"]  # no tickets
    assert chat_factory("u2").send("待办").startswith("抱歉，这个功能只对")
