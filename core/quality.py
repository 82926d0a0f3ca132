"""The internship quality report's figures (实习质量报告), one function per section.

Every figure the dashboard also shows comes from the dashboard's own functions (core.stats,
core.satisfaction), called with the report's scope and period, so the two always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import Session

from core import stats
from core.classify import CATEGORY_ZH as CATEGORY_NAMES
from core.compliance_feed import findings_by_rule, low_pay_cases
from core.journals import KIND_ZH as KIND_NAMES
from core.rates import ratio
from core.satisfaction import satisfaction
from core.scope import condition, sees_whole_school
from core.surveys import RESPONDENT_NAMES
from core.tickets import STATUS_ZH as STATUS_NAMES
from models import (
    Alert,
    CaseNote,
    ConsoleUser,
    Journal,
    School,
    SchoolDay,
    Student,
    Survey,
    Ticket,
)
from models.tickets import TICKET_CATEGORIES, URGENT_CATEGORIES

LOST_CONTACT = "lost_contact"
SUMMARY_CHARS = 40
COMMENTS = 12  # the latest survey comments quoted in the report


@dataclass(frozen=True)
class Period:
    """The report's period: whole local days [first, last]."""

    first: date
    last: date
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), self.tz)

    @property
    def end(self) -> datetime:
        """The first instant after the period."""
        return datetime.combine(self.last + timedelta(days=1), time(), self.tz)


def scale(session: Session, user: ConsoleUser, period: Period) -> dict:
    """Totals as of the period's last day, and per school: students, placements, check-ins."""
    totals = stats.totals(session, user, period.last)
    per_school = {
        name: {"school": name, "students": n, "checkin_days": 0}
        for name, n in session.execute(
            select(School.name, func.count(Student.id))
            .join(Student, Student.school_id == School.id)
            .where(condition(user, Student))
            .group_by(School.name)
        )
    }
    if sees_whole_school(user):
        for name, n in session.execute(
            select(School.name, func.sum(SchoolDay.students_checked_in))
            .join(SchoolDay, SchoolDay.school_id == School.id)
            .where(condition(user, SchoolDay), SchoolDay.day.between(period.first, period.last))
            .group_by(School.name)
        ):
            per_school.setdefault(name, {"school": name, "students": 0, "checkin_days": 0})
            per_school[name]["checkin_days"] = int(n or 0)
    schools = sorted(per_school.values(), key=lambda r: (-r["students"], r["school"]))
    return {"totals": totals, "schools": schools}


def placements(session: Session, user: ConsoleUser, period: Period) -> dict:
    """Placements by region, industry and major, and the gender split (the dashboard's)."""
    return stats.distributions(session, user, period.last)


def placement_rates(session: Session, user: ConsoleUser, period: Period) -> dict:
    """对口率, 统一安排率, 稳定率 as of the period's last day (the dashboard's)."""
    return stats.placement_rates(session, user, period.last)


def attendance(session: Session, user: ConsoleUser, period: Period, settings) -> dict:
    """签到率 over the period and per week, 周记提交率 per complete week and pooled."""
    daily = stats.daily_counts(session, user, period.first, period.last, period.tz)
    due = stats.due_by_day(session, user, first=period.first, last=period.last, settings=settings)
    rate = stats.checkin_rate(
        session, user, first=period.first, last=period.last, settings=settings, daily=daily, due=due
    )
    spans = [
        (start, min(start + timedelta(days=6 - start.weekday()), period.last))
        for start in _week_starts(period)
    ]
    # Only a whole week (Monday to Sunday) inside the period has a 周记提交率.
    whole = [a for a, b in spans if a.weekday() == 0 and b - a == timedelta(days=6)]
    weekly = stats.weekly_rates(session, user, mondays=whole)
    weeks = [
        {
            "monday": monday,
            "sunday": sunday,
            "checkin": stats.checkin_rate(
                session, user, first=monday, last=sunday, settings=settings, daily=daily, due=due
            ),
            "weekly": weekly.get(monday),
        }
        for monday, sunday in spans
    ]
    full = [w["weekly"] for w in weeks if w["weekly"] is not None]
    pooled = ratio(sum(w["num"] for w in full), sum(w["den"] for w in full))
    days = [
        {"day": day, "due": n, "checked_in": daily.get(day, {}).get("students", 0)}
        for day, n in sorted(due.items())
    ]
    return {"checkin": rate, "weekly": pooled, "weeks": weeks, "days": days}


def _week_starts(period: Period) -> list[date]:
    """The period cut into weeks: its first day, then every Monday after it."""
    out, day = [period.first], period.first + timedelta(days=7 - period.first.weekday())
    while day <= period.last:
        out.append(day)
        day += timedelta(days=7)
    return out


def grading(session: Session, user: ConsoleUser, period: Period, now: datetime) -> dict:
    """批阅及时率 (the dashboard's rule), and journals submitted and graded per kind."""
    as_of = min(now, period.end)
    rate = stats.grading_rate(
        session, user, first=period.first, last=period.last, now=as_of, tz=period.tz
    )
    kinds = []
    for kind, n, graded, score in session.execute(
        select(
            Journal.kind,
            func.count(),
            func.count(Journal.graded_at),
            func.avg(Journal.score),
        )
        .where(
            condition(user, Journal),
            Journal.submitted_at >= period.start,
            Journal.submitted_at < period.end,
        )
        .group_by(Journal.kind)
    ):
        kinds.append(
            {
                "kind": kind,
                "label": KIND_NAMES.get(kind, kind),
                "submitted": int(n),
                "graded": int(graded),
                "average_score": None if score is None else round(float(score), 1),
            }
        )
    kinds.sort(key=lambda k: list(KIND_NAMES).index(k["kind"]) if k["kind"] in KIND_NAMES else 9)
    return {"graded_in_time": rate, "as_of": as_of, "kinds": kinds}


