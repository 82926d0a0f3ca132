"""Dashboard snapshots: used while fresh, recomputed when stale, scoped, kept fresh by a sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from core.stats import overview, snapshot_scope
from models import ConsoleUser, DashboardSnapshot, School
from models.stats import bump_school_day, read_snapshot
from scheduler.dashboards import refresh_dashboards, sweep_dashboards
from scheduler.sweeps import run_sweeps
from tests.api.console_world import build_world, login, make_client
from tests.factories import make_student

SCHOOL_A = "贵州交通职业技术学院"
SCHOOL_B = "贵州轻工职业技术学院"


def _world(session) -> tuple[int, int]:
    """Two students in school A, one in school B; returns the two school ids."""
    make_student(session, student_no="A001", school=SCHOOL_A)
    make_student(session, student_no="A002", school=SCHOOL_A, gender="女")
    make_student(
        session,
        student_no="B001",
        school=SCHOOL_B,
        class_name="食品2301",
        major="食品检验检测技术",
        teacher_name="王老师",
        teacher_phone="13800000002",
        company="贵阳食品有限公司",
    )
    session.commit()
    ids = {s.name: s.id for s in session.exec(select(School)).all()}
    return ids[SCHOOL_A], ids[SCHOOL_B]


def _province() -> ConsoleUser:
    return ConsoleUser(username="p", role="province", password_hash="-")


def _school(school_id: int) -> ConsoleUser:
    return ConsoleUser(username="s", role="school", school_id=school_id, password_hash="-")


def _figures(session, user, settings, now):
    return overview(
        session, user, today=now.astimezone(settings.tz).date(), settings=settings, now=now
    )


def _add_student(session, no: str = "A003") -> None:
    make_student(session, student_no=no, school=SCHOOL_A)
    session.commit()


def test_first_overview_computes_and_stores_the_snapshot(session, settings, now):
    a, _ = _world(session)
    figures = _figures(session, _province(), settings, now)
    assert figures["totals"]["students"] == 3
    assert figures["computed_at"] == now.isoformat(timespec="seconds")
    stored = read_snapshot(session, scope="province")
    assert stored is not None and stored.computed_at == now
    assert stored.figures["totals"]["students"] == 3
    assert read_snapshot(session, scope=f"school:{a}") is None


def test_a_fresh_snapshot_is_used_instead_of_recounting(session, settings, now):
    _world(session)
    _figures(session, _province(), settings, now)
    _add_student(session)
    later = now + timedelta(minutes=settings.console.snapshot_max_age_min)
    figures = _figures(session, _province(), settings, later)
    assert figures["totals"]["students"] == 3  # the snapshot's figure, not a new count
    assert figures["computed_at"] == now.isoformat(timespec="seconds")


def test_a_stale_snapshot_is_recomputed_and_replaced(session, settings, now):
    _world(session)
    _figures(session, _province(), settings, now)
    _add_student(session)
    later = now + timedelta(minutes=settings.console.snapshot_max_age_min, seconds=1)
    figures = _figures(session, _province(), settings, later)
    assert figures["totals"]["students"] == 4
    assert read_snapshot(session, scope="province").computed_at == later


def test_yesterdays_snapshot_is_not_used_on_a_new_day(session, settings, now):
    _world(session)
    _figures(session, _province(), settings, now - timedelta(minutes=1))
    _add_student(session)
    # 23:59 yesterday is a minute old at midnight, but its rates are for another day.
    midnight = now.replace(hour=0, minute=0)
    _figures(session, _province(), settings, midnight - timedelta(minutes=1))
    _add_student(session, "A004")
    assert _figures(session, _province(), settings, midnight)["totals"]["students"] == 5


def test_live_figures_stay_live_while_the_snapshot_is_reused(session, settings, now):
    a, _ = _world(session)
    _figures(session, _province(), settings, now)
    bump_school_day(session, school_id=a, day=now.date(), checkins=2, students_checked_in=2)
    session.commit()
    figures = _figures(session, _province(), settings, now + timedelta(minutes=1))
    assert figures["today"]["checkins"] == 2
    assert {r["school"]: r["value"] for r in figures["ranking"]}[SCHOOL_A] == 2


def test_a_school_admin_only_ever_gets_own_schools_snapshot(session, settings, now):
    a, b = _world(session)
    province = _figures(session, _province(), settings, now)
    school_b = _figures(session, _school(b), settings, now)
    school_a = _figures(session, _school(a), settings, now)
    assert province["totals"]["students"] == 3
    assert school_a["totals"]["students"] == 2 and school_b["totals"]["students"] == 1
    # Read again from the snapshots: still each school's own figures.
    again = _figures(session, _school(a), settings, now + timedelta(minutes=1))
    assert again["totals"] == school_a["totals"]
    assert [g["value"] for g in again["gender"]] == [1, 1]
    assert read_snapshot(session, scope=f"school:{b}").figures["totals"]["students"] == 1


def test_a_teacher_gets_live_figures_and_no_snapshot(session, settings, now):
    _world(session)
    teacher = ConsoleUser(
        username="t", role="teacher", school_id=1, teacher_id=1, password_hash="-"
    )
    assert snapshot_scope(teacher) is None
    _figures(session, teacher, settings, now)
    assert len(session.exec(select(DashboardSnapshot)).all()) == 0


@pytest.mark.parametrize(
    "user",
    [
        ConsoleUser(username="x", role="school", school_id=None, password_hash="-"),
        ConsoleUser(username="x", role="province", active=False, password_hash="-"),
        ConsoleUser(username="x", role="parent", school_id=1, password_hash="-"),
    ],
)
def test_users_without_a_proper_scope_get_no_snapshot(user):
    assert snapshot_scope(user) is None


def test_the_sweep_refreshes_old_snapshots_and_leaves_fresh_ones(session, settings, now):
    a, _ = _world(session)
    _figures(session, _province(), settings, now)
    _figures(session, _school(a), settings, now)
    _add_student(session)
    assert sweep_dashboards(session, settings, now + timedelta(minutes=1)) == 0
    later = now + timedelta(minutes=settings.console.snapshot_max_age_min)
    assert sweep_dashboards(session, settings, later) == 2  # the province and the viewed school
    session.commit()
    assert read_snapshot(session, scope="province").figures["totals"]["students"] == 4
    assert read_snapshot(session, scope=f"school:{a}").figures["totals"]["students"] == 3
    assert _figures(session, _school(a), settings, later)["computed_at"] == later.isoformat(
        timespec="seconds"
    )


def test_the_sweep_is_idempotent_and_runs_with_every_sweep(engine, session, settings, now):
    _world(session)
    first = run_sweeps(engine, settings, now)
    again = run_sweeps(engine, settings, now)
    assert first["dashboards"] == 1 and again["dashboards"] == 0
    assert len(session.exec(select(DashboardSnapshot)).all()) == 1


def test_refreshing_every_school_leaves_every_dashboard_fresh(session, settings, now):
    a, b = _world(session)
    assert refresh_dashboards(session, settings, now, every_school=True) == 3
    session.commit()
    scopes = {s.scope for s in session.exec(select(DashboardSnapshot)).all()}
    assert scopes == {"province", f"school:{a}", f"school:{b}"}
    _add_student(session)
    assert _figures(session, _school(a), settings, now)["totals"]["students"] == 2


def test_the_sweep_refuses_a_naive_time(session, settings, now):
    with pytest.raises(ValueError, match="aware"):
        sweep_dashboards(session, settings, now.replace(tzinfo=None))


def test_the_dashboard_page_shows_when_its_figures_were_counted(settings, engine, session, now):
    build_world(session, now)
    client = make_client(settings, engine, now)
    login(client, "province")
    assert "统计于 09:00" in client.get("/admin/").text
    later = now + timedelta(minutes=5)
    client.app.state.clock = lambda: later
    assert "统计于 09:00" in client.get("/admin/").text  # the snapshot, still fresh
    assert client.get("/admin/overview.json").json()["computed_at"].startswith("2026-03-02T09:00")
