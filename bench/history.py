"""Days of check-ins, journals, tickets and their roll-ups, generated inside the database.

One INSERT ... SELECT over placements x days per table: no Python loop over millions of rows.
Attendance is deterministic per (placement, day): 42% of students nearly always check in, 30%
about half the time, 28% rarely, which gives the deck's ~57% daily rate and realistic streaks
of absence for the escalation sweeps.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from bench.load import copy_rows, fast_load, local_midnight_utc
from models import CheckIn, Journal, SchoolDay, Ticket
from models.tickets import TICKET_CATEGORIES

TZ = ZoneInfo("Asia/Shanghai")
DAILY_TEXT = (
    "今天在车间跟着师傅学习设备点检和保养流程，"
    "记录了三台设备的运行参数，下午整理了工具台账，收获很多。"
)
WEEKLY_TEXT = DAILY_TEXT * 4
TICKET_TEXTS = {
    "wages": "公司这个月工资拖欠了半个月还没发。",
    "overtime": "最近每天加班到晚上十点，没有加班费。",
    "safety": "车间的防护设备不够，担心安全。",
    "fees": "中介要求交两千元押金。",
    "housing": "宿舍八个人一间，没有热水。",
    "other": "想咨询一下实习证明怎么开。",
}

# Hashes of (placement id, day number): pure integer arithmetic, identical on both databases.
_H = "((CAST(p.id AS BIGINT) * {a} + d.n * {b}) % 1000003) * 7919 % 1000"
DILIGENCE = "(CAST(p.id AS BIGINT) * 7919 % 100)"
PRESENT = (
    f"{_H.format(a=48271, b=16807)} < CASE WHEN {DILIGENCE} < 42 THEN 950 "
    f"WHEN {DILIGENCE} < 72 THEN 500 ELSE 100 END"
)
MINUTE = f"({_H.format(a=69621, b=31)} % 50 - 30)"  # -30 .. +19 around shift start
SPREAD = _H.format(a=16807, b=48271)
DISTANCE = f"(CASE WHEN {SPREAD} < 950 THEN {SPREAD} * 0.3 ELSE 600 + {SPREAD} * 2 END)"
DUE = "(d.makeup = 1 OR (d.holiday = 0 AND (p.workdays_mask & d.bit) <> 0))"
ACTIVE = "d.day >= p.start_date AND d.day <= p.end_date"

DIALECT = {
    "sqlite": {
        "shift_min": "(CAST(substr(p.shift_start, 1, 2) AS INTEGER) * 60 "
        "+ CAST(substr(p.shift_start, 4, 2) AS INTEGER))",
        "at": "strftime('%Y-%m-%d %H:%M:%S.000000', d.utc0, '+' || ({m}) || ' minutes')",
        "week_end": "date(period_start, '+6 days')",
        "local_day": "date(created_at, '+8 hours')",
        "true": "1",
        "on_conflict": "WHERE true ON CONFLICT",
    },
    "postgresql": {
        "shift_min": "(EXTRACT(HOUR FROM p.shift_start)::int * 60 "
        "+ EXTRACT(MINUTE FROM p.shift_start)::int)",
        "at": "d.utc0 + make_interval(mins => CAST(({m}) AS INTEGER))",
        "week_end": "period_start + 6",
        "local_day": "(created_at AT TIME ZONE 'Asia/Shanghai')::date",
        "true": "true",
        "on_conflict": "ON CONFLICT",
    },
}


def _days_table(engine: Engine, plan) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_days"))
        kind = "TIMESTAMP WITH TIME ZONE" if engine.dialect.name == "postgresql" else "TEXT"
        conn.execute(
            text(
                "CREATE TABLE bench_days (n INTEGER PRIMARY KEY, day DATE NOT NULL, "
                "bit INTEGER NOT NULL, holiday INTEGER NOT NULL, makeup INTEGER NOT NULL, "
                f"is_today INTEGER NOT NULL, utc0 {kind} NOT NULL)"
            )
        )
    rows = []
    for n in range(plan.days):
        day = plan.today - timedelta(days=plan.days - 1 - n)
        official = chinese_calendar.is_workday(day)
        festival = chinese_calendar.get_holiday_detail(day)[1] is not None
        utc0 = local_midnight_utc(day, TZ)
        if engine.dialect.name == "sqlite":
            utc0 = utc0.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S")
            day = day.isoformat()
        rows.append(
            {
                "n": n,
                "day": day,
                "bit": 1 << (plan.today - timedelta(days=plan.days - 1 - n)).weekday(),
                "holiday": int(festival and not official),
                "makeup": int(
                    official and (plan.today - timedelta(plan.days - 1 - n)).weekday() >= 5
                ),
                "is_today": int(n == plan.days - 1),
                "utc0": utc0,
            }
        )
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO bench_days "
                "VALUES (:n, :day, :bit, :holiday, :makeup, :is_today, :utc0)"
            ),
            rows,
        )


def generate_history(engine: Engine, plan, *, log=print) -> dict:
    """Check-ins (today's only before 09:20), journals, tickets and the school_days roll-up."""
    d = DIALECT[engine.dialect.name]
    _days_table(engine, plan)
    at = d["at"].format(m=f"{d['shift_min']} + {MINUTE}")
    big = [CheckIn.__table__, Journal.__table__]
    with fast_load(engine, big):
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO checkins (school_id, student_id, placement_id, day, at, kind, "
                    "raw_lat, raw_lng, datum, norm_lat, norm_lng, distance_m, within_fence, "
                    "source, accuracy_m, label, channel, created_at) "
                    f"SELECT p.school_id, p.student_id, p.id, d.day, {at}, 'start', "
                    f"p.norm_lat + {DISTANCE} / 111320.0, p.norm_lng, 'gcj02', "
                    f"p.norm_lat + {DISTANCE} / 111320.0, p.norm_lng, {DISTANCE}, "
                    f"{DISTANCE} <= p.radius_m, 'location', 30.0, '', 'wechat', {at} "
                    f"FROM placements p JOIN bench_days d ON {ACTIVE} "
                    f"WHERE {DUE} AND {PRESENT}"
                )
            )
        log("  check-ins loaded")
        daily_at = d["at"].format(m="1200")
        weekly_at = d["at"].format(m="6 * 1440 + 1260")
        with engine.begin() as conn:
            # 日报 from about 12% of the students present (the deck: 36,020 a day).
            conn.execute(
                text(
                    "INSERT INTO journals (school_id, student_id, kind, period_start, text, "
                    "char_count, keywords, status, score, comment, submitted_at, graded_by) "
                    f"SELECT p.school_id, p.student_id, 'daily', d.day, :daily, :dn, '[]', "
                    f"'submitted', NULL, '', {daily_at}, '' "
                    f"FROM placements p JOIN bench_days d ON {ACTIVE} "
                    f"WHERE d.is_today = 0 AND {DUE} AND {PRESENT} "
                    f"AND {_H.format(a=31, b=69621)} < 120"
                ),
                {"daily": DAILY_TEXT, "dn": len(DAILY_TEXT)},
            )
            # 周记 for every finished week, from the diligent students and half the others.
            conn.execute(
                text(
                    "INSERT INTO journals (school_id, student_id, kind, period_start, text, "
                    "char_count, keywords, status, score, comment, submitted_at, graded_by) "
                    f"SELECT p.school_id, p.student_id, 'weekly', d.day, :weekly, :wn, '[]', "
                    f"'graded', 80 + p.id % 20, '很好', {weekly_at}, 'teacher' "
                    f"FROM placements p JOIN bench_days d ON {ACTIVE} "
                    f"WHERE d.bit = 1 AND d.n + 6 < :last "
                    f"AND ({DILIGENCE} < 42 OR {_H.format(a=31, b=7)} < 500)"
                ),
                {"weekly": WEEKLY_TEXT, "wn": len(WEEKLY_TEXT), "last": plan.days - 1},
            )
        log("  journals loaded")
    tickets = _tickets(engine, plan)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM school_days"))
        conn.execute(
            text(
                "INSERT INTO school_days (school_id, day, checkins, students_checked_in, "
                "journals, tickets) "
                "SELECT school_id, day, SUM(c), SUM(s), SUM(j), SUM(t) FROM ("
                "SELECT school_id, day, COUNT(*) AS c, COUNT(DISTINCT student_id) AS s, "
                "0 AS j, 0 AS t FROM checkins GROUP BY school_id, day "
                "UNION ALL SELECT school_id, CASE WHEN kind = 'daily' THEN period_start "
                f"ELSE {d['week_end']} END, 0, 0, COUNT(*), 0 FROM journals "
                f"GROUP BY school_id, CASE WHEN kind = 'daily' THEN period_start "
                f"ELSE {d['week_end']} END "
                f"UNION ALL SELECT school_id, {d['local_day']}, 0, 0, 0, COUNT(*) "
                f"FROM tickets GROUP BY school_id, {d['local_day']}"
                ") x GROUP BY school_id, day"
            )
        )
        conn.execute(text("DROP TABLE bench_days"))
        counts = {
            "checkins": conn.execute(select(func.count()).select_from(CheckIn)).scalar(),
            "journals": conn.execute(select(func.count()).select_from(Journal)).scalar(),
            "tickets": tickets,
            "school_days": conn.execute(select(func.count()).select_from(SchoolDay)).scalar(),
        }
    return counts


