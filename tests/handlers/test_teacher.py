"""Teachers in chat: 今日 (missing, outside, late) and 学生 <name>; refused for other roles."""

from __future__ import annotations

import pytest

from tests.factories import GUIYANG, make_student


@pytest.fixture
def classroom(session, chat_factory, bind_as):
    """Four students of 李老师 and one of another teacher, each bound to their own chat."""
    names = ["张三", "李四", "王五", "赵六"]
    students = [make_student(session, student_no=f"S00{i}", name=n) for i, n in enumerate(names)]
    other = make_student(session, student_no="S900", name="钱七", teacher_phone="13800000999")
    for s in [*students, other]:
        bind_as(s, "student", s.student_no)
    bind_as(students[0], "teacher", "t1")
    chats = {s.name: chat_factory(s.student_no) for s in [*students, other]}
    return students, chats, chat_factory("t1")


def test_today_lists_missing_outside_and_late_own_students_with_counts(
    session, chat_factory, classroom
):
    _, chats, teacher = classroom
    chats["张三"].location(*GUIYANG)
    chats["李四"].location(GUIYANG[0] + 0.0108, GUIYANG[1])
    chats["王五"].later(minutes=25).location(*GUIYANG)
    reply = teacher.later(hours=2).send("今日")
    assert "今日 3月2日（周一）：应签到 4 人，已签到 3 人。" in reply
    assert "未签到 1 人：赵六" in reply
    assert "超出范围 1 人：李四（约 1.2 公里）" in reply
    assert "迟到 1 人：王五 09:25" in reply
    assert "钱七" not in reply  # another teacher's student


def test_today_in_english_over_telegram(session, english_telegram, bind_as):
    student, tg = english_telegram("42", "teacher")
    bind_as(student, "student", "s42")  # unbound students are not due (listed apart)
    reply = tg.send("", intent="today")
    assert "Today, Mon 2 Mar: 0 of 1 students checked in." in reply
    assert "Not checked in (1): 张三" in reply


def test_today_on_a_weekend_says_nobody_is_due(session, chat_factory, classroom):
    _, _, teacher = classroom
    assert "都无需签到" in teacher.later(days=5).send("今日")


def test_student_week_shows_each_workday_with_distances_for_own_students_only(
    session, chat_factory, classroom
):
    _, chats, teacher = classroom
    chats["张三"].location(*GUIYANG)
    chats["张三"].later(hours=9).location(GUIYANG[0] + 0.0108, GUIYANG[1])
    teacher.later(days=2)
    reply = teacher.send("学生 张三")
    assert "张三（学号 S000）本周出勤 1/3 天" in reply
    assert "3月2日（周一）：上班 09:00 不到 10 米、下班 18:00 约 1.2 公里（范围外）" in reply
    assert "3月3日（周二）：未签到" in reply
    assert "S001" in teacher.send("学生 S001")
    assert "没有名为「钱七」的学生" in teacher.send("学生 钱七")
    assert "请在「学生」后写上学生姓名" in teacher.send("学生")


def test_student_cannot_use_teacher_commands_and_teacher_cannot_write_journals(
    session, chat_factory, classroom
):
    _, chats, teacher = classroom
    assert "只对指导教师、企业导师开放" in chats["张三"].send("今日")
    assert "只对学生开放" in teacher.send("日报")


def test_help_is_role_specific_and_unknown_text_gets_help(session, chat_factory, classroom):
    _, chats, teacher = classroom
    assert "「今日」" in teacher.send("帮助")
    reply = chats["张三"].send("呜啦啦啦")
    assert "抱歉，没看懂这句话" in reply and "签到：到岗后发送位置" in reply
    assert "当前没有进行中的操作" in chats["张三"].send("取消")


def test_english_help_cancel_student_and_unbind_over_telegram(session, english_telegram, bind_as):
    student, tg = english_telegram("43", "teacher")
    bind_as(student, "student", "s43")
    assert "/today: students missing" in tg.send("", intent="help")
    assert "nothing to cancel" in tg.send("", intent="cancel")
    assert "张三 (no. S001) this week: present 0 of 1 workdays" in tg.send("张三", intent="student")
    assert "Unlinked" in tg.send("", intent="unbind")
    assert "ask your teacher for your 8-character code" in tg.send("hello")
