"""Evidence and flags in the console and the API (SPEC 11): lists, filter, verify, dashboard."""

from __future__ import annotations

from sqlmodel import select

from models import AuditLog, CheckIn
from models.stats import bump_school_day
from tests.api.console_world import build_world, csrf_of, login, make_client


def _world(session, now):
    world = build_world(session, now)
    row = session.get(CheckIn, world.ids["mine"]["checkin"])
    row.evidence, row.flags, row.verify = "pin", "shared_point,low_accuracy", "pending"
    device = session.get(CheckIn, world.ids["colleague"]["checkin"])
    device.evidence = "device"
    bump_school_day(session, school_id=device.school_id, day=device.day, device_checkins=1)
    session.commit()
    return world


def _client(settings, engine, now, role):
    client = make_client(settings, engine, now)
    login(client, role)
    return client


def test_the_student_page_shows_evidence_flags_and_verifies_a_pending_check_in(
    settings, engine, session, now
):
    world = _world(session, now)
    client = _client(settings, engine, now, "teacher_a")
    sid, cid = world.ids["mine"]["student"], world.ids["mine"]["checkin"]
    page = client.get(f"/admin/students/{sid}").text
    assert "地图选点；与他人同日坐标相同；定位精度过低" in page and "待核实" in page
    assert f'action="/admin/checkins/{cid}/verify"' in page
    r = client.post(f"/admin/checkins/{cid}/verify", data={"csrf": csrf_of(page)})
    assert r.status_code == 303
    session.expire_all()
    assert session.get(CheckIn, cid).verify == "accepted"
    assert session.exec(select(AuditLog).where(AuditLog.action == "checkin.verify")).one()
    again = client.post(f"/admin/checkins/{cid}/verify", data={"csrf": csrf_of(page)})
    assert again.status_code == 409
    assert "已核实" in client.get(f"/admin/students/{sid}").text


def test_only_the_teacher_or_school_admin_may_verify(settings, engine, session, now):
    world = _world(session, now)
    client = _client(settings, engine, now, "province")
    cid = world.ids["mine"]["checkin"]
    csrf = csrf_of(client.get("/admin/students").text)
    assert client.post(f"/admin/checkins/{cid}/verify", data={"csrf": csrf}).status_code == 403
    session.expire_all()
    assert session.get(CheckIn, cid).verify == "pending"


def test_the_day_sheet_filters_flagged_and_unverified_check_ins(settings, engine, session, now):
    _world(session, now)
    client = _client(settings, engine, now, "school_a")
    day = now.date().isoformat()
    flagged = client.get(f"/admin/checkins?status=flagged&date={day}").text
    assert "王小明" in flagged and "赵小红" not in flagged
    unverified = client.get(f"/admin/checkins?status=unverified&date={day}").text
    assert "王小明" in unverified and "待核实" in unverified
    present = client.get(f"/admin/checkins?status=present&date={day}").text
    assert "王小明" not in present and "赵小红" in present


def test_the_dashboard_shows_each_schools_share_of_device_check_ins(settings, engine, session, now):
    _world(session, now)
    page = _client(settings, engine, now, "province").get("/admin/").text
    assert "手机定位签到占比" in page and 'id="device-share"' in page
    assert "50.0%" in page.split('id="device-share"')[1].split("</ol>")[0]
    teacher = _client(settings, engine, now, "teacher_a").get("/admin/").text
    assert 'id="device-share"' not in teacher


def test_the_api_lists_evidence_flags_and_verification_and_filters_flagged(
    settings, engine, session, now
):
    world = _world(session, now)
    client = make_client(settings, engine, now)
    headers = {"Authorization": f"Bearer {world.tokens['school_a']}"}
    day = now.date().isoformat()
    items = client.get(f"/api/v1/checkins?date={day}", headers=headers).json()["items"]
    by_no = {i["student_no"]: i for i in items}
    assert by_no["A001"]["evidence"] == "pin" and by_no["A001"]["verified"] is False
    assert by_no["A001"]["flags"] == ["shared_point", "low_accuracy"]
    assert by_no["A002"]["evidence"] == "device" and by_no["A002"]["flags"] == []
    flagged = client.get(f"/api/v1/checkins?date={day}&flagged=true", headers=headers).json()
    assert [i["student_no"] for i in flagged["items"]] == ["A001"]
