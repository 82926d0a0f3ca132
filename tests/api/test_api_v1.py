"""The JSON API: bearer tokens, pagination, filters and an accurate OpenAPI description."""

from __future__ import annotations

from tests.api.console_world import build_world, make_client
from tests.factories import make_student


def _auth(world, role="province"):
    return {"Authorization": f"Bearer {world.tokens[role]}"}


def test_requests_without_a_valid_token_get_401_with_a_bearer_challenge(
    settings, engine, session, now
):
    build_world(session, now)
    client = make_client(settings, engine, now)
    for headers in ({}, {"Authorization": "Bearer sx_not-a-token"}, {"Authorization": "Basic x"}):
        resp = client.get("/api/v1/students", headers=headers)
        assert resp.status_code == 401
        assert resp.headers["www-authenticate"] == "Bearer"


def test_checkins_of_a_date_carry_the_spec_fields(settings, engine, session, now):
    world = build_world(session, now)
    client = make_client(settings, engine, now)
    body = client.get("/api/v1/checkins?date=2026-03-02", headers=_auth(world)).json()
    item = body["items"][0]
    assert {"kind", "within_fence", "distance_m", "at", "student_no"} <= item.keys()
    empty = client.get("/api/v1/checkins?date=2026-03-01", headers=_auth(world)).json()
    assert empty["total"] == 0
    assert client.get("/api/v1/checkins?date=03/02", headers=_auth(world)).status_code == 422


def test_lists_paginate_with_page_or_limit_and_offset(settings, engine, session, now):
    for i in range(4):
        make_student(session, student_no=f"P00{i}", name=f"学生{i}")
    session.commit()
    world = build_world(session, now)
    client = make_client(settings, engine, now)
    page2 = client.get("/api/v1/students?page=2&page_size=3", headers=_auth(world)).json()
    assert page2["total"] == 7 and page2["page"] == 2
    assert [s["student_no"] for s in page2["items"]] == ["P000", "P001", "P002"]
    sliced = client.get("/api/v1/students?limit=2&offset=4", headers=_auth(world)).json()
    assert [s["student_no"] for s in sliced["items"]] == ["P001", "P002"]
    filtered = client.get("/api/v1/students?class=汽修2302", headers=_auth(world)).json()
    assert [s["student_no"] for s in filtered["items"]] == ["A002"]
    assert client.get("/api/v1/students?page_size=100000", headers=_auth(world)).status_code == 422


def test_tickets_filter_by_status_and_carry_the_category(settings, engine, session, now):
    world = build_world(session, now)
    client = make_client(settings, engine, now)
    body = client.get("/api/v1/tickets?status=open", headers=_auth(world)).json()
    assert body["total"] == 3 and {t["category"] for t in body["items"]} == {"wages"}
    none = client.get("/api/v1/tickets?status=resolved", headers=_auth(world)).json()
    assert none["total"] == 0
    assert client.get("/api/v1/tickets?status=bogus", headers=_auth(world)).status_code == 422


def test_openapi_describes_the_resources_and_the_bearer_scheme(settings, engine, session, now):
    client = make_client(settings, engine, now)
    spec = client.get("/openapi.json").json()
    for path in ("students", "checkins", "journals", "tickets", "alerts", "stats/overview"):
        operation = spec["paths"][f"/api/v1/{path}"]["get"]
        assert operation["security"] == [{"HTTPBearer": []}]
        assert "200" in operation["responses"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    checkin = spec["components"]["schemas"]["CheckInOut"]["properties"]
    assert {"kind", "within_fence", "distance_m", "at", "student_no"} <= checkin.keys()
    assert not any(p.startswith("/admin") for p in spec["paths"])


def test_stats_overview_has_the_dashboard_figures(settings, engine, session, now):
    world = build_world(session, now)
    client = make_client(settings, engine, now)
    stats = client.get("/api/v1/stats/overview", headers=_auth(world)).json()
    assert set(stats["rates"]) == {
        "match",
        "arranged",
        "stable",
        "checkin",
        "weekly",
        "graded",
        "satisfied",
    }
    assert stats["rates"]["checkin"]["definition"]
    assert len(stats["trend"]) == 14 and stats["trend"][-1] == {"day": "2026-03-02", "value": 3}
    assert {g["name"] for g in stats["gender"]} == {"男", "女"}
