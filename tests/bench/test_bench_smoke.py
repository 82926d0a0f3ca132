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


def _kind(ratio: float, p99: float, **extra) -> dict:
    entry = dict(
        label="x", sent=10, ok=10, errors=0, rps=100.0, p50_ms=5.0, p99_ms=p99, ratio=ratio,
        effects=10, duplicated=0, effects_per_s=100.0, effects_ok=True,
    )  # fmt: skip
    entry.update(extra)
    return entry


def test_the_report_prints_and_writes_json(tmp_path, capsys):
    results = {
        "db": "sqlite",
        "quick": True,
        "scale": 0.01,
        "days": 5,
        "seed": {"counts": {"checkins": 10}, "total_seconds": 1.0},
        "webhook": {
            "bare": {"rps": 1000.0, "client": "wrk"},
            "kinds": {
                "location": _kind(0.6, 50.0, label="location check-in"),
                "status": _kind(0.3, 150.0, label="状态"),
                "report": _kind(0.2, 50.0, label="维权", effects=9, duplicated=1, effects_ok=False),
                "bind": _kind(0.3, 50.0, label="绑定", effects_per_s=600.0),
            },
        },
        "outbox": "n/a (not built yet)",
    }
    report.print_table(results)
    path = report.write(results, tmp_path)
    assert json.loads(path.read_text("utf-8"))["db"] == "sqlite"
    out = capsys.readouterr().out
    assert "n/a (not built yet)" in out
    assert "MISSED: p99" in out  # 状态: ratio met, p99 not
    assert "MISSED: ratio, effects" in out  # 维权: a duplicated ticket
    markdown = report.markdown([results])
    assert "| binding throughput | 600.0 students/s (met) | ≥500 |" in markdown
    assert "| location check-in | 0.6 x, 100.0 req/s (met) | 5 / 50.0 | 0; 10/10 |" in markdown
    assert "| 维权 | 0.2 x, 100.0 req/s (MISSED: ratio, effects) | 5 / 50.0 | 0; 9/10 +1 dup |" in (
        markdown
    )


def test_the_outbox_section_delivers_every_message_once(seeded):
    from bench import outbox

    result = outbox.run(seeded, today=PLAN.today, messages=40, log=lambda _m: None)
    assert (result["sent"], result["statuses"]) == (40, {"sent": 40})
