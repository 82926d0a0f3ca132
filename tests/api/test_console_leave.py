"""Leave in the console and the API: the list (pending first), deciding, excusing, the timeline."""

from __future__ import annotations

import csv
import io
from datetime import date

from sqlmodel import select

from models import AuditLog, Leave
from models.leave import create_leave
from tests.api.console_world import build_world, csrf_of, login, make_client
from tests.factories import bind

TODAY = date(2026, 3, 2)


def _signed_in(settings, engine, now, role):
    client = make_client(settings, engine, now)
    login(client, role)
    return client, csrf_of(client.get("/admin/students").text)


def _ask(session, now, student_id, start, end=None, reason="发烧去医院"):
    result = create_leave(
        session, student_id=student_id, start=start, end=end or start, reason=reason,
        today=TODAY, now=now, max_past_days=7,
    )  # fmt: skip
    assert result.ok, result
    session.commit()
    return result.leave


def _leaves(session, now):
    world = build_world(session, now)
    ids = {k: v["student"] for k, v in world.ids.items()}
    decided = _ask(session, now, ids["mine"], date(2026, 3, 3))
    decided.status, decided.decided_by = "approved", "teacher_a"
    session.add(decided)
    session.commit()
    pending = _ask(session, now, ids["mine"], date(2026, 3, 5), date(2026, 3, 9), "阑尾炎")
    theirs = _ask(session, now, ids["colleague"], date(2026, 3, 4))
    far = _ask(session, now, ids["other"], date(2026, 3, 4))
    return world, ids, dict(decided=decided, pending=pending, theirs=theirs, far=far)


def test_the_leave_list_puts_pending_first_and_is_scoped_paged_and_exportable(
    settings, engine, session, now
):
    _, _, leaves = _leaves(session, now)
    client, _ = _signed_in(settings, engine, now, "teacher_a")
    page = client.get("/admin/leaves").text
    assert page.index(leaves["pending"].number + "<") < page.index(leaves["decided"].number + "<")
    assert "阑尾炎" in page and "待审批</td>" in page and "已批准</td>" in page
    assert "赵小红" not in page and "钱小多" not in page  # a colleague's and another school's
    school, _ = _signed_in(settings, engine, now, "school_a")
    text = school.get("/admin/leaves?status=pending").text
    assert "赵小红" in text and "王小明" in text and "钱小多" not in text
    assert "已批准</td>" not in text
    assert "共 2 条" in text
    exported = school.get("/admin/leaves?format=csv").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(exported)))
    assert rows[0][:3] == ["编号", "状态", "学号"] and len(rows) == 4
    assert school.get("/admin/leaves?status=maybe").status_code == 400


def test_the_teacher_approves_and_rejects_with_a_reason(settings, engine, session, now):
    _, _, leaves = _leaves(session, now)
    client, csrf = _signed_in(settings, engine, now, "teacher_a")
    lid = leaves["pending"].id
    refused = client.post(f"/admin/leaves/{lid}", data={"action": "reject", "csrf": csrf})
    assert refused.status_code == 400 and "驳回请写明理由" in refused.text
    resp = client.post(
        f"/admin/leaves/{lid}",
        data={"action": "reject", "refusal": "请先补交医院证明", "csrf": csrf},
    )
    assert resp.status_code == 303
    session.expire_all()
    leave = session.get(Leave, lid)
    assert (leave.status, leave.refusal, leave.decided_by) == (
        "rejected",
        "请先补交医院证明",
        "teacher_a",
    )
    again = client.post(f"/admin/leaves/{lid}", data={"action": "approve", "csrf": csrf})
    assert again.status_code == 409 and "已处理（已驳回）" in again.text
    assert session.exec(select(AuditLog).where(AuditLog.action == "leave.reject")).one()
    # A colleague's student: not even visible.
    hidden = client.post(
        f"/admin/leaves/{leaves['theirs'].id}", data={"action": "approve", "csrf": csrf}
    )
    assert hidden.status_code == 404


def test_a_school_admin_decides_for_the_school_and_a_province_admin_only_reads(
    settings, engine, session, now
):
    _, _, leaves = _leaves(session, now)
    school, csrf = _signed_in(settings, engine, now, "school_a")
    lid = leaves["theirs"].id
    assert 'value="approve"' in school.get(f"/admin/leaves/{lid}").text
    assert (
        school.post(f"/admin/leaves/{lid}", data={"action": "approve", "csrf": csrf}).status_code
        == 303
    )
    province, pcsrf = _signed_in(settings, engine, now, "province")
    far = leaves["far"].id
    page = province.get(f"/admin/leaves/{far}").text
    assert "钱小多" in page and 'value="approve"' not in page
    denied = province.post(f"/admin/leaves/{far}", data={"action": "approve", "csrf": pcsrf})
    assert denied.status_code == 403
    session.expire_all()
    assert (
        session.get(Leave, lid).status == "approved" and session.get(Leave, far).status == "pending"
    )


