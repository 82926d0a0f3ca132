"""Dashboard figures (SPEC section 8) from daily roll-ups and set-based aggregates, scoped."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, distinct, func, literal, select, union
from sqlmodel import Session

from core.calendar import is_workday
from core.rates import CHECKIN_WINDOW_DAYS, RATES
from core.scope import condition, sees_whole_school
from models import (
    CheckIn,
    ConsoleUser,
    Journal,
    Major,
    Placement,
    School,
    SchoolDay,
    Student,
    Teacher,
    Ticket,
)

TREND_DAYS = 14
ACTIVE_DAYS = 14
TOP_N = 10
SALARY_BUCKETS = (
    (0, 2000, "2000以下"),
    (2000, 3000, "2000-2999"),
    (3000, 4000, "3000-3999"),
    (4000, 5000, "4000-4999"),
    (5000, None, "5000及以上"),
)
UNKNOWN = "未填写"


def _scalar(session: Session, stmt) -> int:
    return int(session.execute(stmt).scalar() or 0)


def _rate(num, den) -> dict:
    num, den = int(num or 0), int(den or 0)
    return {"value": round(min(num / den, 1.0), 4) if den else None, "num": num, "den": den}


def _daily(session: Session, user: ConsoleUser, first: date, last: date, tz: ZoneInfo) -> dict:
    """Per-day check-ins, students checked in, journals and tickets in [first, last]."""
    out: dict[date, dict] = {}
    if sees_whole_school(user):
        rows = session.execute(
            select(
                SchoolDay.day,
                func.sum(SchoolDay.checkins),
                func.sum(SchoolDay.students_checked_in),
                func.sum(SchoolDay.journals),
                func.sum(SchoolDay.tickets),
            )
            .where(condition(user, SchoolDay), SchoolDay.day.between(first, last))
            .group_by(SchoolDay.day)
        ).all()
        for day, c, s, j, t in rows:
            out[day] = dict(
                checkins=int(c or 0),
                students=int(s or 0),
                journals=int(j or 0),
                tickets=int(t or 0),
            )
        return out
    # A teacher's own students are few: count their raw rows.
    for day, c, s in session.execute(
        select(CheckIn.day, func.count(), func.count(distinct(CheckIn.student_id)))
        .where(condition(user, CheckIn), CheckIn.day.between(first, last))
        .group_by(CheckIn.day)
    ).all():
        out[day] = dict(checkins=c, students=s, journals=0, tickets=0)
    start = datetime.combine(first, time(), tz)
    end = datetime.combine(last + timedelta(days=1), time(), tz)
    for model, stamp, key in (
        (Journal, Journal.submitted_at, "journals"),
        (Ticket, Ticket.created_at, "tickets"),
    ):
        for (at,) in session.execute(
            select(stamp).where(condition(user, model), stamp >= start, stamp < end)
        ).all():
            d = at.astimezone(tz).date()
            out.setdefault(d, dict(checkins=0, students=0, journals=0, tickets=0))[key] += 1
    return out


def _count(model, where):
    # select_from: a province's condition is a bare TRUE, which names no table.
    return select(func.count()).select_from(model).where(where)


def _totals(session: Session, user: ConsoleUser, today: date) -> dict:
    placed = condition(user, Placement)
    started = placed & (Placement.start_date <= today)
    companies = select(func.count(distinct(Placement.company_id))).where(placed)
    return {
        "students": _scalar(session, _count(Student, condition(user, Student))),
        "teachers": _scalar(session, _count(Teacher, condition(user, Teacher))),
        "schools": _scalar(session, _count(School, condition(user, School))),
        "companies": _scalar(session, companies),
        "interning": _scalar(
            session,
            select(func.count(distinct(Placement.student_id))).where(
                started, Placement.end_date >= today
            ),
        ),
        "started": _scalar(session, _count(Placement, started)),
    }


def _checkin_rate(session: Session, user: ConsoleUser, today: date, daily: dict, settings) -> dict:
    first, last = today - timedelta(days=CHECKIN_WINDOW_DAYS), today - timedelta(days=1)
    groups = session.execute(
        select(Placement.start_date, Placement.end_date, Placement.workdays_mask, func.count())
        .where(
            condition(user, Placement), Placement.start_date <= last, Placement.end_date >= first
        )
        .group_by(Placement.start_date, Placement.end_date, Placement.workdays_mask)
    ).all()
    due = 0
    for offset in range(CHECKIN_WINDOW_DAYS):
        day = first + timedelta(days=offset)
        for start, end, mask, n in groups:
            if start <= day <= end and is_workday(day, mask, settings):
                due += n
    done = sum(v["students"] for d, v in daily.items() if first <= d <= last)
    return _rate(done, due)


def _weekly_rate(session: Session, user: ConsoleUser, today: date) -> dict:
    monday = today - timedelta(days=today.weekday() + 7)
    sunday = monday + timedelta(days=6)
    expected = _scalar(
        session,
        select(func.count(distinct(Placement.student_id))).where(
            condition(user, Placement), Placement.start_date <= sunday, Placement.end_date >= monday
        ),
    )
    submitted = _scalar(
        session,
        select(func.count(distinct(Journal.student_id))).where(
            condition(user, Journal),
            Journal.kind == "weekly",
            Journal.period_start.between(monday, sunday),
        ),
    )
    return _rate(submitted, expected)


def _placement_rates(session: Session, user: ConsoleUser, today: date) -> dict:
    started = condition(user, Placement) & (Placement.start_date <= today)
    as_int = lambda c: func.sum(case((c, 1), else_=0))  # noqa: E731
    n, matched, known, arranged = session.execute(
        select(
            func.count(Placement.id),
            as_int(Placement.matches_major.is_(True)),
            as_int(Placement.matches_major.is_not(None)),
            as_int(Placement.arranged_by_school.is_(True)),
        ).where(started)
    ).one()
    per_student = (
        select(Placement.student_id, func.count(distinct(Placement.company_id)).label("c"))
        .where(started)
        .group_by(Placement.student_id)
        .subquery()
    )
    students, stable = session.execute(
        select(func.count(), as_int(per_student.c.c == 1)).select_from(per_student)
    ).one()
    return {
        "match": _rate(matched, known),
        "arranged": _rate(arranged, n),
        "stable": _rate(stable, students),
    }


def _top(session: Session, column, where, *, limit: int | None = TOP_N, join=None) -> list:
    stmt = select(column, func.count()).where(where).group_by(column)
    if join is not None:
        stmt = stmt.select_from(join)
    stmt = stmt.order_by(func.count().desc(), column)
    if limit:
        stmt = stmt.limit(limit)
    return [{"name": name or UNKNOWN, "value": n} for name, n in session.execute(stmt).all()]


def _distributions(session: Session, user: ConsoleUser, today: date) -> dict:
    started = condition(user, Placement) & (Placement.start_date <= today)
    bucket = case(
        *[
            ((Placement.monthly_salary >= lo) & (Placement.monthly_salary < hi), literal(label))
            if hi
            else (Placement.monthly_salary >= lo, literal(label))
            for lo, hi, label in SALARY_BUCKETS
        ],
        else_=literal(UNKNOWN),
    )
    salary = dict((r["name"], r["value"]) for r in _top(session, bucket, started, limit=None))
    order = [label for _, _, label in SALARY_BUCKETS] + [UNKNOWN]
    return {
        "gender": _top(session, Student.gender, condition(user, Student), limit=None),
        "regions": _top(session, Placement.city, started, limit=15),
        "majors": _top(
            session,
            Major.name,
            condition(user, Student),
            join=Student.__table__.join(Major, Major.id == Student.major_id),
        ),
        "industries": _top(session, Placement.industry, started),
        "salary": [{"name": k, "value": salary.get(k, 0)} for k in order],
    }


def ranking(session: Session, user: ConsoleUser, today: date, daily_today: dict) -> list[dict]:
    """Schools by students checked in today (a teacher sees only own students' count)."""
    if not sees_whole_school(user):
        school = session.get(School, user.school_id) if user.school_id else None
        return [{"school": school.name, "value": daily_today.get("students", 0)}] if school else []
    rows = session.execute(
        select(School.name, func.coalesce(SchoolDay.students_checked_in, 0))
        .select_from(School)
        .outerjoin(SchoolDay, (SchoolDay.school_id == School.id) & (SchoolDay.day == today))
        .where(condition(user, School))
        .order_by(func.coalesce(SchoolDay.students_checked_in, 0).desc(), School.name)
    ).all()
    return [{"school": name, "value": int(n)} for name, n in rows]


def active_users(session: Session, user: ConsoleUser, today: date, tz: ZoneInfo) -> int:
    """Distinct students with a check-in or a journal in the last ACTIVE_DAYS days."""
    first = today - timedelta(days=ACTIVE_DAYS - 1)
    since = datetime.combine(first, time(), tz)
    ids = union(
        select(CheckIn.student_id).where(condition(user, CheckIn), CheckIn.day >= first),
        select(Journal.student_id).where(condition(user, Journal), Journal.submitted_at >= since),
    ).subquery()
    return _scalar(session, select(func.count()).select_from(ids))


def overview(session: Session, user: ConsoleUser, *, today: date, settings) -> dict:
    """Every dashboard figure for this user, as plain JSON-ready values."""
    tz = settings.tz
    first = today - timedelta(days=max(CHECKIN_WINDOW_DAYS, TREND_DAYS))
    daily = _daily(session, user, first, today, tz)
    today_row = daily.get(today, dict(checkins=0, students=0, journals=0, tickets=0))
    rates = {
        **_placement_rates(session, user, today),
        "checkin": _checkin_rate(session, user, today, daily, settings),
        "weekly": _weekly_rate(session, user, today),
    }
    for key, value in rates.items():
        value.update(label=RATES[key].label, definition=RATES[key].definition)
    trend = [
        {
            "day": (d := today - timedelta(days=i)).isoformat(),
            "value": daily.get(d, {}).get("students", 0),
        }
        for i in range(TREND_DAYS - 1, -1, -1)
    ]
    return {
        "as_of": today.isoformat(),
        "totals": _totals(session, user, today),
        "today": today_row,
        "active_users_14d": active_users(session, user, today, tz),
        "rates": rates,
        "trend": trend,
        "ranking": ranking(session, user, today, today_row),
        **_distributions(session, user, today),
    }
