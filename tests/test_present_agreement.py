"""One present rule (core.due.is_present / present_clause): a check-in waiting to be verified
(待核实, `[checkin] require_device`) is not present for any reader, and is once accepted."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from factories import GUIYANG, bind, make_student
from sqlmodel import Session, select

from bot.pipeline import Pipeline
from bot.types import Inbound, Location
from core.accounts import create_user
from core.checkin_rate import checkin_rate_between
from models import CheckIn, ConsoleUser, OutboxMessage
from scheduler.sweeps import run_sweeps
from tests.api.console_world import login, make_client

TZ = ZoneInfo("Asia/Shanghai")
MON = date(2026, 3, 2)
PASSWORD = "correct-horse-42"


def _at(hh: int, mm: int = 0, day: date = MON) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ)


def test_a_pending_check_in_is_absent_for_every_reader_until_accepted(engine, settings):
    settings.checkin.require_device = True
    with Session(engine) as session:
        pin = make_student(session, student_no="P1", name="张甲")
        event = make_student(session, student_no="P2", name="李乙")
        bind(session, person_kind="student", person_id=pin.id, external_id="p1")
        bind(session, person_kind="student", person_id=event.id, external_id="p2",
             channel="wechat")  # fmt: skip
        bind(session, person_kind="teacher", person_id=pin.teacher_id, external_id="t1")
        create_user(session, username="school", password=PASSWORD, role="school",
                    school_name="贵州交通职业技术学院")  # fmt: skip
        session.commit()
        ids = {"张甲": pin.id, "李乙": event.id}
    pipeline = Pipeline(engine, settings)

    def say(user, at, text="", channel="console", **kw):
        inbound = Inbound(channel=channel, user_id=user, at=at, text=text, **kw)
        return "\n".join(r.text for r in pipeline(inbound))

    point = Location(*GUIYANG, "gcj02")
    say("p1", _at(9), kind="location", intent="checkin", location=point)
    event_point = Location(*GUIYANG, "gcj02", source="event")
    say("p2", _at(8, 58), channel="wechat", kind="event", event="LOCATION", location=event_point)
    say("p2", _at(9), channel="wechat", kind="location", intent="checkin", location=point)
    for hh, mm in ((9, 30), (10, 0)):
        run_sweeps(engine, settings, _at(hh, mm))

    with Session(engine) as session:
        nudged = set(
            session.exec(select(OutboxMessage.person_id).where(OutboxMessage.kind == "nudge"))
        )
    assert nudged == {ids["张甲"]}  # the sweep: 待核实 is not present
    today = say("t1", _at(12), "今日")
    assert "已签到 1 人" in today and "待核实 1 人（发送「核实」查看）：张甲" in today
    with make_client(settings, engine, _at(12)) as client:
        login(client, "school", PASSWORD)
        present = client.get(f"/admin/checkins?date={MON}&status=present").text
        assert "李乙" in present and "张甲" not in present
    province = ConsoleUser(username="p", role="province", password_hash="x")
    with Session(engine) as session:
        rate = checkin_rate_between(session, province, first=MON, last=MON, settings=settings)
        assert (rate["num"], rate["den"]) == (1, 2)
        (row,) = session.exec(select(CheckIn).where(CheckIn.student_id == ids["张甲"])).all()
    assert "计为出勤" in say("t1", _at(12, 5), f"核实 {row.id}")
    assert "已签到 2 人" in say("t1", _at(12, 10), "今日")
    with Session(engine) as session:
        rate = checkin_rate_between(session, province, first=MON, last=MON, settings=settings)
        assert (rate["num"], rate["den"]) == (2, 2)
