"""The bench code must not rot: a tiny province, one sweep, the report (no timing asserted)."""

from __future__ import annotations

import json
import shutil
from datetime import date

import pytest
from sqlalchemy import func, select, text

from bench import report
from bench.seed import SeedPlan, seed
from models import CheckIn, Placement, SchoolDay, Student
from models.db import make_engine

PLAN = SeedPlan(scale=0.0005, days=4, today=date(2026, 3, 2))


@pytest.fixture
def seeded(tmp_path, sqlite_template) -> str:
    path = tmp_path / "bench.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    seed(url, PLAN, log=lambda _m: None)
    return url


def test_the_generator_fills_people_placements_and_history(seeded):
    engine = make_engine(seeded)
    with engine.connect() as conn:
        students = conn.execute(select(func.count()).select_from(Student)).scalar()
        placements = conn.execute(select(func.count()).select_from(Placement)).scalar()
        checkins = conn.execute(select(func.count()).select_from(CheckIn)).scalar()
        early = conn.execute(text("SELECT MIN(at) FROM checkins WHERE day = '2026-03-02'")).scalar()
    engine.dispose()
    assert students == round(1_451_144 * PLAN.scale)
    assert placements == round(542_092 * PLAN.scale)
    assert 0 < checkins <= placements * PLAN.days
    assert early is not None  # today's check-ins exist, all before the nudge time


def test_roll_ups_agree_with_the_check_ins(seeded):
    engine = make_engine(seeded)
    with engine.connect() as conn:
        raw = conn.execute(
            text("SELECT school_id, day, COUNT(*) FROM checkins GROUP BY school_id, day")
        ).all()
        rolled = {
            (r.school_id, r.day): r.checkins
            for r in conn.execute(select(SchoolDay.school_id, SchoolDay.day, SchoolDay.checkins))
        }
    engine.dispose()
    assert raw
    for school_id, day, n in raw:
        assert rolled[(school_id, date.fromisoformat(day))] == n


def test_the_nudge_sweep_runs_at_seed_scale_and_is_idempotent(seeded):
    from bench import sweeps

    result = sweeps.run(seeded, today=PLAN.today, log=lambda _m: None)
    nudges = result["nudges"]
    if isinstance(nudges, str):
        pytest.skip(nudges)
    assert nudges["outbox_rows"] > 0
    assert not nudges["rerun_returned"]


def test_the_report_prints_and_writes_json(tmp_path, capsys):
    results = {
        "db": "sqlite",
        "quick": True,
        "scale": 0.01,
        "days": 5,
        "seed": {"counts": {"checkins": 10}, "total_seconds": 1.0},
        "webhook": {"ratio": 0.6, "real": {"rps": 10.0, "p99_ms": 50.0, "errors": 0}},
        "outbox": "n/a (not built yet)",
    }
    report.print_table(results)
    path = report.write(results, tmp_path)
    assert json.loads(path.read_text("utf-8"))["db"] == "sqlite"
    out = capsys.readouterr().out
    assert "n/a (not built yet)" in out
    assert "met" in out
    assert "| /wechat real/bare | 0.6 x (met) |" in report.markdown([results])


def test_the_outbox_section_delivers_every_message_once(seeded):
    from bench import outbox

    result = outbox.run(seeded, today=PLAN.today, messages=40, log=lambda _m: None)
    assert (result["sent"], result["statuses"]) == (40, {"sent": 40})
