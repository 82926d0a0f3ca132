"""Check-in evidence and flags (SPEC 11): each flag from a built history, none from a clean one."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text
from sqlmodel import select

from models import CheckIn, Placement, SchoolDay
from models.checkins import _EVIDENCE_AT_POINTS
from tests.factories import GUIYANG, make_student

NEAR = (GUIYANG[0] + 0.0004, GUIYANG[1] + 0.0003)  # ~50 m off
FAR_EVENT = (GUIYANG[0] + 0.05, GUIYANG[1])  # ~5.5 km north
SHANGHAI = (31.2304, 121.4737)  # ~1,500 km away


def _rows(session) -> list[CheckIn]:
    session.expire_all()
    return list(session.exec(select(CheckIn).order_by(CheckIn.at, CheckIn.id)).all())


def _flags(row: CheckIn) -> list[str]:
    return [f for f in row.flags.split(",") if f]


def test_a_clean_history_has_pin_evidence_and_no_flags(session, chat, bound_student):
    bound_student()
    chat.location(*GUIYANG, accuracy_m=20.0)
    chat.later(hours=9).location(*NEAR, accuracy_m=30.0)
    chat.later(hours=15).location(GUIYANG[0] + 0.0001, GUIYANG[1], accuracy_m=15.0)
    rows = _rows(session)
    assert len(rows) == 3
    assert all(r.evidence == "pin" and r.flags == "" and r.verify == "" for r in rows)
    assert rows[0].point == f"{GUIYANG[0]:.6f},{GUIYANG[1]:.6f}"


def test_same_point_as_on_an_earlier_day_is_flagged(session, chat, bound_student):
    bound_student()
    chat.location(*GUIYANG)
    chat.later(hours=9).location(*GUIYANG)  # the same day: not flagged
    chat.later(hours=15).location(*GUIYANG)  # the next day, to the 6th decimal
    rows = _rows(session)
    assert [_flags(r) for r in rows] == [[], [], ["same_point"]]


def test_another_students_check_in_that_day_at_the_same_point_is_flagged(
    session, chat_factory, bind_as
):
    first = make_student(session, student_no="S1", name="甲")
    second = make_student(session, student_no="S2", name="乙")
    bind_as(first, "student", "a")
    bind_as(second, "student", "b")
    chat_factory("a").location(*GUIYANG)
    chat_factory("b").later(minutes=3).location(*GUIYANG)
    chat_factory("b").later(minutes=30).location(*NEAR)  # elsewhere: clean
    rows = _rows(session)
    assert [_flags(r) for r in rows] == [[], ["shared_point"], []]


def test_a_jump_faster_than_200_kmh_is_flagged(session, chat, bound_student):
    bound_student()
    chat.location(*GUIYANG)
    chat.later(hours=1).location(*SHANGHAI)  # 1,500 km in an hour
    chat.later(hours=10).location(*GUIYANG)  # 1,500 km in 10 h: 150 km/h, plausible
    rows = _rows(session)
    assert [_flags(r) for r in rows] == [[], ["impossible_speed"], []]


def test_a_location_event_far_away_is_flagged_and_a_near_one_is_event_evidence(
    session, chat_factory, bind_as
):
    student = make_student(session)
    bind_as(student, "student", "openid-1", channel="wechat")
    wx = chat_factory("openid-1", channel="wechat")
    wx.location(*FAR_EVENT, source="event")
    wx.later(minutes=2).location(*GUIYANG)
    wx.later(hours=9).location(*NEAR, source="event")
    wx.later(minutes=1).location(*GUIYANG)
    wx.later(minutes=30).location(*FAR_EVENT)  # 31 min after the last event: nothing to compare
    rows = _rows(session)
    assert [(r.evidence, _flags(r)) for r in rows] == [
        ("pin", ["far_from_event"]),
        ("event", []),
        ("pin", []),
    ]


def test_accuracy_worse_than_500_m_is_flagged(session, chat, bound_student):
    bound_student()
    chat.location(*GUIYANG, accuracy_m=800.0)
    chat.later(hours=9).location(*NEAR, accuracy_m=400.0)
    assert [_flags(r) for r in _rows(session)] == [["low_accuracy"], []]


def test_a_telegram_live_location_is_live_evidence(session, chat, bound_student):
    bound_student()
    chat.location(*GUIYANG, source="live", live_period=3600)
    (row,) = _rows(session)
    assert (row.evidence, row.source) == ("live", "live")


def test_a_forwarded_location_is_refused_with_the_reason(session, chat, bound_student):
    bound_student()
    reply = chat.location(*GUIYANG, forwarded=True)
    assert "转发的位置不能用于签到" in reply
    assert _rows(session) == []


def test_require_device_off_a_pin_counts_as_present(session, chat, bound_student, settings):
    assert settings.checkin.require_device is False
    bound_student()
    assert "核实" not in chat.location(*GUIYANG)
    (row,) = _rows(session)
    assert row.verify == ""
    assert session.exec(select(SchoolDay)).one().students_checked_in == 1


def test_require_device_on_a_pin_waits_for_the_teacher_and_an_event_does_not(
    session, chat_factory, bind_as, settings
):
    settings.checkin.require_device = True
    student = make_student(session)
    bind_as(student, "student", "openid-1", channel="wechat")
    wx = chat_factory("openid-1", channel="wechat")
    assert "需指导教师核实后才计为出勤" in wx.location(*GUIYANG)
    day = session.exec(select(SchoolDay)).one()
    assert (day.checkins, day.students_checked_in) == (1, 0)
    wx.later(hours=9).location(*NEAR, source="event")
    assert "核实" not in wx.later(minutes=1).location(*NEAR)
    rows = _rows(session)
    assert [(r.evidence, r.verify) for r in rows] == [("pin", "pending"), ("event", "")]
    session.expire_all()
    assert session.exec(select(SchoolDay)).one().students_checked_in == 1


def test_a_teacher_sees_and_verifies_a_pending_check_in_in_chat(
    session, chat_factory, bind_as, settings
):
    settings.checkin.require_device = True
    student = make_student(session, name="张三")
    other = make_student(session, student_no="S9", name="钱七", teacher_phone="13800000999")
    bind_as(student, "student", "s1")
    bind_as(student, "teacher", "t1")
    bind_as(other, "teacher", "t2")
    chat_factory("s1").location(*GUIYANG, accuracy_m=900.0)
    teacher = chat_factory("t1").later(hours=1)
    today = teacher.send("今日")
    assert "已签到 0 人" in today and "待核实 1 人" in today and "未签到" not in today
    assert "可疑签到 1 人：张三" in today
    (row,) = _rows(session)
    listed = teacher.send("核实")
    assert f"#{row.id} 张三 3月2日（周一） 上班 09:00（地图选点；定位精度过低）" in listed
    assert "没有找到" in chat_factory("t2").send(f"核实 {row.id}")  # not their student
    assert "计为出勤" in teacher.send(f"核实 {row.id}")
    assert "无需核实" in teacher.send(f"核实 {row.id}")
    assert "已签到 1 人" in teacher.send("今日")
    session.expire_all()
    assert session.exec(select(SchoolDay)).one().students_checked_in == 1
    assert _rows(session)[0].verify == "accepted"


def test_flags_and_evidence_read_alike_in_one_batch(session, engine, settings, bind_as):
    """Two students' messages handled in one transaction still see each other's point."""
    from bot.pipeline import Pipeline
    from bot.types import Inbound, Location
    from tests.conftest import TZ

    first = make_student(session, student_no="S1", name="甲")
    second = make_student(session, student_no="S2", name="乙")
    bind_as(first, "student", "a")
    bind_as(second, "student", "b")
    pipeline = Pipeline(engine, settings)
    at = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
    jobs = [
        pipeline.job(
            Inbound(
                channel="console",
                user_id=who,
                at=at,
                kind="location",
                intent="checkin",
                location=Location(*GUIYANG, "gcj02"),
            )
        )
        for who in ("a", "b")
    ]
    results = pipeline.writers[0].run_together(jobs)
    assert all(ok for ok, _ in results)
    assert [_flags(r) for r in _rows(session)] == [[], ["shared_point"]]


def test_a_device_check_in_after_a_pending_pin_is_the_days_start(
    session, chat, bound_student, settings
):
    settings.checkin.require_device = True
    bound_student()
    chat.location(*GUIYANG)
    reply = chat.later(minutes=2).location(*GUIYANG, source="device", accuracy_m=10.0)
    assert "上班签到成功" in reply and "核实" not in reply
    rows = _rows(session)
    assert [(r.kind, r.evidence, r.verify) for r in rows] == [
        ("start", "pin", "pending"),
        ("start", "device", ""),
    ]
    session.expire_all()
    assert session.exec(select(SchoolDay)).one().students_checked_in == 1


def test_the_students_status_marks_a_pending_check_in_and_does_not_count_it(
    session, chat, bound_student, settings
):
    settings.checkin.require_device = True
    bound_student()
    chat.location(*GUIYANG)
    reply = chat.later(hours=1).send("状态")
    assert "上班 09:00（待核实）" in reply and "本周出勤：0/1 天" in reply


def test_the_evidence_read_probes_indexes_whatever_the_statistics(engine, session):
    """PostgreSQL: with statistics that make a point look common (thousands of check-ins with
    no point, one busy gate) the generic plan of the evidence read still probes indexes; it
    once read the whole table from its start until some row matched."""
    if engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL planner question")
    student = make_student(session)
    placement_id = session.exec(select(Placement.id)).first()
    session.add_all(
        CheckIn(
            school_id=student.school_id, student_id=student.id, placement_id=placement_id,
            day=date(2026, 3, 1 + i % 28), at=datetime(2026, 3, 1, tzinfo=UTC), kind="start",
            datum="wgs84", distance_m=0.0, within_fence=True,
            point="" if i % 4 else "26.578659,106.713500",
        )
        for i in range(4000)
    )  # fmt: skip
    session.commit()
    with engine.begin() as conn:
        conn.execute(text("ANALYZE checkins"))
        conn.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        sql = _EVIDENCE_AT_POINTS.statements["postgresql"].compile(dialect=engine.dialect).string
        names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", sql)))
        sql = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", sql)
        conn.exec_driver_sql(f"PREPARE evidence AS {sql}")
        values = {"points": "'{26.578659,106.713501}'", "days": "'{2026-03-02}'",
                  "student_ids": f"'{{{student.id + 1}}}'"}  # fmt: skip
        args = ", ".join(values.get(name, "1") for name in names)  # the rest: LIMIT 1
        plan = conn.exec_driver_sql(f"EXPLAIN EXECUTE evidence({args})").scalars().all()
        conn.exec_driver_sql("DEALLOCATE evidence")
    assert not [line for line in plan if "Seq Scan" in line], "\n".join(plan)