def _tickets(engine: Engine, plan) -> int:
    """About 40 tickets a day province-wide (scaled), spread over the placed students."""
    rng = random.Random(plan.seed + 1)
    with engine.connect() as conn:
        placed = conn.execute(text("SELECT student_id, school_id FROM placements")).all()
    per_day = max(1, round(40 * plan.scale))
    rows = []
    for n in range(plan.days):
        day = plan.today - timedelta(days=plan.days - 1 - n)
        for _ in range(per_day):
            student_id, school_id = rng.choice(placed)
            category = rng.choice((*TICKET_CATEGORIES[:5], "housing", "other"))
            at = datetime.combine(day, time(rng.randrange(8, 9 if n == plan.days - 1 else 22)), TZ)
            at = at.astimezone(UTC) + timedelta(minutes=rng.randrange(60))
            rows.append(
                (
                    school_id,
                    student_id,
                    category,
                    "urgent" if category == "safety" else "normal",
                    TICKET_TEXTS.get(category, TICKET_TEXTS["other"]),
                    "resolved" if n < plan.days - 7 else "open",
                    category == "safety",
                    at,
                    at,
                )
            )
    return copy_rows(
        engine,
        Ticket.__table__,
        ["school_id", "student_id", "category", "severity", "description", "status",
         "notify_parent", "created_at", "updated_at"],
        rows,
    )  # fmt: skip
