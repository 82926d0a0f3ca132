"""Roster import rows/s: a generated CSV of new students through the real importer, twice."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from bench.common import NOT_BUILT, bench_settings, optional, timed
from bench.names import CITIES, MAJORS, POSITIONS
from bench.seed import _name
from models.db import make_engine

COLUMNS = (
    "student_no", "name", "gender", "phone", "school", "major", "class", "teacher_name",
    "teacher_phone", "parent_name", "parent_phone", "company", "industry", "position", "address",
    "latitude", "longitude", "radius_m", "shift_start", "shift_end", "workdays", "start_date",
    "end_date", "monthly_salary", "arranged_by_school",
)  # fmt: skip


def write_csv(path: Path, rows: int, seed: int = 7) -> Path:
    """A roster of `rows` new students in 20 new schools, 400 teachers and 2,000 companies."""
    rng = random.Random(seed)
    teachers = [f"{_name(rng)}老师" for _ in range(400)]  # one name per teacher phone
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(COLUMNS)
        for i in range(rows):
            city, lat, lng = CITIES[i % len(CITIES)]
            major, industry = MAJORS[i % len(MAJORS)]
            school = f"名册导入测试{i % 20:02d}职业学院"
            teacher = i % 400
            company = i % 2000
            out.writerow(
                (
                    f"R{i:09d}", _name(rng), rng.choice("男女"), f"16{i:09d}", school, major,
                    f"{major[:2]}24{i % 7:02d}", teachers[teacher], f"14{teacher:09d}",
                    _name(rng), f"17{i:09d}", f"{city}名册测试{company:04d}有限公司", industry,
                    POSITIONS[industry], f"{city}某区某路{i % 99 + 1}号",
                    f"{lat + rng.uniform(-0.1, 0.1):.6f}", f"{lng + rng.uniform(-0.1, 0.1):.6f}",
                    500, "08:30", "17:30", "1-5", "2026-02-01", "2026-07-31",
                    rng.choice((3000, 3500, 4000)), rng.choice(("是", "否")),
                )
            )  # fmt: skip
    return path


def run(url: str, *, rows: int, workdir: Path, log=print) -> dict:
    found = optional("api.commands.roster", "import_file")
    if found is None:
        return {"import": NOT_BUILT}
    (import_file,) = found
    path = write_csv(workdir / f"roster-{rows}.csv", rows)
    settings = bench_settings(url)
    engine = make_engine(url)
    try:
        first, (roster, _) = timed(import_file, settings, engine, path)
        again, _ = timed(import_file, settings, engine, path)  # re-import: nothing changes
    finally:
        engine.dispose()
    result = {
        "rows": rows,
        "rejected": len(roster.errors),
        "seconds": round(first, 2),
        "rows_per_s": round(rows / first),
        "reimport_seconds": round(again, 2),
        "reimport_rows_per_s": round(rows / again),
    }
    again_rate = result["reimport_rows_per_s"]
    log(f"  roster import: {result['rows_per_s']} rows/s (re-import {again_rate})")
    return result
