"""Command words act only for their roles; for anyone else a sentence is read as free text."""

from __future__ import annotations

from sqlmodel import select

from models import ConversationState, Ticket


def test_a_students_sentence_opening_with_today_is_a_daily_journal(session, chat, bound_student):
    bound_student()
    assert chat.send("今日完成了零件装配") == (
        "已记录，日报目前共 9 字，还差 41 字。继续发送，或发送「取消」放弃。"
    )
    state = session.exec(select(ConversationState)).one()
    assert state.data == {"kind": "daily", "parts": ["今日完成了零件装配"]}


def test_a_bare_word_of_another_role_says_whose_it_is(session, chat, bound_student):
    bound_student()
    assert chat.send("今日") == (
        "抱歉，这个功能只对指导教师、企业导师开放，您目前绑定的身份是学生。发送「帮助」查看您可以做的事。"
    )


def test_a_parents_question_about_check_ins_is_a_status_request(
    session, chat_factory, bound_student, bind_as
):
    student = bound_student()
    bind_as(student, "parent", "p1")
    parent = chat_factory("p1")
    chat_factory("u1").location(26.5783, 106.7135)
    assert (
        parent.send("孩子今天签到了吗") == "张三 本周签到：1/1 个工作日\n3月2日（周一）：上班 09:00"
    )


def test_a_teachers_question_about_check_ins_is_today(
    session, chat_factory, bound_student, bind_as
):
    student = bound_student()
    bind_as(student, "teacher", "t1")
    assert chat_factory("t1").send("今天谁签到了").startswith("今日 3月2日（周一）：应签到 1 人")


def test_a_students_complaint_opening_with_a_teachers_word_is_a_report(
    session, chat, bound_student
):
    bound_student()
    assert chat.send("处理不了，老板一直骂我").startswith(
        "已收到您的反馈，工单 T1（骚扰与人身权益）"
    )
    assert session.exec(select(Ticket)).one().category == "harassment"
