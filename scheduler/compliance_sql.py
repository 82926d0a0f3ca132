"""SQL that narrows the daily compliance check to the placements each rule might flag.

Every rule's decision stays in core.compliance; these queries only pick candidates (a superset
of the violations) so that Python evaluates thousands of placements, not a province. Check-ins
of the lookback window are summed once per (placement, day) into a temporary table.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Integer,
    MetaData,
    Table,
    case,
    cast,
    false,
    func,
    insert,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session

from core.calendar import holiday_name
from core.compliance_facts import matched
from core.compliance_unknown import unknown_conditions, years_later
from core.due import active_on
from core.settings import ComplianceSettings, Settings
from models import CheckIn, Company, Placement, Student, Ticket
from models.types import AwareDateTime
from scheduler.absences import analyze_temp

_meta = MetaData()
DAYS = Table(
    "tmp_comp_days",
    _meta,
    Column("day", Date, primary_key=True),
    Column("bit", BigInteger),  # 1 << (day - first day of the window): a placement's days
    Column("week", Integer),  # ISO year * 100 + ISO week
    Column("morning", AwareDateTime()),  # night_end on that day: earlier is night
    Column("evening", AwareDateTime()),  # night_start on that day: later is night
    Column("holiday", Boolean),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
DAY_SUMS = Table(
    "tmp_comp_day_sums",
    _meta,
    Column("placement_id", Integer, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("week", Integer),
    Column("minutes", Integer),  # first-to-last check-in less the break, never below zero
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
# Placement ids a later statement joins (instead of IN lists of thousands of parameters).
IDS = Table(
    "tmp_comp_ids",
    _meta,
    Column("placement_id", Integer, primary_key=True),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
TEMP_TABLES = (DAYS, DAY_SUMS, IDS)
MASK_DAYS = 62  # windows up to this many days fit a placement's days in one BIGINT


def drop_temp_tables(session: Session) -> None:
    for table in TEMP_TABLES:
        session.execute(text(f"DROP TABLE IF EXISTS {table.name}"))


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _minutes_between(session: Session, first, last):
    if _dialect(session) == "sqlite":
        return cast((func.julianday(last) - func.julianday(first)) * 1440, Integer)
    return cast(func.extract("epoch", last - first) / 60, Integer)


def active(session: Session, today: date) -> ColumnElement[bool]:
    return active_on(today, _dialect(session))


def _fill_days(session: Session, settings: Settings, since: date, today: date) -> None:
    cfg, tz = settings.compliance, settings.tz
    rows, day = [], since
    while day <= today:
        iso = day.isocalendar()
        rows.append(
            dict(
                day=day,
                bit=1 << min((day - since).days, MASK_DAYS),
                week=iso.year * 100 + iso.week,
                morning=datetime.combine(day, cfg.night_end, tz),
                evening=datetime.combine(day, cfg.night_start, tz),
                holiday=holiday_name(day, settings) is not None,
            )
        )
        day += timedelta(days=1)
    session.execute(insert(DAYS), rows)


def load_rows(session: Session, table: Table, rows) -> None:
    """Append `rows` (tuples in the table's column order) to a temporary table at the driver's
    speed: COPY on PostgreSQL, sqlite3's own executemany on SQLite (SQLAlchemy's per-row
    parameter processing cost more than the inserts at half a million rows)."""
    columns = ", ".join(c.name for c in table.columns)
    raw = session.connection().connection.driver_connection
    if _dialect(session) == "postgresql":
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in table.columns)
    cursor = raw.cursor()
    try:
        cursor.executemany(f"INSERT INTO {table.name} ({columns}) VALUES ({marks})", rows)
    finally:
        cursor.close()


def load_ids(session: Session, ids) -> None:
    """tmp_comp_ids := ids."""
    session.execute(text(f"DELETE FROM {IDS.name}"))
    load_rows(session, IDS, ((pid,) for pid in ids))
    analyze_temp(session, IDS)


def _bits(mask, n: int):
    """How many of the n low bits of an integer SQL expression are set."""
    return sum((mask.op(">>")(i)).op("&")(1) for i in range(n))


def _run_longer_than(mask, days: int):
    """True where the mask has more than `days` consecutive bits set."""
    run = mask
    for i in range(1, days + 1):
        run = run.op("&")(mask.op(">>")(i))
    return run != 0


def checkin_candidates(
    session: Session, settings: Settings, since: date, today: date
) -> CheckinCandidates:
    """Placements whose check-ins may break night_work, overtime, holiday_work or no_rest_day.

    One pass over the window's check-ins, one row per placement: its days as a bit mask (runs
    of consecutive days are runs of bits), its night and holiday check-ins, and whether any day
    has two check-ins (only such a day can be long). Only those placements' days are then
    summed for overtime.
    """
    cfg = settings.compliance
    drop_temp_tables(session)
    conn = session.connection()
    for table in TEMP_TABLES:
        table.create(conn)
    _fill_days(session, settings, since, today)
    analyze_temp(session, DAYS)
    d, c = DAYS.c, CheckIn
    span = (today - since).days + 1
    night = func.sum(case((or_(c.at < d.morning, c.at > d.evening), 1), else_=0))
    holiday = func.sum(case((d.holiday.is_(True), 1), else_=0))
    if span > MASK_DAYS:
        days = func.count(c.day.distinct())
    elif _dialect(session) == "postgresql":
        days = func.bit_or(d.bit)
    else:  # SQLite has no bit_or(): distinct powers of two add up to the same mask
        days = func.sum(d.bit.distinct())
    per = (
        select(
            c.placement_id,
            func.count().label("n"),
            days.label("days"),
            night.label("night"),
            holiday.label("holiday"),
        )
        .join(DAYS, d.day == c.day)
        .where(c.day >= since, c.day <= today)
        .group_by(c.placement_id)
        .subquery("per_placement")
    )
    m = per.c.days
    if span <= MASK_DAYS:
        multi, long_run = per.c.n > _bits(m, span), _run_longer_than(m, cfg.max_consecutive_days)
    else:  # days counted, not masked: every placement with enough days is a candidate
        multi, long_run = per.c.n > m, m > cfg.max_consecutive_days
    flags = {
        "night_work": per.c.night > 0,
        "holiday_work": per.c.holiday > 0,
        "overtime": multi,
        "no_rest_day": long_run,
    }
    rules, conds = list(flags), list(flags.values())
    stmt = select(per.c.placement_id, m, *(case((f, 1), else_=0) for f in conds)).where(or_(*conds))
    out = CheckinCandidates({rule: set() for rule in rules})
    for pid, mask, *hits in session.execute(stmt):
        for rule, hit in zip(rules, hits, strict=True):
            if hit:
                out.rules[rule].add(pid)
        if hits[-1] and span <= MASK_DAYS:
            out.days[pid] = mask
    out.timed = out.rules["night_work"] | out.rules["holiday_work"] | out.rules["overtime"]
    for pid in out.timed:
        out.days.pop(pid, None)
    out.rules["overtime"] = _long_days(session, cfg, since, today, out.rules["overtime"])
    return out


@dataclass
class CheckinCandidates:
    """Per check-in rule, the placements it may flag; which of them need their check-ins read
    (`timed`: a night or holiday check-in, or two on one day), and for the others, the days
    they checked in on (`days`: a bit mask, bit i for the window's day i).

    A placement outside `timed` checked in at most once a day, between night_end and
    night_start of that day, on no holiday: the rule book's check-in rules can then learn
    nothing from its check-ins but their days (night_work counts night check-ins, overtime
    needs two on a day, holiday_work a holiday), so the sweep hands them one check-in at noon
    per day instead of reading and converting every row. The table test's check-in rows run
    through both paths.
    """

    rules: dict[str, set[int]]
    timed: set[int] = field(default_factory=set)
    days: dict[int, int] = field(default_factory=dict)


def _long_days(session, cfg: ComplianceSettings, since: date, today: date, ids: set) -> set:
    """Of the placements with two check-ins on some day: those whose days or weeks may be long."""
    if not ids:
        return set()
    load_ids(session, sorted(ids))
    d, c = DAYS.c, CheckIn
    span = _minutes_between(session, func.min(c.at), func.max(c.at))
    minutes = case((span > cfg.break_minutes, span - cfg.break_minutes), else_=0)
    grouped = (
        select(c.placement_id, c.day, func.min(d.week), minutes)
        .join(DAYS, d.day == c.day)
        .join(IDS, IDS.c.placement_id == c.placement_id)
        .where(c.day >= since, c.day <= today)
        .group_by(c.placement_id, c.day)
        .having(func.count() > 1)
    )
    columns = ["placement_id", "day", "week", "minutes"]
    session.execute(insert(DAY_SUMS).from_select(columns, grouped))
    analyze_temp(session, DAY_SUMS)
    s = DAY_SUMS.c
    day_max, week_max = cfg.max_day_hours * 60, cfg.max_week_hours * 60
    stmt = (
        select(s.placement_id)
        .group_by(s.placement_id, s.week)
        .having(or_(func.max(s.minutes) > day_max, func.sum(s.minutes) > week_max))
    )
    return set(session.scalars(stmt.distinct()).all())


def schedules(session: Session, today: date) -> list[tuple[time, time, int]]:
    """The distinct (shift start, shift end, workdays) of active placements: a few dozen."""
    stmt = select(Placement.shift_start, Placement.shift_end, Placement.workdays_mask).where(
        active(session, today)
    )
    return [tuple(r) for r in session.execute(stmt.distinct())]


def _like_any(columns, words: list[str]):
    terms = [c.ilike(f"%{w}%") for c in columns for w in words if w]
    return or_(*terms) if terms else false()


def _mentioning(session: Session, today: date, words: list[str], *columns):
    """SQL true where one of the columns holds one of the words, decided by the rule book's
    own matching (core.compliance_facts.matched) over each column's distinct values among the
    active placements: a few thousand texts, instead of every word tried on every placement."""
    terms = []
    for column in columns:
        stmt = select(column).distinct()
        if column.table is Placement.__table__:
            stmt = stmt.where(active(session, today))  # else every company: no join needed
        hits = sorted(t for t in session.scalars(stmt) if t and matched(words, t))
        if hits:
            terms.append(column.in_(hits))
    return or_(*terms) if terms else false()


def placement_candidates(
    session: Session,
    settings: Settings,
    today: date,
    flagged_schedules: dict[str, set],
    interns: Interns,
) -> dict[str, set[int]]:
    """Placements each placement-data rule might flag (schedules decided in Python)."""
    cfg = settings.compliance
    p, st = Placement, Student
    minor_born_after = date(today.year - cfg.adult_age, 1, 1) - timedelta(days=370)
    wages = [w for w in cfg.min_wage.values() if w]
    salary = p.monthly_salary.is_not(None)
    below = [p.monthly_salary < max(wages)] if wages else []
    queries = {
        "under_16": st.birth_date.is_not(None)
        & (years_later(_dialect(session), st.birth_date, cfg.min_age, 2) > p.start_date),
        "first_year": p.grade == 1,
        "banned_venue": _mentioning(
            session, today, cfg.banned_venues, Company.name, p.industry, p.position
        ),
        "intermediary": p.arranged_by == "agency",
        "minor_banned_work": (st.birth_date > minor_born_after)
        & _mentioning(session, today, cfg.minor_banned_work, p.industry, p.position),
        "no_agreement": p.agreement_signed.is_(False),
        "no_insurance": p.insured.is_(False),
        "no_guardian_consent": p.guardian_consent.is_(False)
        & (years_later(_dialect(session), st.birth_date, cfg.adult_age, 2) > p.start_date),
        "low_pay": salary
        & or_(
            *below,
            p.post_wage.is_not(None) & (p.monthly_salary * 1.0 < p.post_wage * cfg.pay_ratio),
        ),
    }
    for rule, combos in flagged_schedules.items():
        if combos:
            key = tuple_(p.shift_start, p.shift_end, p.workdays_mask)
            queries[rule] = key.in_(sorted(combos))
    base = (
        select(p.id)
        .join(st, st.id == p.student_id)
        .join(Company, Company.id == p.company_id)
        .where(active(session, today))
    )
    # One pass over the active placements, a flag per rule, instead of one scan per rule.
    rules, conds = list(queries), list(queries.values())
    flags = [case((cond, True), else_=False) for cond in conds]
    out: dict[str, set[int]] = {rule: set() for rule in rules}
    for pid, *hits in session.execute(base.add_columns(*flags).where(or_(*conds))):
        for rule, hit in zip(rules, hits, strict=True):
            if hit:
                out[rule].add(pid)
    out["intern_ratio"] = set(interns.crowded)
    return out


@dataclass(frozen=True)
class Interns:
    """Active interns per company and per (company, position), as of one day, and the active
    placements whose company or post holds more interns than intern_ratio allows."""

    company: dict[int, int]
    post: dict[tuple[int, str], int]
    crowded: set[int] = field(default_factory=set)


def intern_tallies(session: Session, cfg: ComplianceSettings, today: date) -> Interns:
    """The active placements read once for a whole sweep: interns counted per company and post
    in Python (one scan, instead of the same two aggregates for the counts and again joined
    back to every placement for the candidates). Staff per company is the largest
    company_headcount among its active placements."""
    p = Placement
    rows = session.execute(
        select(p.id, p.company_id, p.position, p.company_headcount, p.post_headcount).where(
            active(session, today)
        )
    ).all()
    company: Counter = Counter()
    post: Counter = Counter()
    staff: dict[int, int] = {}
    for _, cid, position, headcount, _ in rows:
        company[cid] += 1
        post[(cid, position)] += 1
        if headcount is not None and headcount > staff.get(cid, -1):
            staff[cid] = headcount
    crowded = set()
    for pid, cid, position, _, post_headcount in rows:
        most = staff.get(cid)
        if (most is not None and company[cid] > most * cfg.company_ratio) or (
            post_headcount is not None and post[(cid, position)] > post_headcount * cfg.post_ratio
        ):
            crowded.add(pid)
    return Interns(dict(company), dict(post), crowded)


def fee_candidates(session: Session, cfg: ComplianceSettings, today: date, since_at) -> set[int]:
    """Active placements of students with a current ticket about fees, deposits or papers."""
    about = or_(Ticket.category == "fees", _like_any((Ticket.description,), cfg.fee_words))
    current = or_(Ticket.status != "resolved", Ticket.created_at >= since_at)
    stmt = (
        select(Placement.id)
        .join(Ticket, Ticket.student_id == Placement.student_id)
        .where(active(session, today), about, current)
    )
    return set(session.scalars(stmt.distinct()).all())


__all__ = ["unknown_conditions"]
