"""Seed-scale province generator: the deck's counts, placements across real cities, fast loads.

People, companies and placements are generated in Python and COPY-loaded; the 90 days of
check-ins, journals and roll-ups are generated inside the database (bench.history).
"""

from __future__ import annotations

import random
import time as clock
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from bench.load import copy_rows, fast_load, fix_sequences
from bench.names import (
    BRAND,
    CITIES,
    GIVEN,
    INDUSTRIES,
    MAJORS,
    POSITIONS,
    SCHOOL_KINDS,
    SURNAMES,
)
from models import (
    ChannelAccount,
    Company,
    Guardianship,
    Major,
    Parent,
    Placement,
    School,
    SchoolClass,
    Student,
    Teacher,
)
from models.db import make_engine, refresh_statistics

# The deck's province (工学云, 2019-03-25).
DECK = {
    "schools": 369,
    "students": 1_451_144,
    "teachers": 96_585,
    "companies": 112_374,
    "placed": 542_092,
}
SHIFTS = ((time(8, 0), time(17, 0)), (time(8, 30), time(17, 30)), (time(9, 0), time(18, 0)))
WORKDAYS = (("1-5", 31), ("1-5", 31), ("1-5", 31), ("1-5", 31), ("1-6", 63), ("1-7", 127))
ARRANGED = ("school", "self", "agency")
STUDENT_OPENID = "oBenchStu{:012d}"  # the WeChat openid of a seeded student (by student id)
TEACHER_OPENID = "oBenchTea{:012d}"
PARENT_OPENID = "oBenchPar{:012d}"


@dataclass
class SeedPlan:
    scale: float = 1.0
    days: int = 90
    today: date = date(2026, 3, 2)  # a Monday; the sweeps run as of this day
    seed: int = 2019

    def count(self, key: str, floor: int = 1) -> int:
        return max(floor, round(DECK[key] * self.scale))


@dataclass
class SeedResult:
    plan: SeedPlan
    counts: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        plan = asdict(self.plan)
        plan["today"] = self.plan.today.isoformat()
        return {"plan": plan, "counts": self.counts, "seconds": self.seconds}


