"""Location check-ins: start and end, the fence, datums, repeats, days without a placement."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlmodel import select

from core.geo import distance_m, gcj02_to_wgs84
from models import Alert, ChannelAccount, CheckIn, LocationSample, SchoolDay
from tests.conftest import TZ
from tests.factories import GUIYANG, make_student

# About 1.2 km north of the workplace.
FAR = (GUIYANG[0] + 0.0108, GUIYANG[1])


def _checkins(session) -> list[CheckIn]:
    session.expire_all()
    return list(session.exec(select(CheckIn).order_by(CheckIn.at)).all())


def test_first_location_is_start_later_one_is_end_with_time_and_distance(
    session, chat, bound_student
):
    bound_student()
    assert "上班签到成功：09:00，距实习地点不到 10 米" in chat.location(*GUIYANG)
    reply = chat.later(hours=9, minutes=5).location(GUIYANG[0] + 0.0003, GUIYANG[1])
    assert "下班签到成功：18:05，距实习地点约 30 米" in reply
    rows = _checkins(session)
    assert [r.kind for r in rows] == ["start", "end"]
    assert all(r.within_fence and r.day == date(2026, 3, 2) for r in rows)
    assert rows[0].source == "location" and rows[0].channel == "console"
    day = session.exec(select(SchoolDay)).one()
    assert (day.checkins, day.students_checked_in) == (2, 1)
    account = session.exec(select(ChannelAccount)).one()
    assert account.last_inbound_at == chat.now


def test_outside_fence_is_recorded_with_distance_and_the_teacher_sees_an_alert(
    session, chat, bound_student
):
    student = bound_student()
    assert chat.location(*FAR) == (
        "上班签到已记录：09:00，距实习地点约 1.2 公里，在 500 米签到范围外。"
        "如果实习地点变了，请告诉指导教师。"
    )
    (row,) = _checkins(session)
    assert not row.within_fence and 1150 < row.distance_m < 1250
    alert = session.exec(select(Alert)).one()
    assert (alert.kind, alert.student_id) == ("outside_fence", student.id)
    chat.later(hours=2).location(*FAR)
    assert len(session.exec(select(Alert)).all()) == 1  # one alert per student and day


def test_wgs84_point_at_the_workplace_is_inside_a_200m_gcj02_fence(session, english_telegram):
    """In Guiyang the datums differ by ~540 m: more than the fence, so conversion matters."""
    _, tg = english_telegram("777", radius_m=200)
    wgs = gcj02_to_wgs84(*GUIYANG)
    assert distance_m(wgs, GUIYANG) > 500  # the same numbers read as GCJ-02 are far off
    reply = tg.location(*wgs, datum="wgs84")
    assert "Checked in (start) at 09:00, under 10 m from your workplace" in reply
    (row,) = _checkins(session)
    assert row.within_fence and row.datum == "wgs84" and row.distance_m < 1
    assert (row.raw_lat, row.raw_lng) == wgs


def test_same_raw_numbers_as_gcj02_fall_outside_the_fence(session, chat, bound_student):
    bound_student(radius_m=200)
    wgs = gcj02_to_wgs84(*GUIYANG)
    reply = chat.location(*wgs, datum="gcj02")
    assert "在 200 米签到范围外" in reply
    assert _checkins(session)[0].distance_m > 500


def test_repeat_within_ten_minutes_at_same_place_gets_earlier_receipt(session, chat, bound_student):
    bound_student()
    chat.location(*GUIYANG)
    reply = chat.later(minutes=5).location(GUIYANG[0] + 0.0002, GUIYANG[1])
    assert reply == "您 09:00 已经上班签到，无需重复。"
    assert len(_checkins(session)) == 1
    chat.later(minutes=6).location(*GUIYANG)
    assert len(_checkins(session)) == 2  # past the window: recorded as 下班


def test_evidence_of_accuracy_label_and_source_is_kept(session, chat, bound_student):
    bound_student()
    chat.location(*GUIYANG, accuracy_m=25.0, label="贵阳市观山湖区金阳大道")
    (row,) = _checkins(session)
    assert (row.accuracy_m, row.label) == (25.0, "贵阳市观山湖区金阳大道")


def test_wechat_location_event_is_stored_as_evidence_with_no_reply(session, chat_factory, bind_as):
    student = make_student(session)
    bind_as(student, "student", "openid-9", channel="wechat")
    wx = chat_factory("openid-9", channel="wechat")
    assert wx.location(*GUIYANG, source="event", accuracy_m=30.0) == ""
    assert wx.last == []
    sample = session.exec(select(LocationSample)).one()
    assert (sample.student_id, sample.source) == (student.id, "event")
    assert _checkins(session) == []


def test_telegram_live_location_checks_in_once_and_keeps_updates_as_evidence(
    session, chat, bound_student
):
    bound_student()
    assert "上班签到成功" in chat.location(*GUIYANG, source="live", live_period=3600)
    chat.later(minutes=30).location(*GUIYANG, source="live", live_period=3600)
    assert len(_checkins(session)) == 1
    assert len(session.exec(select(LocationSample)).all()) == 2


def test_late_start_says_how_late(session, chat, bound_student):
    bound_student()
    assert "比上班时间 09:00 晚了 20 分钟" in chat.later(minutes=20).location(*GUIYANG)


def test_checkin_word_without_location_asks_for_the_location(session, chat, bound_student):
    bound_student()
    assert "请发送您的位置完成签到" in chat.send("签到")
    assert chat.last[0].ask_location


def test_a_check_in_on_a_rest_day_or_a_holiday_is_kept_and_said_kindly(
    session, chat, bound_student
):
    bound_student()
    saturday = datetime(2026, 3, 7, 9, 0, tzinfo=TZ)
    assert chat.location(*GUIYANG, at=saturday) == (
        "上班签到成功：09:00，距实习地点不到 10 米。"
        "今天不是您的实习工作日，本来不用签到，这次也记下了。"
        "如果是单位安排加班，可以发送「维权」告诉老师。"
    )
    labour_day = datetime(2026, 5, 1, 9, 20, tzinfo=TZ)  # not "late": nobody is due today
    assert chat.location(*GUIYANG, at=labour_day) == (
        "上班签到成功：09:20，距实习地点不到 10 米。"
        "今天是劳动节，本来不用签到，这次也记下了。"
        "如果是单位安排您节假日上班，可以发送「维权」告诉老师。"
    )
    rows = _checkins(session)
    assert [(r.day, r.kind) for r in rows] == [
        (date(2026, 3, 7), "start"),
        (date(2026, 5, 1), "start"),
    ]


def test_outside_the_placement_period_nothing_is_recorded(session, chat, bound_student):
    bound_student()
    after = datetime(2026, 8, 3, 9, 0, tzinfo=TZ)
    assert chat.location(*GUIYANG, at=after) == (
        "您的实习已于 7月31日（周五） 结束，无需再签到。本次未记录。"
    )
    assert _checkins(session) == []


def test_placement_not_started_yet_is_explained(session, chat, bound_student):
    bound_student(start_date=date(2026, 4, 1))
    assert "您的实习从 4月1日（周三） 开始" in chat.location(*GUIYANG)
    assert _checkins(session) == []


def test_official_makeup_workday_on_a_saturday_counts(session, chat, bound_student):
    """2026-02-14 is a Saturday worked in lieu of the Spring Festival holiday (调休)."""
    bound_student()
    assert "上班签到成功" in chat.location(*GUIYANG, at=datetime(2026, 2, 14, 9, tzinfo=TZ))


def test_teacher_location_is_not_a_checkin(session, chat, bind_as):
    bind_as(make_student(session), "teacher")
    assert "只适用于实习学生" in chat.location(*GUIYANG)


def test_english_outside_fence_receipt(session, english_telegram):
    _, tg = english_telegram("55", shift_start=time(8, 30))
    assert tg.location(*FAR, datum="gcj02") == (
        "Check-in (start) kept at 09:00: about 1.2 km from your workplace, outside the 500 m "
        "range. If your workplace has moved, please tell your teacher. "
        "That is 30 min after your shift start (08:30)."
    )
