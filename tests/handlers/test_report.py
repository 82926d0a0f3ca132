"""维权/反馈/求助 as dialogs: tickets, categories, urgent alerts, parents kept out by default."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models import Alert, CaseNote, SchoolDay, Ticket


@pytest.fixture
def people(bound_student, bind_as):
    """A bound student (u1) with their teacher (t1) and parent (p1) bound too."""
    student = bound_student()
    bind_as(student, "teacher", "t1")
    bind_as(student, "parent", "p1")
    return student


def _tickets(session) -> list[Ticket]:
    session.expire_all()
    return list(session.exec(select(Ticket).order_by(Ticket.id)).all())


def test_the_report_word_alone_asks_for_the_description_then_opens_a_ticket(
    session, chat, outbox, people
):
    chat.dialog(
        [
            ("维权", "请描述遇到的问题"),
            ("老板说好的每月3000，到现在两个月了一分钱都没发", "工单编号 T1（类别：工资报酬）"),
        ]
    )
    (ticket,) = _tickets(session)
    assert (ticket.category, ticket.severity, ticket.status) == ("wages", "normal", "open")
    assert "两个月了一分钱都没发" in ticket.description
    note = session.exec(select(CaseNote)).one()
    assert (note.case_kind, note.case_id, note.status) == ("ticket", ticket.id, "open")
    assert session.exec(select(SchoolDay)).one().tickets == 1
    assert session.exec(select(Alert)).first() is None
    assert outbox() == []  # a normal ticket waits for the teacher's console and digest


def test_a_report_with_its_description_in_one_message_opens_a_ticket_at_once(session, chat, people):
    reply = chat.send("反馈 宿舍没有热水，冬天只能洗冷水澡")
    assert "已收到您的反馈，工单编号 T1（类别：食宿）" in reply
    assert "处理进展会在这里通知您" in reply
    assert _tickets(session)[0].description == "宿舍没有热水，冬天只能洗冷水澡"


def test_free_text_complaint_opens_a_ticket(session, chat, people):
    assert "工单编号 T1（类别：工资报酬）" in chat.send("老板不发工资")
    assert "工单编号 T2（类别：收费、押金与中介）" in chat.send("公司把我们的身份证扣押了")


def test_i_want_to_complain_asks_what_happened(session, chat, people):
    chat.dialog([("我要投诉", "请描述遇到的问题"), ("取消", "已取消")])
    assert _tickets(session) == []


def test_a_safety_report_alerts_the_teacher_and_the_school_at_once(
    session, chat, outbox, people, bind_as
):
    student = people
    bind_as(student, "school_admin", "a1")
    reply = chat.send("求助 今天在车间被机器夹伤了手指，现在在医院")
    assert "工单编号 T1（类别：安全）" in reply
    assert "已立即通知您的指导教师和学校" in reply and "120" in reply
    (ticket,) = _tickets(session)
    assert ticket.severity == "urgent"
    alert = session.exec(select(Alert)).one()
    assert (alert.kind, alert.ticket_id, alert.severity) == ("urgent_ticket", ticket.id, "urgent")
    (to_teacher,) = outbox(person_kind="teacher")
    assert to_teacher.person_id == student.teacher_id and to_teacher.kind == "urgent_ticket"
    assert "【紧急维权】张三提交了工单 T1（安全）" in to_teacher.text
    assert not to_teacher.quiet_hours  # urgent: not held back at night
    (to_school,) = outbox(person_kind="school_admin")
    assert "指导教师：李老师" in to_school.text
    assert outbox(person_kind="parent") == []


def test_harassment_is_urgent_and_a_second_one_the_same_day_reuses_the_alert(
    session, chat, outbox, people
):
    chat.send("维权 组长经常对女实习生动手动脚")
    chat.later(hours=1).send("维权 主管威胁我说如果告诉学校就让我毕业不了")
    assert [t.severity for t in _tickets(session)] == ["urgent", "urgent"]
    alert = session.exec(select(Alert)).one()  # one urgent_ticket alert per student and day
    assert alert.ticket_id == _tickets(session)[1].id
    assert len(outbox(person_kind="teacher")) == 2


def test_parents_are_told_only_of_tickets_the_school_marks_for_them(
    session, chat_factory, outbox, people
):
    student_chat, teacher = chat_factory("u1"), chat_factory("t1")
    student_chat.send("维权 公司让我们每天上12个小时的班，还不给加班费")
    teacher.send("处理 T1 已联系企业")
    assert outbox(person_kind="parent") == []
    ticket = _tickets(session)[0]
    ticket.notify_parent = True
    session.add(ticket)
    session.commit()
    teacher.later(minutes=5).send("处理 T1 已解决，企业同意补发加班费")
    (to_parent,) = outbox(person_kind="parent")
    assert "工单 T1" in to_parent.text and "已解决" in to_parent.text
    assert to_parent.quiet_hours


def test_english_report_for_telegram_users(session, english_telegram):
    _, tg = english_telegram("777")
    assert "Please describe the problem" in tg.send("", intent="report")
    reply = tg.send("My boss has not paid my wages for two months")
    assert "We received your report: ticket T1 (category: wages)" in reply
    reply = tg.send("I got injured at the machine today", intent="report")
    assert "ticket T2 (category: safety)" in reply and "This is urgent" in reply
