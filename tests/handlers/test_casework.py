"""Teachers in chat: 批阅 grades journals, 处理 / 结案 move tickets and alerts on."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models import Alert, CaseNote, Journal, Ticket
from tests.factories import make_student

LINE = "今天在车间跟着师傅学习更换刹车片，先拆下轮胎再检查磨损情况，最后按规定力矩装回去。"


@pytest.fixture
def classroom(session, bound_student, bind_as):
    """A bound student (u1) and teacher (t1), and a second teacher (t2) with another student."""
    student = bound_student()
    bind_as(student, "teacher", "t1")
    other = make_student(
        session, student_no="S002", name="王五", teacher_name="赵老师", teacher_phone="13800000002"
    )
    bind_as(other, "teacher", "t2")
    return student


def test_a_teacher_grades_a_journal_and_the_student_is_told(
    session, chat_factory, outbox, classroom
):
    student = classroom
    chat_factory("u1").send("周记 " + LINE * 6)
    reply = chat_factory("t1").send("批阅 J1 90 写得很具体，继续保持")
    assert "已批阅 J1（张三的周记）：90 分。已通知学生" in reply
    session.expire_all()
    journal = session.get(Journal, 1)
    assert (journal.status, journal.score, journal.comment) == (
        "graded",
        90,
        "写得很具体，继续保持",
    )
    assert journal.graded_by == f"teacher:{student.teacher_id}"
    (told,) = outbox(person_kind="student")
    assert told.kind == "journal_graded" and told.quiet_hours
    assert told.text == "您的周记（第 6 周，编号 J1）已批阅：90 分。老师评语：写得很具体，继续保持"


def test_grading_again_updates_the_grade_and_the_number_needs_no_prefix(
    session, chat_factory, outbox, classroom
):
    chat_factory("u1").send("周记 " + LINE * 6)
    teacher = chat_factory("t1")
    teacher.send("批阅 J1 80")
    assert "已更新 J1（张三的周记）的评分：85 分" in teacher.later(minutes=1).send("批阅 1 85分 好")
    assert len(outbox(kind="journal_graded")) == 2


def test_only_the_students_own_teacher_may_grade(session, chat_factory, classroom):
    chat_factory("u1").send("周记 " + LINE * 6)
    assert "没有找到日志 J1，或不是您负责的学生" in chat_factory("t2").send("批阅 J1 60 一般")
    assert session.get(Journal, 1).status == "submitted"


def test_a_bad_grade_gets_the_format(session, chat_factory, classroom):
    teacher = chat_factory("t1")
    for text in ("批阅 J1 120 好", "批阅 JX 90", "批阅 JX"):
        assert "请按格式发送：批阅 日志编号 分数 评语" in teacher.send(text)
    # Without a score 批阅 reads (handlers.review): the list, or one journal in full.
    assert teacher.send("批阅") == "目前没有待批阅的日志。"
    assert "没有找到日志 J1" in teacher.send("批阅 J1")


def test_handle_moves_a_ticket_to_handling_then_resolves_it(
    session, chat_factory, outbox, classroom
):
    chat_factory("u1").send("维权 老板两个月没发工资了")
    teacher = chat_factory("t1")
    teacher.dialog(
        [
            (
                "处理 T1 已联系企业人事，对方说是财务的问题",
                "工单 T1 已更新为「处理中」。已通知学生新的状态；说明只留在工单里。",
            ),
            (
                "处理 t1 企业答应周五发 | 回复：企业答应本周五补发工资",
                "已为工单 T1 添加说明（仍为「处理中」）。已通知学生新的状态和您的回复。",
            ),
            (
                "处理 1 已解决，工资已补发",
                "工单 T1 已更新为「已解决」。已通知学生新的状态；说明只留在工单里。",
            ),
            ("结案 T1", "T1 已经结案，无需再处理。"),
        ]
    )
    session.expire_all()
    assert session.get(Ticket, 1).status == "resolved"
    notes = session.exec(select(CaseNote).order_by(CaseNote.id)).all()
    assert [n.status for n in notes] == ["open", "handling", "handling", "resolved"]
    assert notes[1].note == "已联系企业人事，对方说是财务的问题"
    assert notes[2].note == "企业答应周五发\n回复学生：企业答应本周五补发工资"
    told = [m.text for m in outbox(person_kind="student", kind="ticket_status")]
    assert told == [  # the private note never reaches the student
        "您的工单 T1 状态：处理中。",
        "您的工单 T1 状态：处理中。\n老师回复：企业答应本周五补发工资",
        "您的工单 T1 状态：已解决。",
    ]


def test_the_close_word_resolves_a_ticket(session, chat_factory, classroom):
    chat_factory("u1").send("反馈 宿舍没有热水")
    assert "工单 T1 已更新为「已解决」" in chat_factory("t1").send("结案 T1 已更换热水器")


def test_a_teacher_handles_an_urgent_alert_and_the_ticket_moves_the_alert(
    session, chat_factory, outbox, classroom
):
    chat_factory("u1").send("求助 被机器砸伤了脚")
    teacher = chat_factory("t1")
    assert "预警 A1 已更新为「处理中」" in teacher.send("处理 A1 已电话联系学生，正在去医院")
    session.expire_all()
    assert session.get(Alert, 1).status == "handling"
    teacher.send("结案 T1 已就医，企业承担费用")
    session.expire_all()
    assert session.get(Alert, 1).status == "resolved"
    assert "A1 已经结案" in teacher.send("处理 A1 再看看")
    assert outbox(kind="alert_status") == []  # the teacher is not told of their own moves


def test_another_teacher_cannot_handle_the_ticket(session, chat_factory, classroom):
    chat_factory("u1").send("维权 老板两个月没发工资了")
    assert "没有找到工单 T1" in chat_factory("t2").send("处理 T1 我来看看")
    assert "请按格式发送：处理 编号 说明" in chat_factory("t1").send("处理")


def test_a_bound_school_admin_handles_tickets_of_the_school(
    session, chat_factory, classroom, bind_as
):
    student = classroom
    bind_as(student, "school_admin", "a1")
    chat_factory("u1").send("维权 实习单位没有给我们买实习保险")
    assert "工单 T1 已更新为「处理中」" in chat_factory("a1").send("处理 T1 已约谈企业")


def test_a_school_admin_handling_an_alert_tells_the_students_teacher(
    session, chat_factory, outbox, classroom, bind_as
):
    bind_as(classroom, "school_admin", "a1")
    chat_factory("u1").send("求助 被机器砸伤了脚")
    assert "预警 A1 已更新为「处理中」" in chat_factory("a1").send("处理 A1 已派人去医院")
    (told,) = outbox(kind="alert_status")
    assert (told.person_kind, told.person_id) == ("teacher", classroom.teacher_id)
    assert told.text == "预警 A1（张三，紧急工单）已更新为「处理中」。已派人去医院"


def test_english_grade_and_handle_for_telegram_teachers(session, chat_factory, classroom, bind_as):
    student = classroom
    bind_as(student, "teacher", "900", channel="telegram", language="en")
    chat_factory("u1").send("周记 " + LINE * 6)
    chat_factory("u1").send("维权 老板两个月没发工资了")
    tg = chat_factory("900", channel="telegram", language="en")
    reply = tg.send("J1 95 great detail", intent="grade")
    assert "Graded J1 (张三, weekly journal): 95. The student has been told." in reply
    assert "ticket T1 is now being handled" in tg.send("T1 called the company", intent="handle")
    assert "ticket T1 is now resolved" in tg.send("resolve T1 wages paid")
