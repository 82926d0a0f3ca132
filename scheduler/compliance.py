"""The daily compliance check: every active placement against the rule book, set-based.

SQL narrows each rule to its candidates (scheduler.compliance_sql); core.compliance decides for
those alone; the findings table is then reconciled in a few statements: new findings inserted,
still-true ones touched (a resolved one reopens), open ones no longer true resolved, waived
ones left waived. A run marker per day makes the scheduler's run happen once, whichever of
several processes gets there first.
"""

from __future__ import annotations

import gc
import json
from collections import defaultdict
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta

from sqlalchemy import (
    JSON,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from core.calendar import holiday_name
from core.compliance import RULES, evaluate
from core.compliance_facts import VIOLATION, Checkin, Context, Facts, TicketFact
from core.settings import Settings
from models import (
    CheckIn,
    Company,
    ComplianceRun,
    ComplianceTally,
    Finding,
    Placement,
    Student,
    Ticket,
)
from models.db import key_checks_planned_once
from models.types import AwareDateTime
from scheduler import compliance_sql as q
from scheduler.compliance_notify import notify_teachers
from scheduler.days import daily_moment_due, local
from scheduler.fanout import chunks
from scheduler.outbox_sql import tune_for_bulk

CHECKIN_RULES = ("night_work", "overtime", "holiday_work", "no_rest_day")
SCHEDULE_RULES = ("night_work", "overtime", "no_rest_day")
FACT_CHUNK = 5000  # placements decided at a time
_meta = MetaData()
FOUND = Table(
    "tmp_comp_found",
    _meta,
    Column("placement_id", Integer, primary_key=True),
    Column("rule", String(24), primary_key=True),
    Column("detail", Text),
    Column("evidence", JSON),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)


def sweep_compliance(session: Session, settings: Settings, now: datetime) -> dict[str, int]:
    """At [compliance] check_at: check every active placement, once a day."""
    cfg = settings.compliance
    day = daily_moment_due(now, settings, cfg.check_at) if cfg.enabled else None
    if day is None or not _claim(session, day, now):
        return {}
    return check_compliance(session, settings, now, day=day)


def _claim(session: Session, day: date, now: datetime) -> bool:
    """Insert the day's run marker; False when another process (or an earlier run) has it."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(ComplianceRun.__table__)
        .values(day=day, started_at=now, counts={})
        .on_conflict_do_nothing(index_elements=["day"])
    )
    result = session.execute(stmt, execution_options={"preserve_rowcount": True})
    return (result.rowcount or 0) > 0


def check_compliance(
    session: Session, settings: Settings, now: datetime, *, day: date | None = None
) -> dict[str, int]:
    """Check every active placement as of `now` (its local day); idempotent."""
    tune_for_bulk(session)
    today = day or local(now, settings).date()
    ctx = Context(today, settings.compliance, lambda d: holiday_name(d, settings))
    with _gc_paused():
        found = _violations(session, settings, ctx, now)
    counts = _reconcile(session, found, today, now)
    counts["notified"] = notify_teachers(session, settings, today, now)
    _write_tallies(session, settings, today)
    _record_run(session, today, now, counts)
    q.drop_temp_tables(session)
    return counts


# --- deciding ------------------------------------------------------------------------------


@contextmanager
def _gc_paused():
    """No cyclic garbage collection while the verdicts pile up: at seed scale the sweep holds
    hundreds of thousands of facts and verdicts (none in reference cycles), and each full
    collection walks them all again; collected once at the end instead."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _violations(session: Session, settings: Settings, ctx: Context, now: datetime) -> dict:
    """{(placement id, rule): verdict} for every violation among the candidates."""
    today = ctx.today
    checkin_sets = q.checkin_candidates(session, settings, ctx.since, today)
    by_checkins = checkin_sets.rules
    flagged = _flagged_schedules(q.schedules(session, today), ctx)
    wanted: dict[int, set[str]] = defaultdict(set)
    since_at = datetime.combine(ctx.since, time(0, 0), settings.tz)
    interns = q.intern_tallies(session, ctx.cfg, today)  # once: it reads every placement
    groups = {
        **q.placement_candidates(session, settings, today, flagged, interns),
        "fees_or_deposit": q.fee_candidates(session, ctx.cfg, today, since_at),
    }
    for rule, ids in by_checkins.items():
        groups[rule] = groups.get(rule, set()) | ids
    for rule, ids in groups.items():
        for pid in ids:
            wanted[pid].add(rule)
    need_checkins = set().union(*by_checkins.values()) - set(checkin_sets.days)
    # See q.CheckinCandidates: only the days of these placements' check-ins can matter.
    noon = time(12, 0, tzinfo=settings.tz)
    window = [ctx.since + timedelta(days=i) for i in range((today - ctx.since).days + 1)]
    at_noon = [Checkin(datetime.combine(day, noon), day) for day in window]
    day_only = {
        pid: [c for i, c in enumerate(at_noon) if mask >> i & 1]
        for pid, mask in checkin_sets.days.items()
    }
    need_tickets = groups["fees_or_deposit"]
    found: dict[tuple[int, str], object] = {}
    ids = sorted(wanted)
    q.load_ids(session, ids)
    for part in chunks(ids, FACT_CHUNK):
        facts = _facts(session, part, today, interns)
        checkins = _checkins(session, [p for p in part if p in need_checkins], ctx, settings)
        checkins.update((p, day_only[p]) for p in part if p in day_only)
        tickets = _tickets(session, [p for p in part if p in need_tickets], settings)
        for pid in part:
            if pid not in facts:
                continue
            verdicts = evaluate(
                facts[pid], checkins.get(pid, ()), tickets.get(pid, ()), ctx, sorted(wanted[pid])
            )
            for rule, verdict in verdicts.items():
                if verdict.status == VIOLATION:
                    found[(pid, rule)] = verdict
    return found


def _flagged_schedules(combos: Iterable[tuple], ctx: Context) -> dict[str, set]:
    """The (shift start, shift end, workdays) combinations each schedule rule flags."""
    flagged: dict[str, set] = {rule: set() for rule in SCHEDULE_RULES}
    for start, end, mask in combos:
        facts = Facts(0, ctx.today, ctx.today, "", "", "", "", start, end, mask)
        for rule in SCHEDULE_RULES:
            if RULES[rule].check(facts, (), (), ctx).status == VIOLATION:
                flagged[rule].add((start, end, mask))
    return flagged


# The placement columns Facts needs, in its order (plain rows: no ORM objects per placement).
_FACT_COLUMNS = (
    Placement.id, Placement.start_date, Placement.end_date, Company.name, Placement.industry,
    Placement.position, Placement.city, Placement.shift_start, Placement.shift_end,
    Placement.workdays_mask, Student.birth_date, Placement.grade, Placement.arranged_by,
    Placement.arranged_by_school, Placement.agreement_signed, Placement.insured,
    Placement.guardian_consent, Placement.monthly_salary, Placement.post_wage,
    Placement.company_headcount, Placement.post_headcount, Placement.company_id,
)  # fmt: skip


def _facts(session: Session, ids: list[int], today: date, interns: q.Interns) -> dict[int, Facts]:
    """The facts of the placements in tmp_comp_ids between ids[0] and ids[-1]."""
    p = Placement
    rows = session.execute(
        select(*_FACT_COLUMNS)
        .join(q.IDS, q.IDS.c.placement_id == p.id)
        .join(Student, Student.id == p.student_id)
        .join(Company, Company.id == p.company_id)
        .where(q.IDS.c.placement_id.between(ids[0], ids[-1]))
    ).all()
    out = {}
    for *values, company_id in rows:
        position = values[5]
        at_company = interns.company.get(company_id, 0)
        at_post = interns.post.get((company_id, position), 0)
        out[values[0]] = Facts(*values, at_company, at_post)
    return out


def _checkins(session: Session, ids: list[int], ctx: Context, settings: Settings) -> dict:
    out: dict[int, list[Checkin]] = defaultdict(list)
    if not ids:
        return out
    rows = session.execute(
        select(CheckIn.placement_id, CheckIn.at, CheckIn.day).where(
            CheckIn.placement_id.in_(ids), CheckIn.day >= ctx.since, CheckIn.day <= ctx.today
        )
    )
    tz = settings.tz
    for pid, at, day in rows:
        out[pid].append(Checkin(at.astimezone(tz), day))
    return out


def _tickets(session: Session, ids: list[int], settings: Settings) -> dict:
    out: dict[int, list[TicketFact]] = defaultdict(list)
    if not ids:
        return out
    rows = session.execute(
        select(Placement.id, Ticket)
        .join(Ticket, Ticket.student_id == Placement.student_id)
        .where(Placement.id.in_(ids))
    )
    for pid, t in rows:
        created = t.created_at.astimezone(settings.tz).date()
        out[pid].append(
            TicketFact(t.id, t.category, t.description, created, t.status == "resolved")
        )
    return out


# --- recording -----------------------------------------------------------------------------


def _reconcile(session: Session, found: dict, today: date, now: datetime) -> dict[str, int]:
    """Bring the findings table in line with today's violations; returns what changed."""
    session.execute(_drop(FOUND))  # SQLite keeps temp tables past the transaction
    FOUND.create(session.connection())
    # COPY on PostgreSQL: hundreds of thousands of rows at province scale.
    violations = (
        (pid, rule, v.detail, json.dumps(list(v.evidence))) for (pid, rule), v in found.items()
    )
    q.load_rows(session, FOUND, violations)
    q.analyze_temp(session, FOUND)
    f, t = Finding.__table__.c, FOUND.c
    created = _insert_new(session, today, now)
    match = and_(f.placement_id == t.placement_id, f.rule == t.rule)
    reopened = session.execute(
        update(Finding.__table__)
        .where(match, f.status == "resolved")
        .values(status="open", first_seen=today, resolved_at=None, notified_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    touched = session.execute(
        update(Finding.__table__)
        .where(match, f.last_seen < today)
        .values(last_seen=today, detail=t.detail, evidence=t.evidence, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    still = exists().where(t.placement_id == f.placement_id, t.rule == f.rule)
    resolved = session.execute(
        update(Finding.__table__)
        .where(f.status == "open", ~still)
        .values(status="resolved", resolved_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.execute(_drop(FOUND))
    return {
        "violations": len(found),
        "new": created,
        "reopened": max(reopened or 0, 0),
        "seen": max(touched or 0, 0),
        "resolved": max(resolved or 0, 0),
    }


def _drop(table: Table):
    return text(f"DROP TABLE IF EXISTS {table.name}")


def _insert_new(session: Session, today: date, now: datetime) -> int:
    t, p = FOUND.c, Placement
    article, severity = _rule_columns(t.rule)
    rows = select(
        t.rule, article, severity, p.school_id, p.student_id, t.placement_id, p.company_id,
        t.detail, t.evidence, literal(today), literal(today), literal("open"), literal(""),
        literal(""), literal(now, AwareDateTime()), literal(now, AwareDateTime()),
    ).join(p, p.id == t.placement_id)  # fmt: skip
    columns = [
        "rule", "article", "severity", "school_id", "student_id", "placement_id", "company_id",
        "detail", "evidence", "first_seen", "last_seen", "status", "note", "waived_by",
        "created_at", "updated_at",
    ]  # fmt: skip
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(Finding.__table__)
        .from_select(columns, rows)
        .on_conflict_do_nothing(index_elements=["placement_id", "rule"])
    )
    with key_checks_planned_once(session):  # four foreign keys per finding
        result = session.execute(stmt, execution_options={"preserve_rowcount": True})
    return max(result.rowcount or 0, 0)


def _rule_columns(rule_column):
    """The article and severity of each rule id, as SQL CASE expressions."""
    article = case(*((rule_column == r.id, r.article) for r in RULES.values()), else_="")
    severity = case(*((rule_column == r.id, r.severity) for r in RULES.values()), else_="major")
    return article, severity


def _write_tallies(session: Session, settings: Settings, today: date) -> None:
    """compliance_tallies: per school and rule, placements, open, waived and unknown."""
    unknown = q.unknown_conditions(session.get_bind().dialect.name, settings)
    p, f = Placement, Finding
    sums = [func.sum(case((cond, 1), else_=0)).label(rule) for rule, cond in unknown.items()]
    anything = func.sum(case((or_(*unknown.values()), 1), else_=0))
    base = (
        select(p.school_id, func.count().label("n"), anything.label("any_unknown"), *sums)
        .join(Student, Student.id == p.student_id)
        .where(q.active(session, today))
        .group_by(p.school_id)
    )
    per_school = {r.school_id: r._mapping for r in session.execute(base)}
    counts: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: {"open": 0, "waived": 0})
    stmt = (
        select(f.school_id, f.rule, f.status, func.count())
        .where(f.status.in_(("open", "waived")))
        .group_by(f.school_id, f.rule, f.status)
    )
    for school_id, rule, status, n in session.execute(stmt):
        counts[(school_id, rule)][status] = n
    with_open = select(f.school_id, func.count(func.distinct(f.placement_id))).where(
        f.status == "open"
    )
    placements_open = dict(session.execute(with_open.group_by(f.school_id)).all())
    session.execute(delete(ComplianceTally))
    rows = []
    schools = set(per_school) | {s for s, _ in counts}
    for school_id in schools:
        facts = per_school.get(school_id, {})
        n = facts.get("n", 0)
        rows.append(
            dict(school_id=school_id, rule="*", day=today, placements=n,
                 open=placements_open.get(school_id, 0), waived=0,
                 unknown=facts.get("any_unknown", 0) or 0)
        )  # fmt: skip
        for rule in RULES:
            c = counts.get((school_id, rule), {"open": 0, "waived": 0})
            rows.append(
                dict(school_id=school_id, rule=rule, day=today, placements=n, open=c["open"],
                     waived=c["waived"], unknown=(facts.get(rule) or 0) if rule in unknown else 0)
            )  # fmt: skip
    if rows:
        session.execute(insert(ComplianceTally), rows)


def _record_run(session: Session, today: date, now: datetime, counts: dict) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(ComplianceRun.__table__).values(day=today, started_at=now, counts=counts)
    session.execute(stmt.on_conflict_do_update(index_elements=["day"], set_={"counts": counts}))
