"""维权/反馈/求助 as dialogs: tickets, categories, urgent alerts, parents kept out by default."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models import Alert, CaseNote, SchoolDay, Ticket

ASK = (
    "请描述遇到的问题：发生了什么、在哪里、什么时候、涉及谁。您的反馈只有指导教师和学校能看到。"
    "发送「取消」放弃。"
)


def receipt(no: str, categories: str, *, urgent: bool = False) -> str:
    """The whole receipt for a student of 李老师's (tickets go to the school after 48 h)."""
    lines = [
        f"已收到您的反馈，工单 {no}（{categories}）。",
        "已转给指导教师李老师，进展会在这里通知您；48 小时内无人受理会自动上报学校。",
    ]
    if urgent:
        lines.append(
            "这是紧急情况，已同时通知学校。如有人身危险，请先拨打 110（报警）或 120（急救）。"
        )
    lines.append(f"类别不准？回复「类别 {no} 正确类别」即可更正。")
    return "\n".join(lines)


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
            ("维权", ASK),
            ("老板说好的每月3000，到现在两个月了一分钱都没发", receipt("T1", "工资报酬")),
        ]
    )
    (ticket,) = _tickets(session)
    assert (ticket.category, ticket.severity, ticket.status) == ("wages", "normal", "open")
    assert ticket.categories == ["wages"]
    assert "两个月了一分钱都没发" in ticket.description
    note = session.exec(select(CaseNote)).one()
    assert (note.case_kind, note.case_id, note.status) == ("ticket", ticket.id, "open")
    assert session.exec(select(SchoolDay)).one().tickets == 1
    assert session.exec(select(Alert)).first() is None


def test_every_new_ticket_reaches_the_teacher_at_once_with_its_number_and_text(
    session, chat, outbox, people
):
    chat.send("维权 老板说好的每月3000，到现在两个月了一分钱都没发")
    (to_teacher,) = outbox(person_kind="teacher")
    assert to_teacher.text == (
        "【维权工单 T1】张三（汽修2301）反映：工资报酬\n"
        "“老板说好的每月3000，到现在两个月了一分钱都没发”\n"
        "请尽快了解情况，回复「处理 T1 处理说明 | 回复：给学生的话」。"
    )
    assert (to_teacher.kind, to_teacher.quiet_hours) == ("ticket_new", False)
    assert outbox(person_kind="school_admin") == []  # not urgent: the teacher's first


def test_a_report_naming_two_problems_gets_both_categories(session, chat, people):
    reply = chat.send("维权 老板两个月没发工资了，还扣押了我的身份证")
    assert reply == receipt("T1", "收费、押金与中介、工资报酬")
    (ticket,) = _tickets(session)
    assert ticket.categories == ["fees", "wages"] and ticket.category == "fees"


def test_a_student_corrects_the_category(session, chat, outbox, people):
    chat.send("维权 宿舍没有热水，冬天只能洗冷水澡")
    chat.dialog(
        [
            ("类别 T1 工资", "已将工单 T1 的类别更正为：工资报酬、食宿。已告知指导教师。"),
            ("类别 T9 工资", "没有找到您的工单 T9。"),
            (
                "类别 T1",
                "请这样写：类别 工单编号 正确类别，例如「类别 T12 工资」。类别有：工资报酬、"
                "加班与工时、安全、骚扰与人身权益、收费、押金与中介、食宿、协议与保险、其他。",
            ),
        ]
    )
    (ticket,) = _tickets(session)
    assert (ticket.category, ticket.categories) == ("wages", ["wages", "housing"])
    told = outbox(person_kind="teacher", kind="ticket_update")
    assert [m.text for m in told] == ["工单 T1（张三）的类别已由学生更正为：工资报酬、食宿。"]


def test_a_report_with_its_description_in_one_message_opens_a_ticket_at_once(session, chat, people):
    assert chat.send("反馈 宿舍没有热水，冬天只能洗冷水澡") == receipt("T1", "食宿")
    assert _tickets(session)[0].description == "宿舍没有热水，冬天只能洗冷水澡"


def test_free_text_complaint_opens_a_ticket(session, chat, people):
    assert chat.send("老板不发工资") == receipt("T1", "工资报酬")
    assert chat.send("公司把我们的身份证扣押了") == receipt("T2", "收费、押金与中介")


def test_a_sentence_starting_with_a_teachers_word_is_a_students_report(session, chat, people):
    assert chat.send("处理不了，老板一直骂我") == receipt("T1", "骚扰与人身权益", urgent=True)


def test_i_want_to_complain_asks_what_happened(session, chat, people):
    chat.dialog([("我要投诉", ASK), ("取消", "已取消，没有提交反馈。")])
    assert _tickets(session) == []


def test_a_safety_report_alerts_the_teacher_and_the_school_at_once(
    session, chat, outbox, people, bind_as
):
    student = people
    bind_as(student, "school_admin", "a1")
    reply = chat.send("求助 今天在车间被机器夹伤了手指，现在在医院")
    assert reply == receipt("T1", "安全", urgent=True)
    (ticket,) = _tickets(session)
    assert ticket.severity == "urgent"
    alert = session.exec(select(Alert)).one()
    assert (alert.kind, alert.ticket_id, alert.severity) == ("urgent_ticket", ticket.id, "urgent")
    (to_teacher,) = outbox(person_kind="teacher")
    assert to_teacher.person_id == student.teacher_id and to_teacher.kind == "ticket_new"
    assert to_teacher.text.startswith("【紧急维权 T1】张三（汽修2301）反映：安全")
    assert not to_teacher.quiet_hours  # urgent: not held back at night
    (to_school,) = outbox(person_kind="school_admin")
    assert to_school.text.startswith("【紧急维权 T1】张三（汽修2301）（指导教师：李老师）")
    assert outbox(person_kind="parent") == []


def test_words_of_self_harm_also_give_the_psychological_support_hotline(session, chat, people):
    reply = chat.send("维权 主管天天骂我，我真的不想活了")
    assert "12356 心理援助热线" in reply and "110" in reply


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
    teacher.later(minutes=5).send("处理 T1 已解决 | 回复：企业同意补发加班费")
    (to_parent,) = outbox(person_kind="parent")
    assert to_parent.text == (
        "家长您好：学校正在跟进张三反映的问题（工单 T1），当前状态：已解决。企业同意补发加班费"
    )
    assert to_parent.quiet_hours


def test_english_report_for_telegram_users(session, english_telegram):
    _, tg = english_telegram("777")
    assert "Please describe the problem" in tg.send("", intent="report")
    reply = tg.send("My boss has not paid my wages for two months")
    assert reply.startswith("We received your report: ticket T1 (wages).")
    reply = tg.send("I got injured at the machine today", intent="report")
    assert "ticket T2 (safety)" in reply and "This is urgent" in reply
