"""请假 in chat: ask, list, approve, refuse, overlaps, past dates, ranges over a weekend."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models import Leave


@pytest.fixture
def people(bound_student, bind_as, chat_factory):
    """张三 (u1, on placement Mon-Fri) and 李老师 (t1); Monday 2026-03-02 09:00."""
    student = bound_student()
    bind_as(student, "teacher", "t1")
    return chat_factory("u1"), chat_factory("t1")


def _leaves(session) -> list[Leave]:
    session.expire_all()
    return list(session.exec(select(Leave).order_by(Leave.id)).all())


def test_a_student_asks_and_the_teacher_lists_and_approves(session, people, outbox):
    me, teacher = people
    me.dialog(
        [
            (
                "请假",
                "请发送请假日期和事由，例如：12月8日 发烧就医；"
                "连续几天可写：12月8日至12月10日 家中有事。",
            ),
            (
                "明天 发烧就医",
                "请假申请已提交：L1，3月3日（周二），事由：发烧就医。已转给指导教师审批，结果会在这里通知您。",
            ),
        ]
    )
    (to_teacher,) = outbox(person_kind="teacher", kind="leave_request")
    assert to_teacher.text == (
        "【请假申请 L1】张三：3月3日（周二），事由：发烧就医\n回复「批准 L1」或「驳回 L1 理由」。"
    )
    teacher.dialog(
        [
            (
                "请假",
                "待审批的请假：\nL1 张三 3月3日（周二）：发烧就医\n"
                "回复「批准 L编号」或「驳回 L编号 理由」。",
            ),
            ("批准 L1", "已批准 张三 的请假 L1（3月3日（周二）），已通知学生。"),
            ("批准 L1", "请假 L1 已处理过（已批准）。"),
            ("请假", "目前没有待审批的请假申请。"),
        ]
    )
    (told,) = outbox(person_kind="student", kind="leave_result")
    assert told.text == "您的请假 L1（3月3日（周二））已批准，这几天无需签到。"
    assert [(x.status, x.decided_by) for x in _leaves(session)] == [("approved", "teacher:1")]


def test_the_teacher_refuses_with_a_reason_only(session, people, outbox):
    me, teacher = people
    me.send("请假 3月5日 家里有事")
    teacher.dialog(
        [
            ("驳回 L1", "请写上驳回理由，例如：驳回 L1 当天有重要考核。"),
            ("驳回 L1 当天有安全培训", "已驳回 张三 的请假 L1，已通知学生。"),
        ]
    )
    (told,) = outbox(person_kind="student", kind="leave_result")
    assert told.text == (
        "您的请假 L1（3月5日（周四））未获批准，理由：当天有安全培训。"
        "请按时签到，如有疑问请联系指导教师。"
    )
    assert _leaves(session)[0].refusal == "当天有安全培训"


def test_overlapping_past_and_weekend_spanning_requests(session, people):
    me, _ = people
    me.dialog(
        [
            (
                "请假 3月6日至3月9日 回老家",  # Friday to Monday, over a weekend: one request
                "请假申请已提交：L1，3月6日（周五）至3月9日（周一），事由：回老家。已转给指导教师审批，结果会在这里通知您。",
            ),
            (
                "请假 3月9日 看病",
                "这段时间已有请假申请 L1（待审批，3月6日（周五）至3月9日（周一）），请勿重复申请。",
            ),
            ("请假 2月20日 生病", "2月20日（周五） 已超过 7 天，不能再补请假，请联系指导教师。"),
            ("请假 3月6日", "请写上请假事由，例如：请假 3月6日（周五） 发烧就医。"),
            ("取消", "已取消请假申请。"),
            (
                "请假 下周 有事",
                "没看懂请假日期。请这样写：请假 12月8日 事由"
                "（也可写 2026-12-08、12-8、今天、明天；连续几天写 12月8日至12月10日）。",
            ),
        ]
    )
    assert [(x.start_date.day, x.end_date.day) for x in _leaves(session)] == [(6, 9)]


def test_only_the_students_own_teacher_decides(session, people, chat_factory, bind_as):
    from tests.factories import make_student

    me, _ = people
    me.send("请假 明天 发烧")
    other = make_student(session, student_no="S900", teacher_phone="13800000999")
    bind_as(other, "teacher", "t2")
    assert chat_factory("t2").send("批准 L1") == "没有找到请假申请 L1，或不是您负责的学生。"
    assert _leaves(session)[0].status == "pending"
