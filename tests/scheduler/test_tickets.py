"""Tickets reach a person: the teacher at once, the school when nobody takes one up (48 h)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from factories import bind, make_student
from sqlmodel import select
from typer.testing import CliRunner

from api.cli import app
from bot.pipeline import Pipeline
from bot.types import Inbound
from models import CaseNote, ConsoleUser, Ticket

SEND = "https://api.telegram.org/bot123456:TEST-TOKEN/sendMessage"
OK = {
    "ok": True,
    "result": {"message_id": 7, "date": 1772414000, "chat": {"id": 42, "type": "private"}},
}
TEACHER, ADMIN = "4201", "4301"  # the teacher's and the school admin's Telegram chats


@pytest.fixture
def school(session):
    """A student (terminal u1) whose teacher and school admin are bound on Telegram."""
    student = make_student(session)
    bind(session, person_kind="student", person_id=student.id, external_id="u1",
         school_id=student.school_id)  # fmt: skip
    bind(session, person_kind="teacher", person_id=student.teacher_id, channel="telegram",
         external_id=TEACHER, school_id=student.school_id)  # fmt: skip
    admin = ConsoleUser(username="gzjt", password_hash="x", role="school",
                        school_id=student.school_id)  # fmt: skip
    session.add(admin)
    session.flush()
    bind(session, person_kind="school_admin", person_id=admin.id, channel="telegram",
         external_id=ADMIN, school_id=student.school_id)  # fmt: skip
    session.commit()
    return student


@pytest.fixture
def tick(monkeypatch, settings):
    """`shixi tick --at <local time>` against the test database, Telegram mocked."""
    monkeypatch.setenv("SHIXI_DATABASE__URL", settings.database.url)
    monkeypatch.setenv("SHIXI_TELEGRAM__TOKEN", settings.telegram.token)
    monkeypatch.setenv("SHIXI_WECHAT__TOKEN", "")
    runner = CliRunner()

    def run(at) -> list[tuple[str, str]]:
        with respx.mock(assert_all_called=False) as mock:
            route = mock.post(SEND).mock(return_value=httpx.Response(200, json=OK))
            result = runner.invoke(app, ["tick", "--at", at.isoformat()])
            assert result.exit_code == 0, result.output
        sent = [parse_qs(call.request.content.decode()) for call in route.calls]
        return [(form["chat_id"][0], form["text"][0]) for form in sent]

    return run


def to_admin(sent) -> list[str]:
    """What the school admin was sent about tickets (their 失联 alerts aside)."""
    return [text for chat, text in sent if chat == ADMIN and "工单" in text]


def report(engine, settings, at, text: str) -> str:
    inbound = Inbound(channel="console", user_id="u1", at=at, text=text)
    return Pipeline(engine, settings).run(inbound).answer


def test_a_wages_ticket_reaches_the_teacher_in_the_tick_it_is_created(
    engine, settings, school, tick, now
):
    at = now + timedelta(days=1, hours=1)  # Tuesday 10:00
    report(engine, settings, at, "维权 老板两个月没发工资了")
    (to_teacher,) = [text for chat, text in tick(at) if text.startswith("【维权")]
    assert to_teacher.startswith("【维权工单 T1】张三（汽修2301）反映：工资报酬")


def test_a_ticket_nobody_takes_up_goes_to_the_school_admin_after_48_hours_once(
    engine, settings, session, school, tick, now
):
    at = now + timedelta(days=1, hours=1)  # Tuesday 10:00
    report(engine, settings, at, "维权 宿舍没有热水，冬天只能洗冷水澡")
    tick(at)
    assert to_admin(tick(at + timedelta(hours=47, minutes=59))) == []
    sent = to_admin(tick(at + timedelta(hours=48)))
    assert len(sent) == 1
    assert sent[0].startswith("【工单超时未受理】T1：张三（指导教师：李老师）03-03 10:00 提交")
    assert to_admin(tick(at + timedelta(hours=49))) == []  # once
    session.expire_all()
    ticket = session.exec(select(Ticket)).one()
    assert ticket.escalated_at == at + timedelta(hours=48) and ticket.status == "open"
    notes = session.exec(select(CaseNote.note).order_by(CaseNote.id)).all()
    assert notes == ["学生提交", "超过 48 小时无人受理，已上报学校"]


def test_a_ticket_the_teacher_took_up_is_not_escalated(
    engine, settings, session, school, tick, now
):
    at = now + timedelta(days=1, hours=1)  # Tuesday 10:00
    report(engine, settings, at, "维权 宿舍没有热水")
    teacher = Inbound(channel="telegram", user_id=TEACHER, at=at + timedelta(hours=3),
                      text="处理 T1 已联系宿管")  # fmt: skip
    Pipeline(engine, settings).run(teacher)
    tick(at + timedelta(hours=3))
    assert to_admin(tick(at + timedelta(hours=49))) == []