def loader_engine(url: str) -> Engine:
    """An engine tuned for bulk loads: no fsync on SQLite, async commit on PostgreSQL."""
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _fast(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        if url.startswith("sqlite"):
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA cache_size=-200000")
            cur.execute("PRAGMA temp_store=MEMORY")
        else:
            cur.execute("SET synchronous_commit = off")
            cur.execute("SET maintenance_work_mem = '256MB'")
        cur.close()
        if not url.startswith("sqlite"):
            dbapi_conn.commit()

    return engine


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """Split total into uneven positive parts (school sizes vary a lot in the deck)."""
    weights = [rng.lognormvariate(0, 0.6) for _ in range(parts)]
    scale = total / sum(weights)
    sizes = [max(1, int(w * scale)) for w in weights]
    sizes[0] += total - sum(sizes)
    return sizes


def _name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def seed(url: str, plan: SeedPlan, *, log=print) -> SeedResult:
    """Fill an empty, migrated database with a province of the plan's scale."""
    engine = loader_engine(url)
    result = SeedResult(plan)
    try:
        with engine.connect() as conn:
            if conn.execute(select(func.count()).select_from(Student)).scalar():
                raise RuntimeError("the bench database is not empty")
        t0 = clock.perf_counter()
        tables = [
            t.__table__
            for t in (
                School,
                Major,
                SchoolClass,
                Teacher,
                Student,
                Company,
                Placement,
                Parent,
                Guardianship,
                ChannelAccount,
            )
        ]
        with fast_load(engine, tables):
            _load_people(engine, plan, result, log)
        fix_sequences(engine, tables)
        result.seconds["people"] = round(clock.perf_counter() - t0, 2)
        log(f"  people and placements: {result.seconds['people']} s")

        from bench.history import generate_history

        t0 = clock.perf_counter()
        result.counts.update(generate_history(engine, plan, log=log))
        with engine.connect() as conn:  # as a roster import does (models.db)
            refresh_statistics(conn)
            conn.commit()
        result.seconds["history"] = round(clock.perf_counter() - t0, 2)
        log(f"  {plan.days} days of history: {result.seconds['history']} s")
    finally:
        engine.dispose()
    return result


def _load_people(engine: Engine, plan: SeedPlan, result: SeedResult, log) -> None:
    rng = random.Random(plan.seed)
    now = datetime(2025, 9, 1, tzinfo=UTC)
    n_schools = plan.count("schools", 2)
    n_students = plan.count("students", 20)
    n_teachers = max(n_schools, plan.count("teachers"))
    n_companies = plan.count("companies", 5)
    n_placed = min(n_students, plan.count("placed", 10))
    counts = result.counts

    # Schools, each in a real city, with majors and classes.
    pairs = [(c, k) for k in SCHOOL_KINDS for c in CITIES]
    schools = []
    for i in range(n_schools):
        (city, _, _), kind = pairs[i % len(pairs)]
        name = city.removesuffix("市") + kind + ("" if i < len(pairs) else f"（{i // len(pairs)}）")
        schools.append((i + 1, name, city, now))
    counts["schools"] = copy_rows(
        engine, School.__table__, ["id", "name", "city", "created_at"], schools
    )

    majors, classes, school_majors, school_classes = [], [], [], []
    for sid in range(1, n_schools + 1):
        picks = rng.sample(range(len(MAJORS)), 8)
        school_majors.append([])
        school_classes.append([])
        for m in picks:
            majors.append((len(majors) + 1, sid, MAJORS[m][0]))
            school_majors[-1].append((len(majors), m))
            for k in range(3):
                classes.append(
                    (len(classes) + 1, sid, len(majors), f"{MAJORS[m][0][:2]}23{k + 1:02d}")
                )
                school_classes[-1].append((len(classes), len(majors), m))
    counts["majors"] = copy_rows(engine, Major.__table__, ["id", "school_id", "name"], majors)
    counts["classes"] = copy_rows(
        engine, SchoolClass.__table__, ["id", "school_id", "major_id", "name"], classes
    )

    student_sizes = _split(n_students, n_schools, rng)
    teacher_sizes = [max(1, round(s * n_teachers / n_students)) for s in student_sizes]
    teacher_first = []
    teachers = []
    for sid, size in enumerate(teacher_sizes, start=1):
        teacher_first.append(len(teachers) + 1)
        for _ in range(size):
            tid = len(teachers) + 1
            teachers.append((tid, sid, _name(rng) + "老师", f"13{tid:09d}", now))
    counts["teachers"] = copy_rows(
        engine, Teacher.__table__, ["id", "school_id", "name", "phone", "created_at"], teachers
    )

    companies = []
    for cid in range(1, n_companies + 1):
        i = cid - 1
        city = CITIES[i % len(CITIES)][0]
        industry = INDUSTRIES[(i // len(CITIES)) % len(INDUSTRIES)]
        j = i // (len(CITIES) * len(INDUSTRIES))
        brand = BRAND[j % len(BRAND)] + BRAND[(j // len(BRAND)) % len(BRAND)]
        suffix = "" if j < len(BRAND) ** 2 else str(j // len(BRAND) ** 2)
        name = f"{city.removesuffix('市')}{brand}{industry}{suffix}有限公司"
        companies.append((cid, name, industry, city))
    counts["companies"] = copy_rows(
        engine, Company.__table__, ["id", "name", "industry", "city"], companies
    )
    company_city = {c[0]: next(x for x in CITIES if x[0] == c[3]) for c in companies}
    company_industry = {c[0]: c[2] for c in companies}
    log(f"  {n_schools} schools, {len(teachers)} teachers, {n_companies} companies")

    placements, parents, links, accounts = [], [], [], []
    sid_of = []
    for school_idx, size in enumerate(student_sizes):
        sid_of.extend([school_idx + 1] * size)

    def student_rows():
        for i in range(n_students):
            stid = i + 1
            school_id = sid_of[i]
            class_id, major_id, m = school_classes[school_id - 1][i % 24]
            t0, nt = teacher_first[school_id - 1], teacher_sizes[school_id - 1]
            yield (
                stid,
                f"{2023}{school_id:04d}{stid:08d}",
                _name(rng),
                "男" if rng.random() < 0.56 else "女",
                f"15{stid:09d}",
                date(2004, 1, 1) + timedelta(days=rng.randrange(1000)),
                school_id,
                major_id,
                class_id,
                t0 + (i // 24) % nt,
                now,
            )
            if (stid * n_placed) // n_students != ((stid - 1) * n_placed) // n_students:
                _placement(stid, school_id, m)

    def _placement(stid, school_id, m):
        pid = len(placements) + 1
        cid = rng.randrange(1, n_companies + 1)
        city, clat, clng = company_city[cid]
        lat = clat + rng.uniform(-0.12, 0.12)
        lng = clng + rng.uniform(-0.12, 0.12)
        shift_start, shift_end = rng.choice(SHIFTS)
        spec, mask = rng.choice(WORKDAYS)
        industry = company_industry[cid]
        start = plan.today - timedelta(days=rng.randrange(20, 200))
        salary = rng.choice((2800, 3200, 3500, 4000, 4500, 5500))
        end = plan.today + timedelta(days=rng.randrange(30, 150))
        placements.append(
            (
                pid, stid, school_id, cid, industry, POSITIONS[industry],
                f"{city}某区某路{pid % 999 + 1}号", city, lat, lng, "gcj02", lat, lng,
                rng.choice((300, 500, 500, 500, 1000)), shift_start, shift_end, spec, mask, start,
                end, salary, rng.random() < 0.7, rng.random() < 0.9, rng.random() < 0.85,
                MAJORS[m][1] == industry or rng.random() < 0.5, now, now,
                # Compliance facts (SPEC 12): a grade, how it was arranged, consent, the post's
                # wage and headcounts, with a few lapses of each kind.
                1 if rng.random() < 0.005 else 3, rng.choices(ARRANGED, (80, 18, 2))[0],
                rng.random() < 0.95, int(round(salary / rng.uniform(0.75, 1.1), -2)),
                rng.choice((None, 50, 200, 1000)), rng.choice((None, 10, 40, 100)),
            )
        )  # fmt: skip
        parents.append((pid, _name(rng), f"18{pid:09d}"))
        links.append((stid, pid))
        accounts.append(("wechat", STUDENT_OPENID.format(stid), "student", stid, school_id))
        if rng.random() < 0.6:
            accounts.append(("wechat", PARENT_OPENID.format(pid), "parent", pid, school_id))

    counts["students"] = copy_rows(
        engine,
        Student.__table__,
        ["id", "student_no", "name", "gender", "phone", "birth_date", "school_id", "major_id",
         "class_id", "teacher_id", "created_at"],
        student_rows(),
    )  # fmt: skip
    counts["placements"] = copy_rows(
        engine,
        Placement.__table__,
        ["id", "student_id", "school_id", "company_id", "industry", "position", "address", "city",
         "latitude", "longitude", "coord_system", "norm_lat", "norm_lng", "radius_m",
         "shift_start", "shift_end", "workdays", "workdays_mask", "start_date", "end_date",
         "monthly_salary", "arranged_by_school", "agreement_signed", "insured", "matches_major",
         "created_at", "updated_at", "grade", "arranged_by", "guardian_consent", "post_wage",
         "company_headcount", "post_headcount"],
        placements,
    )  # fmt: skip
    counts["parents"] = copy_rows(engine, Parent.__table__, ["id", "name", "phone"], parents)
    copy_rows(engine, Guardianship.__table__, ["student_id", "parent_id"], links)
    for t in teachers:
        accounts.append(("wechat", TEACHER_OPENID.format(t[0]), "teacher", t[0], t[1]))
    counts["channel_accounts"] = copy_rows(
        engine,
        ChannelAccount.__table__,
        ["id", "channel", "external_id", "person_kind", "person_id", "school_id", "language",
         "display_name", "active", "bound_at"],
        ((i + 1, *a, "zh", "", True, now) for i, a in enumerate(accounts)),
    )  # fmt: skip
    log(f"  {counts['students']} students, {counts['placements']} placements")
