"""The compliance figures a user may see: per rule and per school, and the dashboard's shares.

Province and school admins read the daily tallies (compliance_tallies); a teacher's figures are
counted live from their own students' placements and findings, which are few.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import case, func, or_, select
from sqlmodel import Session

from core.compliance import RULES
from core.compliance_unknown import unknown_conditions
from core.scope import condition, sees_whole_school
from models import ComplianceRun, ComplianceTally, ConsoleUser, Finding, Placement, School, Student


def summary(session: Session, user: ConsoleUser, settings, today: date) -> dict:
    """{"rules": [...], "schools": [...], "placements", "clean_share", "unknown_share", ...}."""
    last = session.scalar(select(func.max(ComplianceRun.day)))
    if sees_whole_school(user):
        per_school, per_rule = _from_tallies(session, user)
    else:
        per_school, per_rule = _live(session, user, settings, today)
    placements = sum(s["placements"] for s in per_school)
    with_open = sum(s["open"] for s in per_school)
    unknown = sum(s["unknown"] for s in per_school)
    rules = [
        dict(id=r.id, title=r.title, article=r.article, severity=r.severity, explain=r.explain,
             **per_rule.get(r.id, {"open": 0, "waived": 0, "unknown": 0}))
        for r in RULES.values()
    ]  # fmt: skip
    return dict(
        last_checked=last,
        placements=placements,
        with_open=with_open,
        clean_share=(placements - with_open) / placements if placements else None,
        unknown_share=unknown / placements if placements else None,
        rules=rules,
        schools=sorted(per_school, key=lambda s: (-s["open"], s["name"])),
    )


def _from_tallies(session: Session, user: ConsoleUser):
    t = ComplianceTally
    rows = session.execute(
        select(t, School.name).join(School, School.id == t.school_id).where(condition(user, School))
    ).all()
    per_school, per_rule = [], defaultdict(lambda: {"open": 0, "waived": 0, "unknown": 0})
    for tally, name in rows:
        if tally.rule == "*":
            per_school.append(dict(id=tally.school_id, name=name, placements=tally.placements,
                                   open=tally.open, unknown=tally.unknown))  # fmt: skip
        else:
            for key in ("open", "waived", "unknown"):
                per_rule[tally.rule][key] += getattr(tally, key)
    return per_school, per_rule


def _live(session: Session, user: ConsoleUser, settings, today: date):
    """A teacher's own students: counted from placements and findings directly."""
    p = Placement
    unknown = unknown_conditions(session.get_bind().dialect.name, settings)
    active = (p.start_date <= today) & (p.end_date >= today) & condition(user, Placement)
    sums = [func.sum(case((c, 1), else_=0)).label(rule) for rule, c in unknown.items()]
    row = session.execute(
        select(func.count().label("n"), func.sum(case((or_(*unknown.values()), 1), else_=0)),
               *sums)
        .join(Student, Student.id == p.student_id)
        .where(active)
    ).one()  # fmt: skip
    n, any_unknown = row[0] or 0, row[1] or 0
    f = Finding
    per_rule = defaultdict(lambda: {"open": 0, "waived": 0, "unknown": 0})
    for rule in unknown:
        per_rule[rule]["unknown"] = row._mapping[rule] or 0
    counts = session.execute(
        select(f.rule, f.status, func.count())
        .where(condition(user, Finding), f.status.in_(("open", "waived")))
        .group_by(f.rule, f.status)
    )
    for rule, status, count in counts:
        per_rule[rule][status] = count
    with_open = session.scalar(
        select(func.count(func.distinct(f.placement_id))).where(
            condition(user, Finding), f.status == "open"
        )
    )
    school = session.get(School, user.school_id) if user.school_id else None
    per_school = [dict(id=user.school_id, name=school.name if school else "", placements=n,
                       open=with_open or 0, unknown=any_unknown)]  # fmt: skip
    return per_school, per_rule
