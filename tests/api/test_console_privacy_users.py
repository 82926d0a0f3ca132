"""The console's privacy requests (school admins) and user and token management (province and
school admins), each scoped and audited."""

from __future__ import annotations

import io
import json
import re
import zipfile

from sqlmodel import select

from core.accounts import verify_password
from models import ApiToken, AuditLog, CheckIn, ConsoleUser, Student
from tests.api.console_world import build_world, csrf_of, login, make_client


def _signed_in(settings, engine, now, who):
    client = make_client(settings, engine, now)
    assert login(client, who).status_code == 303
    return client, csrf_of(client.get("/admin/students").text)


def test_the_privacy_page_is_public_and_states_the_configured_retention(settings, engine, now):
    client = make_client(settings, engine, now)
    page = client.get("/privacy")
    assert page.status_code == 200
    for part in ("个人信息保护说明", "实习结束 365 天后", "解绑", "省级教育主管部门", "监护人"):
        assert part in page.text
    assert "content-security-policy" in page.headers


def test_a_school_admin_exports_and_erases_only_own_students(settings, engine, session, now):
    world = build_world(session, now)
    client, csrf = _signed_in(settings, engine, now, "school_a")
    resp = client.post("/admin/privacy/export", data={"student_no": "A001", "csrf": csrf})
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/zip"
    data = json.loads(zipfile.ZipFile(io.BytesIO(resp.content)).read("data.json"))
    assert data["students"][0]["student_no"] == "A001" and data["checkins"]
    other = client.post("/admin/privacy/export", data={"student_no": "B001", "csrf": csrf})
    assert other.status_code == 404  # another school's student
    exported = session.exec(select(AuditLog).where(AuditLog.action == "privacy.export")).all()
    assert [a.actor for a in exported] == ["school_a"]
    mismatch = {"student_no": "A001", "confirm": "A002", "csrf": csrf}
    assert client.post("/admin/privacy/erase", data=mismatch).status_code == 400
    erased = client.post(
        "/admin/privacy/erase", data={"student_no": "A001", "confirm": "A001", "csrf": csrf}
    )
    assert erased.status_code == 200 and "已删除学号 A001" in erased.text
    session.expire_all()
    assert session.get(Student, world.ids["mine"]["student"]) is None
    assert not session.exec(
        select(CheckIn).where(CheckIn.student_id == world.ids["mine"]["student"])
    ).all()
    about = session.exec(
        select(AuditLog.action).where(
            AuditLog.target_id.in_(["A001", str(world.ids["mine"]["student"])])
        )
    ).all()
    assert about == ["privacy.erase"]  # the export's line named the student: only this remains


def test_province_admins_and_teachers_cannot_use_the_privacy_page(settings, engine, session, now):
    build_world(session, now)
    for who in ("province", "teacher_a"):
        client, csrf = _signed_in(settings, engine, now, who)
        assert client.get("/admin/privacy").status_code == 403
        form = {"student_no": "A001", "confirm": "A001", "csrf": csrf}
        assert client.post("/admin/privacy/erase", data=form).status_code == 403


def test_a_school_admin_manages_own_schools_users_and_tokens(settings, engine, session, now):
    world = build_world(session, now)
    client, csrf = _signed_in(settings, engine, now, "school_a")
    page = client.get("/admin/users").text
    assert (
        "teacher_a" in page and "province" not in page.split('id="users"')[1].split("</table>")[0]
    )
    users = {u.username: u for u in session.exec(select(ConsoleUser)).all()}
    teacher, province = users["teacher_a"], users["province"]
    resp = client.post(f"/admin/users/{teacher.id}/reset-password", data={"csrf": csrf})
    assert resp.status_code == 200
    password = re.search(r"新密码（[^）]*）：(\w+)", resp.text).group(1)
    session.expire_all()
    assert verify_password(session.get(ConsoleUser, teacher.id).password_hash, password)
    assert client.post(f"/admin/users/{teacher.id}/disable", data={"csrf": csrf}).status_code == 200
    session.expire_all()
    assert session.get(ConsoleUser, teacher.id).active is False
    assert (
        client.post(f"/admin/users/{province.id}/disable", data={"csrf": csrf}).status_code == 404
    )
    assert client.post(f"/admin/users/{users['school_a'].id}/disable",
                       data={"csrf": csrf}).status_code == 404  # fmt: skip
    token = session.exec(select(ApiToken).where(ApiToken.user_id == teacher.id)).one()
    assert client.post(f"/admin/tokens/{token.id}/revoke", data={"csrf": csrf}).status_code == 200
    session.expire_all()
    assert session.get(ApiToken, token.id).revoked
    auth = {"Authorization": f"Bearer {world.tokens['teacher_a']}"}
    assert client.get("/api/v1/students", headers=auth).status_code == 401
    theirs = session.exec(select(ApiToken).where(ApiToken.user_id == province.id)).one()
    assert client.post(f"/admin/tokens/{theirs.id}/revoke", data={"csrf": csrf}).status_code == 404


def test_a_province_admin_manages_every_user_and_a_teacher_none(settings, engine, session, now):
    build_world(session, now)
    client, csrf = _signed_in(settings, engine, now, "province")
    school = session.exec(select(ConsoleUser).where(ConsoleUser.username == "school_a")).one()
    assert client.post(f"/admin/users/{school.id}/disable", data={"csrf": csrf}).status_code == 200
    teacher, csrf = _signed_in(settings, engine, now, "teacher_a")
    assert teacher.get("/admin/users").status_code == 403