def pay(session: Session, user: ConsoleUser, period: Period) -> dict:
    """Salary distribution (the dashboard's) and the cases below 80% of the post's wage."""
    salary = stats.distributions(session, user, period.last)["salary"]
    return {"salary": salary, "below_post_wage": low_pay_cases(session, user, period.last)}


def compliance(session: Session, user: ConsoleUser, period: Period) -> dict:
    """Compliance findings (SPEC 12) per rule id."""
    return {"by_rule": findings_by_rule(session, user, first=period.first, last=period.last)}


def _tickets(session: Session, user: ConsoleUser, period: Period, *, categories=None) -> list:
    """Tickets created in the period with the time of their first 「已解决」 step (or None)."""
    resolved = (
        select(CaseNote.case_id, func.min(CaseNote.at).label("at"))
        .where(CaseNote.case_kind == "ticket", CaseNote.status == "resolved")
        .group_by(CaseNote.case_id)
        .subquery()
    )
    stmt = (
        select(
            Ticket.id,
            Ticket.category,
            Ticket.status,
            Ticket.created_at,
            Ticket.description,
            School.name,
            resolved.c.at,
        )
        .join(School, School.id == Ticket.school_id)
        .outerjoin(resolved, resolved.c.case_id == Ticket.id)
        .where(
            condition(user, Ticket),
            Ticket.created_at >= period.start,
            Ticket.created_at < period.end,
        )
        .order_by(Ticket.created_at, Ticket.id)
    )
    if categories is not None:
        stmt = stmt.where(Ticket.category.in_(categories))
    return session.execute(stmt).all()


def hours_to_resolve(created_at: datetime, resolved_at: datetime | None) -> float | None:
    """处理时长: hours from a ticket's creation to its first 「已解决」 step."""
    if resolved_at is None:
        return None
    return round(max((resolved_at - created_at).total_seconds(), 0) / 3600, 1)


def _summary(rows: list) -> dict:
    hours = [h for h in (hours_to_resolve(r.created_at, r.at) for r in rows) if h is not None]
    return {
        "count": len(rows),
        "resolved": ratio(len(hours), len(rows)),
        "median_hours": round(median(hours), 1) if hours else None,
        "mean_hours": round(sum(hours) / len(hours), 1) if hours else None,
    }


def tickets(session: Session, user: ConsoleUser, period: Period) -> dict:
    """Rights tickets (维权) per category: how many, how many resolved, and how fast."""
    rows = _tickets(session, user, period)
    by_category = []
    for category in TICKET_CATEGORIES:
        mine = [r for r in rows if r.category == category]
        by_category.append(
            {"category": category, "label": CATEGORY_NAMES[category], **_summary(mine)}
        )
    return {
        "overall": _summary(rows),
        "by_category": by_category,
        "rows": [_ticket_row(r, period.tz) for r in rows],
    }


def _ticket_row(r, tz: ZoneInfo) -> dict:
    return {
        "no": f"T{r.id}",
        "day": r.created_at.astimezone(tz).date(),
        "school": r.name,
        "category": CATEGORY_NAMES.get(r.category, r.category),
        "status": STATUS_NAMES.get(r.status, r.status),
        "hours": hours_to_resolve(r.created_at, r.at),
        "summary": _shorten(r.description),
    }


def safety(session: Session, user: ConsoleUser, period: Period) -> dict:
    """Safety incidents: urgent tickets (安全, 骚扰/人身) one by one, and 失联 alerts."""
    rows = _tickets(session, user, period, categories=URGENT_CATEGORIES)
    incidents = [_ticket_row(r, period.tz) for r in rows]
    lost = session.execute(
        select(func.count())
        .select_from(Alert)
        .where(
            condition(user, Alert),
            Alert.kind == LOST_CONTACT,
            Alert.day.between(period.first, period.last),
        )
    ).scalar()
    return {"summary": _summary(rows), "incidents": incidents, "lost_contact": int(lost or 0)}


def _shorten(text: str, limit: int = SUMMARY_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def surveys(session: Session, user: ConsoleUser, period: Period, settings) -> dict:
    """三方满意度 of the surveys sent in the period (the dashboard's function), with questions."""
    figures = satisfaction(session, user, first=period.first, last=period.last, tz=period.tz)
    for kind in figures["kinds"]:
        kind["question_texts"] = settings.surveys.questions(kind["kind"])
    comments = session.execute(
        select(Survey.respondent_kind, Survey.comment)
        .where(
            condition(user, Survey),
            Survey.sent_at >= period.start,
            Survey.sent_at < period.end,
            Survey.comment != "",
        )
        .order_by(Survey.answered_at.desc(), Survey.id.desc())
        .limit(COMMENTS)
    ).all()
    figures["comments"] = [
        {"who": RESPONDENT_NAMES.get(kind, kind), "text": _shorten(text, 80)}
        for kind, text in comments
    ]
    return figures
