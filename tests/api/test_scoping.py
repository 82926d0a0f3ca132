"""Every console page and API route, walked as each role: nobody sees another school's rows."""

from __future__ import annotations

import io

import pytest
from fastapi.routing import APIRoute
from openpyxl import load_workbook

from models import Journal
from tests.api.console_world import build_world, csrf_of, login, make_client

ROLES = ("province", "school_a", "teacher_a")
SUBJECTS = ("mine", "colleague", "other")
VISIBLE = {
    "province": {"mine", "colleague", "other"},
    "school_a": {"mine", "colleague"},
    "teacher_a": {"mine"},
}
NAMES = {"mine": "王小明", "colleague": "赵小红", "other": "钱小多"}
NUMBERS = {"mine": "A001", "colleague": "A002", "other": "B001"}
CLASSES = {"mine": "汽修2301", "colleague": "汽修2302", "other": "食品2301"}

# GET pages listing students' rows: each visible subject's name appears, no other one does.
LIST_PAGES = {
    "/admin/": ("",),
    "/admin/students": ("", "?format=csv", "?format=xlsx", "?q=小"),
    "/admin/checkins": ("", "?format=csv", "?format=xlsx"),
    "/admin/journals": ("", "?format=csv", "?format=xlsx"),
    "/admin/tickets": ("", "?format=csv", "?format=xlsx"),
    "/admin/alerts": ("", "?format=csv", "?format=xlsx"),
    "/admin/feed.json": ("",),
}
# GET pages about one row: 200 when visible, 404 otherwise.
DETAIL_PAGES = {
    "/admin/students/{student_id}": "student",
    "/admin/journals/{journal_id}": "journal",
    "/admin/tickets/{case_id}": "ticket",
    "/admin/alerts/{case_id}": "alert",
    "/admin/invites/{class_id}": "class",
}
# POSTs changing one row: refused with 404 when the row is not visible.
DETAIL_POSTS = {
    "/admin/journals/{journal_id}/grade": ("journal", {"score": "90", "comment": "好"}),
    "/admin/tickets/{case_id}/status": ("ticket", {"action": "acknowledge"}),
    "/admin/alerts/{case_id}/status": ("alert", {"action": "acknowledge"}),
}
API_LISTS = (
    "/api/v1/students",
    "/api/v1/checkins",
    "/api/v1/journals",
    "/api/v1/tickets",
    "/api/v1/alerts",
    "/api/v1/surveys",
)
# Routes checked by their own assertions below (or in test_console_auth.py).
SPECIAL = {
    ("GET", "/admin"),
    ("GET", "/admin/login"),
    ("POST", "/admin/login"),
    ("POST", "/admin/logout"),
    ("GET", "/admin/overview.json"),
    ("GET", "/admin/invites"),
    ("POST", "/admin/invites"),
    ("GET", "/admin/roster"),
    ("POST", "/admin/roster"),
    ("GET", "/api/v1/stats/overview"),
    # The quality report: scoped by the signed-in user, checked in tests/report/.
    ("GET", "/admin/reports"),
    ("GET", "/admin/reports/quality"),
}


def _text(resp) -> str:
    if resp.headers["content-type"].startswith("application/vnd.openxml"):
        wb = load_workbook(io.BytesIO(resp.content), read_only=True)
        return "\n".join(
            str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row
        )
    return resp.content.decode("utf-8-sig")


@pytest.fixture
def world(session, now):
    return build_world(session, now)


def test_every_console_and_api_route_has_a_scope_check(settings, engine, now):
    app = make_client(settings, engine, now).app
    covered = set(SPECIAL)
    covered |= {("GET", p) for p in (*LIST_PAGES, *DETAIL_PAGES, *API_LISTS)}
    covered |= {("POST", p) for p in DETAIL_POSTS}
    routes = {
        (method, r.path)
        for r in app.routes
        if isinstance(r, APIRoute) and r.path.startswith(("/admin", "/api/"))
        for method in r.methods - {"HEAD"}
    }
    assert routes - covered == set(), "new routes need a scoping check in this file"


@pytest.mark.parametrize("role", ROLES)
def test_lists_show_only_rows_in_scope(settings, engine, session, now, world, role):
    client = make_client(settings, engine, now)
    assert login(client, role).status_code == 303
    for path, variants in LIST_PAGES.items():
        for variant in variants:
            resp = client.get(path + variant)
            assert resp.status_code == 200, (path + variant, resp.text[:200])
            text = _text(resp)
            for subject in SUBJECTS:
                seen = NAMES[subject] in text
                assert seen == (subject in VISIBLE[role]), (role, path + variant, subject)


