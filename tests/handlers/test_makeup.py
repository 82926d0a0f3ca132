"""补卡: a student asks with a date and reason; the teacher approves or refuses in chat."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from core.dates import parse_day
from models import CheckIn, MakeupRequest, OutboxMessage
from tests.factories import GUIYANG, make_student

TODAY = date(2026, 3, 4)  # a Wednesday

BAD_DATE = "没看懂补卡日期。请这样写：补卡 3月2日 理由（也可写 2026-03-02、3-2、昨天）。"
NOT_PAST = "只能为今天之前的工作日补卡；今天请直接发送位置签到。"
ASK = "请发送补卡日期和理由，例如：3月2日 手机没电忘记签到（只能补最近 7 天内的工作日）。"


def filed(no: int, day: str, reason: str) -> str:
    return f"补卡申请已提交（编号 {no}）：{day}，理由：{reason}。指导教师审批后会通知您。"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-02 手机没电", (date(2026, 3, 2), "手机没电")),
        ("3-2 手机没电", (date(2026, 3, 2), "手机没电")),
        ("3/2", (date(2026, 3, 2), "")),
        ("3月2日手机没电", (date(2026, 3, 2), "手机没电")),
        ("3月2号 忘了", (date(2026, 3, 2), "忘了")),
        ("昨天 忘了", (date(2026, 3, 3), "忘了")),
        ("前天", (date(2026, 3, 2), "")),
        ("yesterday phone died", (date(2026, 3, 3), "phone died")),
        ("12-30 忘了", (date(2025, 12, 30), "忘了")),
    ],
)
def test_makeup_dates_in_the_usual_formats(text, expected):
    assert parse_day(text, TODAY) == expected


@pytest.mark.parametrize("text", ["", "手机没电", "2-30 理由", "13-01 理由"])
def test_unreadable_makeup_dates_are_none(text):
    assert parse_day(text, TODAY) is None


@pytest.fixture
def people(bound_student, bind_as, chat_factory):
    student = bound_student()
    bind_as(student, "teacher", "t1")
    me, teacher = chat_factory("u1"), chat_factory("t1")
    me.later(days=2)  # Wednesday 2026-03-04
    teacher.later(days=2)
    return student, me, teacher


def test_student_asks_teacher_approves_and_the_day_counts(session, people):
    _, me, teacher = people
    reply = me.send("补卡 3月2日 手机没电忘记签到")
    assert "补卡申请已提交（编号 1）：3月2日（周一），理由：手机没电忘记签到" in reply
    to_teacher = session.exec(select(OutboxMessage).where(OutboxMessage.person_kind == "teacher"))
    assert "回复「批准补卡 1」" in to_teacher.one().text
    assert "#1 张三 3月2日（周一）：手机没电忘记签到" in teacher.send("补卡")
    assert "已批准 张三 3月2日（周一） 的补卡" in teacher.send("批准补卡 1")
    row = session.exec(select(CheckIn)).one()
    assert (row.source, row.kind, row.within_fence, row.distance_m) == ("makeup", "start", True, 0)
    assert row.day == date(2026, 3, 2) and row.at.astimezone(me.now.tzinfo).hour == 9
    session.expire_all()
    assert session.get(MakeupRequest, 1).status == "approved"
    to_student = session.exec(
        select(OutboxMessage).where(OutboxMessage.person_kind == "student")
    ).one()
    assert "已批准，已计为出勤" in to_student.text
    assert "已处理过（已批准）" in teacher.send("驳回补卡 1 太晚")


def test_teacher_refuses_with_a_reason_and_the_student_hears_it(session, people):
    _, me, teacher = people
    me.send("补卡 昨天 去医院了")
    assert "请写上驳回理由" in teacher.send("驳回补卡 1")
    assert "已驳回" in teacher.send("驳回补卡 1 当天未到岗")
    to_student = session.exec(
        select(OutboxMessage).where(OutboxMessage.person_kind == "student")
    ).one()
    assert "未获批准，理由：当天未到岗" in to_student.text
    assert session.exec(select(CheckIn)).all() == []


def test_makeup_refusals_for_today_old_days_weekends_checked_in_days_and_duplicates(
    session, people
):
    _, me, _ = people
    me.dialog(
        [
            ("补卡 上周 忘了", BAD_DATE),
            ("补卡 今天 忘了", NOT_PAST),
            ("补卡 3月4日 忘了", NOT_PAST),
            ("补卡 2月20日 忘了", "2月20日（周五） 已超过 7 天，不能再补卡，请联系指导教师。"),
            ("补卡 3月1日 忘了", "3月1日（周日） 不是您的实习工作日，无需补卡。"),
            ("补卡 3月3日", "请写上补卡理由，例如：补卡 3月3日 手机没电忘记签到。"),
            ("补卡 3月3日 忘了", filed(1, "3月3日（周二）", "忘了")),
            ("补卡 3月3日 忘了", "3月3日（周二） 已有补卡申请（编号 1，待审批），请勿重复提交。"),
        ]
    )
    me.location(*GUIYANG, at=me.now.replace(day=2))  # a real check-in on Monday
    assert "已有签到记录" in me.send("补卡 3月2日 忘了")


def test_bare_makeup_asks_for_date_and_reason_then_files_it(session, people):
    _, me, _ = people
    me.dialog([("补卡", ASK), ("3-3 手机坏了", filed(1, "3月3日（周二）", "手机坏了"))])
    me.dialog([("补卡", ASK), ("取消", "已取消补卡申请。")])


def test_teacher_cannot_decide_other_teachers_requests(session, people, chat_factory, bind_as):
    _, me, _ = people
    me.send("补卡 昨天 忘了")
    bind_as(make_student(session, student_no="S900", teacher_phone="13800000999"), "teacher", "t2")
    stranger = chat_factory("t2")
    assert "找不到编号为 1 的补卡申请" in stranger.send("批准补卡 1")
    assert "没有待审批" in stranger.send("补卡")


def test_english_makeup_over_telegram(session, english_telegram):
    _, tg = english_telegram("9")
    tg.later(days=1)
    assert "Send the date and the reason" in tg.send("", intent="makeup")
    assert "Make-up request no. 1 sent: Mon 2 Mar, reason: phone died" in tg.send(
        "2026-03-02 phone died"
    )
