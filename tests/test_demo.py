"""`shixi demo`: a deterministic province whose roll-ups agree with its records."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from typer.testing import CliRunner

from api.cli import app
from api.commands.demo import generate_demo
from core.settings import Settings
from models import CheckIn, ConsoleUser, Journal, Placement, SchoolDay, Student, Ticket
from models.db import make_engine


def small_demo(settings, engine, now) -> dict[str, int]:
    return generate_demo(settings, engine, students=200, days=7, seed=7, now=now)


def test_demo_makes_students_placements_checkins_and_matching_roll_ups(settings, engine, now):
    counts = small_demo(settings, engine, now)

    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Student)).scalar_one() == 200
        placements = conn.execute(select(func.count()).select_from(Placement)).scalar_one()
        checkins = conn.execute(
            select(CheckIn.school_id, CheckIn.day, func.count()).group_by(
                CheckIn.school_id, CheckIn.day
            )
        ).all()
        rollups = conn.execute(select(SchoolDay.school_id, SchoolDay.day, SchoolDay.checkins))
        rollup = {(s, d): n for s, d, n in rollups if n}
        journals = conn.execute(select(func.count()).select_from(Journal)).scalar_one()
        journal_rollup = conn.execute(select(func.sum(SchoolDay.journals))).scalar_one()
        tickets = conn.execute(select(func.count()).select_from(Ticket)).scalar_one()
        users = conn.execute(select(ConsoleUser.username)).scalars().all()
    assert placements >= 200 and counts["placements"] == placements
    assert checkins and rollup == {(s, d): n for s, d, n in checkins}
    assert journals == journal_rollup and tickets >= 3
    assert "admin" in users and "teacher" in users and len(users) == 9


def test_demo_checkins_are_near_their_workplace_and_outside_ones_say_how_far(settings, engine, now):
    small_demo(settings, engine, now)

    with engine.connect() as conn:
        rows = conn.execute(
            select(CheckIn.within_fence, CheckIn.distance_m, Placement.radius_m).join(
                Placement, Placement.id == CheckIn.placement_id
            )
        ).all()
    inside = Counter(within for within, _, _ in rows)
    assert inside[True] > 5 * inside[False]
    assert all((dist <= radius) == within for within, dist, radius in rows)


def test_demo_is_deterministic_across_databases(sqlite_url, tmp_path, now, sqlite_template):
    import shutil

    other = tmp_path / "other.db"
    shutil.copy(sqlite_template, other)
    names = []
    for url in (sqlite_url, f"sqlite:///{other}"):
        engine = make_engine(url)
        small_demo(Settings(database={"url": url}), engine, now)
        with engine.connect() as conn:
            names.append(
                conn.execute(
                    select(Student.student_no, Student.name, Student.gender).order_by(
                        Student.student_no
                    )
                ).all()
            )
        engine.dispose()
    assert names[0] == names[1] and len(names[0]) == 200


def test_demo_command_refuses_a_non_empty_database_unless_if_empty(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "demo.db"}"\n', encoding="utf-8")
    monkeypatch.setenv("SHIXI_CONFIG", str(config))
    runner = CliRunner()

    first = runner.invoke(app, ["demo", "--students", "60", "--days", "5"])
    assert first.exit_code == 0, first.output
    assert "用户名 admin 密码" in first.output

    again = runner.invoke(app, ["demo", "--students", "60", "--days", "5"])
    assert again.exit_code == 1 and "已有数据" in again.output

    skipped = runner.invoke(app, ["demo", "--if-empty"])
    assert skipped.exit_code == 0 and "跳过" in skipped.output


def test_demo_province_has_compliance_findings_of_several_rules(settings, engine, now):
    from sqlalchemy import select

    from api.commands.demo import generate_demo
    from models import Finding

    counts = generate_demo(settings, engine, students=300, days=10, seed=7, now=now)
    with engine.connect() as conn:
        rules = set(conn.execute(select(Finding.rule)).scalars())
    assert counts["findings"] > 0
    assert {"no_agreement", "no_insurance", "low_pay", "night_work"} <= rules