@pytest.mark.parametrize("role", ROLES)
def test_pages_of_single_rows_are_404_outside_scope(settings, engine, session, now, world, role):
    client = make_client(settings, engine, now)
    login(client, role)
    for path, kind in DETAIL_PAGES.items():
        for subject in SUBJECTS:
            row_id = world.ids[subject][kind]
            url = path.split("{")[0] + str(row_id)
            expected = 200 if subject in VISIBLE[role] else 404
            if kind == "class" and role == "province" and expected == 200:
                expected = 403  # invite codes are credentials: only who may issue them reads them
            resp = client.get(url)
            assert resp.status_code == expected, (role, url)
            if expected == 404:
                assert NAMES[subject] not in resp.text


@pytest.mark.parametrize("role", ROLES)
def test_changes_outside_scope_are_refused(settings, engine, session, now, world, role):
    client = make_client(settings, engine, now)
    login(client, role)
    csrf = csrf_of(client.get("/admin/students").text)
    hidden = [s for s in SUBJECTS if s not in VISIBLE[role]]
    for path, (kind, form) in DETAIL_POSTS.items():
        for subject in hidden:
            url = path.replace(
                "{" + path.split("{")[1].split("}")[0] + "}", str(world.ids[subject][kind])
            )
            assert client.post(url, data={**form, "csrf": csrf}).status_code == 404, url
    for subject in hidden:
        resp = client.post(
            "/admin/invites", data={"class_id": world.ids[subject]["class"], "csrf": csrf}
        )
        assert resp.status_code == 404
    session.expire_all()
    for subject in hidden:
        assert session.get(Journal, world.ids[subject]["journal"]).status == "submitted"


@pytest.mark.parametrize("role", ROLES)
def test_invite_classes_and_figures_are_scoped(settings, engine, session, now, world, role):
    client = make_client(settings, engine, now)
    login(client, role)
    classes = client.get("/admin/invites").text
    for subject in SUBJECTS:
        assert (CLASSES[subject] in classes) == (subject in VISIBLE[role])
    figures = client.get("/admin/overview.json").json()
    assert figures["totals"]["students"] == len(VISIBLE[role])
    schools = {r["school"] for r in figures["ranking"]}
    assert ("贵州轻工职业技术学院" in schools) == (role == "province")
    roster = client.get("/admin/roster")
    assert roster.status_code == (403 if role == "teacher_a" else 200)


@pytest.mark.parametrize("role", ROLES)
def test_api_lists_and_stats_are_scoped(settings, engine, session, now, world, role):
    client = make_client(settings, engine, now)
    auth = {"Authorization": f"Bearer {world.tokens[role]}"}
    expected = {NUMBERS[s] for s in VISIBLE[role]}
    for path in API_LISTS:
        body = client.get(path, headers=auth).json()
        assert {item["student_no"] for item in body["items"]} == expected, (role, path)
        assert body["total"] == len(expected)
    stats = client.get("/api/v1/stats/overview", headers=auth).json()
    assert stats["totals"]["students"] == len(expected)
    assert stats["satisfaction"]["overall"]["answered"] == len(expected)
    assert stats["today"]["checkins"] == len(expected)


def test_a_teacher_cannot_widen_scope_with_a_school_filter(settings, engine, session, now, world):
    client = make_client(settings, engine, now)
    login(client, "teacher_a")
    other_school = world.ids["other"]["school"]
    assert NAMES["other"] not in client.get(f"/admin/students?school_id={other_school}").text
    auth = {"Authorization": f"Bearer {world.tokens['teacher_a']}"}
    body = client.get(f"/api/v1/tickets?school_id={other_school}", headers=auth).json()
    assert body["items"] == []


def test_coordinates_are_hidden_from_the_province(settings, engine, session, now, world):
    client = make_client(settings, engine, now)
    for role, shown in (("province", False), ("school_a", True), ("teacher_a", True)):
        auth = {"Authorization": f"Bearer {world.tokens[role]}"}
        items = client.get("/api/v1/checkins?date=2026-03-02", headers=auth).json()["items"]
        mine = next(i for i in items if i["student_no"] == "A001")
        assert (mine["lat"] is not None) == shown
        assert mine["within_fence"] is True and mine["distance_m"] == 40.0
        login(client, role)
        page = client.get(f"/admin/students/{world.ids['mine']['student']}").text
        assert ("26.58000" in page) == shown
