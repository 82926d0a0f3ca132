"""The terminal channel: dialog tables through the real dispatcher, REPL lines, `shixi chat`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import GUIYANG, make_student
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.commands.chat import ensure_console_account
from bot.console import ConsoleChannel
from bot.pipeline import Pipeline
from bot.types import Inbound, Reply
from core.invites import issue_invite
from handlers.bind import HOW_TO_BIND
from models import ChannelAccount
from tests.handlers.test_bind import bound


@pytest.fixture
def console(engine, settings, now) -> ConsoleChannel:
    return ConsoleChannel(Pipeline(engine, settings), "term-1", now=now)


@pytest.fixture
def code(engine, now) -> str:
    with Session(engine) as session:
        student = make_student(session, name="王小明")
        invite = issue_invite(
            session, person_kind="student", person_id=student.id,
            school_id=student.school_id, now=now - timedelta(days=1), ttl_days=30,
        )  # fmt: skip
        session.commit()
        return invite.code


def test_a_student_binds_and_checks_in_as_a_dialog_table(console, code):
    console.dialog(
        [
            ("你好", HOW_TO_BIND[0]),
            (f"绑定 {code}", bound("学生 王小明（学号 S001）、贵州交通职业技术学院")),
            (GUIYANG, "上班签到成功：09:00，距实习地点不到 10 米。"),
        ]
    )
    assert "王小明" in console.history[1][1]


def test_a_dialog_row_that_does_not_match_names_the_row_and_the_reply(console):
    with pytest.raises(AssertionError, match="dialog row 1"):
        console.dialog([("你好", "这句不会出现")])


def test_messages_carry_the_console_channel_user_and_clock(now):
    got: list[Inbound] = []
    channel = ConsoleChannel(lambda i: got.append(i) or [Reply("a"), Reply("b")], "S9", now=now)
    assert channel.say(" 状态 ") == "a\n\nb"
    channel.advance(minutes=11)
    channel.line("/loc 26.5 106.7 wgs84")
    text, loc = got
    assert (text.channel, text.user_id, text.at, text.text) == ("console", "S9", now, " 状态 ")
    assert loc.at == now + timedelta(minutes=11) and loc.intent == "checkin"
    assert (loc.location.lat, loc.location.lng, loc.location.datum) == (26.5, 106.7, "wgs84")


@pytest.mark.parametrize(
    ("line", "answer"),
    [("/loc 26.5", "用法"), ("/loc north east", "数字"), ("/loc 95 106", "-90"),
     ("/loc 26 106 mars", "坐标系")],
)  # fmt: skip
def test_bad_location_lines_are_explained_not_sent(now, line, answer):
    got = []
    channel = ConsoleChannel(lambda i: got.append(i) or [], now=now)
    assert answer in channel.line(line) and got == []


def test_the_terminal_is_bound_to_the_student_with_that_number(engine):
    with Session(engine) as session:
        student = make_student(session, student_no="2023010101", name="李四")
        student_id = student.id
        session.commit()
    assert ensure_console_account(engine, "2023010101") == "李四"
    assert ensure_console_account(engine, "2023010101") == "李四"  # once, not twice
    assert ensure_console_account(engine, "nobody") is None
    with Session(engine) as session:
        (account,) = session.exec(select(ChannelAccount)).all()
    assert (account.channel, account.person_kind, account.person_id) == (
        "console",
        "student",
        student_id,
    )


def test_the_terminal_is_bound_to_a_teacher_by_phone(engine):
    with Session(engine) as session:
        make_student(session, teacher_phone="13800000009")
        session.commit()
    assert ensure_console_account(engine, "13800000009") == "李老师"


def test_shixi_chat_talks_to_the_bot(settings, engine, monkeypatch):
    from api import cli

    with Session(engine) as session:
        make_student(session, student_no="S777", name="赵六")
        session.commit()
    monkeypatch.setattr(cli, "settings", lambda: settings)
    result = CliRunner().invoke(cli.app, ["chat", "--as", "S777"], input="帮助\n/quit\n")
    assert result.exit_code == 0, result.output
    assert "赵六" in result.output and "助手>" in result.output


def test_shixi_chat_refuses_an_unknown_person(settings, monkeypatch):
    from api import cli

    monkeypatch.setattr(cli, "settings", lambda: settings)
    result = CliRunner().invoke(cli.app, ["chat", "--as", "X404"])
    assert result.exit_code == 1