def test_a_teacher_excuses_days_and_the_timeline_shows_them_as_leave(
    settings, engine, session, now
):
    world = build_world(session, now)
    sid = world.ids["mine"]["student"]
    bind(session, person_kind="student", person_id=sid, external_id="A001")
    session.commit()
    client, csrf = _signed_in(settings, engine, now, "teacher_a")
    resp = client.post(
        f"/admin/students/{sid}/leave",
        data={"start": "2026-02-26", "end": "2026-02-27", "reason": "家访确认生病", "csrf": csrf},
    )
    assert resp.status_code == 303
    leave = session.exec(select(Leave)).one()
    assert (leave.status, leave.source, leave.decided_by) == ("approved", "console", "teacher_a")
    page = client.get(f"/admin/students/{sid}").text
    assert leave.number in page and "家访确认生病" in page
    attendance = page[page.index('id="attendance"') : page.index('id="leaves"')]
    assert "<td>2026-02-27</td><td>请假</td>" in attendance
    assert "<td>2026-02-28</td><td>缺勤</td>" in attendance  # the 调休 Saturday is due
    assert "<td>2026-03-01</td><td>休息日</td>" in attendance
    overlap = client.post(
        f"/admin/students/{sid}/leave",
        data={"start": "2026-02-27", "reason": "重复", "csrf": csrf},
    )
    assert overlap.status_code == 409 and leave.number in overlap.text
    old = client.post(
        f"/admin/students/{sid}/leave",
        data={"start": "2026-02-01", "reason": "太早", "csrf": csrf},
    )
    assert old.status_code == 400 and "已超过 7 天" in old.text
    colleague = world.ids["colleague"]["student"]
    forbidden = client.post(
        f"/admin/students/{colleague}/leave",
        data={"start": "2026-03-02", "reason": "x", "csrf": csrf},
    )
    assert forbidden.status_code == 404


def test_the_api_lists_leaves_with_the_spec_fields_scoped_and_paged(settings, engine, session, now):
    world, _, leaves = _leaves(session, now)
    client = make_client(settings, engine, now)

    def get(url, role="province"):
        resp = client.get(url, headers={"Authorization": f"Bearer {world.tokens[role]}"})
        assert resp.status_code == 200, resp.text
        return resp.json()

    body = get("/api/v1/leaves?status=pending&page_size=2")
    assert body["total"] == 3 and len(body["items"]) == 2
    item = next(i for i in get("/api/v1/leaves")["items"] if i["id"] == leaves["pending"].id)
    assert {k: item[k] for k in ("start", "end", "status", "student_no", "number", "reason")} == {
        "start": "2026-03-05",
        "end": "2026-03-09",
        "status": "pending",
        "student_no": "A001",
        "number": leaves["pending"].number,
        "reason": "阑尾炎",
    }
    mine = get("/api/v1/leaves", "teacher_a")
    assert {i["student_no"] for i in mine["items"]} == {"A001"} and mine["total"] == 2
    on_day = get("/api/v1/leaves?date=2026-03-04", "school_a")
    assert {i["student_no"] for i in on_day["items"]} == {"A002"}
    bad = client.get(
        "/api/v1/leaves?status=maybe",
        headers={"Authorization": f"Bearer {world.tokens['province']}"},
    )
    assert bad.status_code == 422


def test_the_school_admin_sees_unbound_students_per_class(settings, engine, session, now):
    world = build_world(session, now)
    bind(session, person_kind="student", person_id=world.ids["mine"]["student"], external_id="A001")
    session.commit()
    client, _ = _signed_in(settings, engine, now, "school_a")
    invites = client.get("/admin/invites").text
    assert "status=unbound" in invites and "1 人</a>" in invites
    unbound = client.get("/admin/students?status=unbound&class_name=汽修2302").text
    assert "赵小红" in unbound and "王小明" not in unbound
    listed = client.get("/admin/students?status=unbound").text
    assert "赵小红" in listed and "王小明" not in listed and "钱小多" not in listed
