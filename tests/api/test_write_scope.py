"""Reading is not writing: a province admin sees every school's journals, cases and classes but
grades, moves and issues codes in none; the student's teacher and school admin still can."""

from __future__ import annotations

from sqlmodel import select

from core.scope import write_condition
from models import Alert, Journal, Ticket
from tests.api.console_world import build_world, csrf_of, login, make_client


def _signed_in(settings, engine, now, who):
    client = make_client(settings, engine, now)
    login(client, who)
    return client, csrf_of(client.get("/admin/students").text)


def test_a_province_admin_reads_but_cannot_grade_resolve_or_issue_codes(
    settings, engine, session, now
):
    world = build_world(session, now)
    client, csrf = _signed_in(settings, engine, now, "province")
    mine = world.ids["mine"]
    page = client.get(f"/admin/journals/{mine['journal']}")
    assert page.status_code == 200 and "提交批阅" not in page.text
    resp = client.post(
        f"/admin/journals/{mine['journal']}/grade", data={"score": "90", "csrf": csrf}
    )
    assert resp.status_code == 403 and "只有学生的指导教师和本校管理员" in resp.text
    for kind in ("tickets", "alerts"):
        case = mine[kind.removesuffix("s")]
        assert "标记已解决" not in client.get(f"/admin/{kind}/{case}").text
        form = {"action": "resolve", "note": "省厅代办", "csrf": csrf}
        assert client.post(f"/admin/{kind}/{case}/status", data=form).status_code == 403
    assert (
        client.post("/admin/invites", data={"class_id": mine["class"], "csrf": csrf}).status_code
        == 403
    )
    assert client.get(f"/admin/invites/{mine['class']}").status_code == 403
    session.expire_all()
    assert session.get(Journal, mine["journal"]).status == "submitted"
    assert session.get(Ticket, mine["ticket"]).status == "open"
    assert session.get(Alert, mine["alert"]).status == "open"


def test_the_school_admin_still_grades_and_resolves(settings, engine, session, now):
    world = build_world(session, now)
    client, csrf = _signed_in(settings, engine, now, "school_a")
    mine = world.ids["mine"]
    resp = client.post(
        f"/admin/journals/{mine['journal']}/grade", data={"score": "90", "csrf": csrf}
    )
    assert resp.status_code == 303
    form = {"action": "resolve", "note": "已解决", "csrf": csrf}
    assert client.post(f"/admin/tickets/{mine['ticket']}/status", data=form).status_code == 303


def test_write_condition_is_empty_for_the_province_and_scoped_for_others(
    settings, engine, session, now
):
    from models import ConsoleUser

    build_world(session, now)
    users = {u.username: u for u in session.exec(select(ConsoleUser)).all()}
    writable = {
        name: set(session.exec(select(Journal.id).where(write_condition(u, Journal))).all())
        for name, u in users.items()
    }
    assert writable["province"] == set()
    assert len(writable["school_a"]) == 2 and len(writable["teacher_a"]) == 1
    assert writable["teacher_a"] < writable["school_a"]
