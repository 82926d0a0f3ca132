"""Compliance in the console and the API: scoped lists, evidence, waive/resolve rights, export."""

from __future__ import annotations

from sqlmodel import select

from models import Finding, Placement
from scheduler.compliance import check_compliance
from tests.api.console_world import build_world, csrf_of, login, make_client


def _world_with_findings(settings, session, now):
    world = build_world(session, now)
    for p in session.exec(select(Placement)).all():
        p.agreement_signed = False  # every student: no_agreement
        session.add(p)
    session.commit()
    check_compliance(session, settings, now)
    session.commit()
    return world


def _auth(world, role):
    return {"Authorization": f"Bearer {world.tokens[role]}"}


def test_api_findings_carry_the_spec_fields_and_are_scoped(settings, engine, session, now):
    world = _world_with_findings(settings, session, now)
    client = make_client(settings, engine, now)
    seen = {}
    for role in ("province", "school_a", "teacher_a"):
        body = client.get("/api/v1/findings?rule=no_agreement", headers=_auth(world, role)).json()
        seen[role] = {item["student_no"] for item in body["items"]}
    assert seen == {
        "province": {"A001", "A002", "B001"},
        "school_a": {"A001", "A002"},
        "teacher_a": {"A001"},
    }
    item = client.get("/api/v1/findings", headers=_auth(world, "teacher_a")).json()["items"][0]
    fields = {"rule", "article", "severity", "student_no", "company", "detail", "first_seen"}
    assert fields | {"status"} <= item.keys()
    assert item["severity"] == "critical" and item["status"] == "open"
    assert "第十二条" in item["article"]


def test_api_findings_filter_by_rule_status_and_school(settings, engine, session, now):
    world = _world_with_findings(settings, session, now)
    client = make_client(settings, engine, now)
    headers = _auth(world, "province")
    by_name = client.get("/api/v1/findings?school=贵州食品职业学院", headers=headers)
    school_b = world.ids["other"]["school"]
    by_id = client.get(f"/api/v1/findings?school={school_b}", headers=headers).json()
    assert {i["student_no"] for i in by_id["items"]} == {"B001"}
    assert by_name.status_code == 200
    assert client.get("/api/v1/findings?status=waived", headers=headers).json()["total"] == 0
    assert client.get("/api/v1/findings?rule=bogus", headers=headers).status_code == 422
    page = client.get("/api/v1/findings?page_size=1&page=2", headers=headers).json()
    assert page["page"] == 2 and len(page["items"]) == 1 and page["total"] >= 3


def test_the_compliance_page_lists_rules_schools_and_exports(settings, engine, session, now):
    _world_with_findings(settings, session, now)
    client = make_client(settings, engine, now)
    login(client, "province")
    page = client.get("/admin/compliance")
    assert page.status_code == 200
    assert "未签三方协议" in page.text and "第十二条" in page.text and "by-school" in page.text
    csv = client.get("/admin/compliance?format=csv&rule=no_agreement")
    assert csv.status_code == 200 and csv.text.count("\n") == 4  # header and three findings
    assert client.get("/admin/compliance?rule=bogus").status_code == 400
    assert client.get("/admin/").status_code == 200
    assert "compliance-clean" in client.get("/admin/").text


def _finding_of(session, student_id):
    return session.exec(select(Finding).where(Finding.student_id == student_id)).first()


def test_school_admin_waives_with_a_note_and_province_may_not(settings, engine, session, now):
    world = _world_with_findings(settings, session, now)
    finding = _finding_of(session, world.ids["mine"]["student"])
    client = make_client(settings, engine, now)
    login(client, "province")
    url = f"/admin/compliance/findings/{finding.id}"
    page = client.get(url)
    assert page.status_code == 200 and "未签订三方实习协议" in page.text
    refused = client.post(f"{url}/status", data={"action": "waive", "note": "x", "csrf": "?"})
    assert refused.status_code == 403
    client = make_client(settings, engine, now)
    login(client, "school_a")
    token = csrf_of(client.get(url).text)
    empty = client.post(f"{url}/status", data={"action": "waive", "note": "", "csrf": token})
    assert empty.status_code == 400
    done = client.post(
        f"{url}/status", data={"action": "waive", "note": "协议已补签，原件在档", "csrf": token}
    )
    assert done.status_code == 303
    session.expire_all()
    waived = session.get(Finding, finding.id)
    assert (waived.status, waived.waived_by, waived.note) == (
        "waived",
        "school_a",
        "协议已补签，原件在档",
    )


def test_a_teacher_decides_only_for_own_students(settings, engine, session, now):
    world = _world_with_findings(settings, session, now)
    own = _finding_of(session, world.ids["mine"]["student"])
    colleague = _finding_of(session, world.ids["colleague"]["student"])
    client = make_client(settings, engine, now)
    login(client, "teacher_a")
    assert client.get(f"/admin/compliance/findings/{colleague.id}").status_code == 404
    url = f"/admin/compliance/findings/{own.id}"
    token = csrf_of(client.get(url).text)
    resp = client.post(f"{url}/status", data={"action": "resolve", "note": "已核实", "csrf": token})
    assert resp.status_code == 303
    student_page = client.get(f"/admin/students/{world.ids['mine']['student']}")
    assert "合规问题" in student_page.text and "已解决" in student_page.text
