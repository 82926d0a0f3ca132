"""Dashboard figures (SPEC section 8) from daily roll-ups and set-based aggregates, scoped."""

from __future__ import annotations

import logging
from bisect import bisect_right
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, distinct, func, literal, select, union
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from core.calendar import is_workday
from core.rates import CHECKIN_WINDOW_DAYS, RATES
from core.scope import condition, sees_whole_school
from core.workdays import ALL_WEEKDAYS
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
from models.stats import read_snapshot, store_snapshot

log = logging.getLogger("shixi.stats")

PROVINCE = "province"
SCHOOL_PREFIX = "school:"
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
    days = [first + timedelta(days=i) for i in range(CHECKIN_WINDOW_DAYS)]
    # Placements active on a day = those started by it minus those ended before it, per mask:
    # two small GROUP BYs instead of a loop over every (start, end, mask) group and day.
    window = (
        condition(user, Placement) & (Placement.start_date <= last) & (Placement.end_date >= first)
    )
    starts = _by_mask_and_day(session, Placement.start_date, window)
    ends = _by_mask_and_day(session, Placement.end_date, window)
    masks = set(starts) | set(ends)
    due = 0
    for day in days:
        # The holiday decision once per date; the weekday bit per mask.
        if not is_workday(day, ALL_WEEKDAYS, settings):
            continue
        everyone = is_workday(day, 0, settings)  # an official make-up day (调休)
        bit = 1 << (day.isoweekday() - 1)
        for mask in masks:
            if everyone or mask & bit:
                due += _upto(starts, mask, day) - _upto(ends, mask, day - timedelta(days=1))
    done = sum(v["students"] for d, v in daily.items() if first <= d <= last)
    return _rate(done, due)


def _by_mask_and_day(session: Session, column, where) -> dict[int, tuple[list, list]]:
    """Per mask: the sorted dates of `column` and the running count up to each of them."""
    rows = session.execute(
        select(Placement.workdays_mask, column, func.count())
        .where(where)
        .group_by(Placement.workdays_mask, column)
        .order_by(Placement.workdays_mask, column)
    ).all()
    out: dict[int, tuple[list, list]] = {}
    for mask, day, n in rows:
        dates, running = out.setdefault(mask, ([], []))
        dates.append(day)
        running.append((running[-1] if running else 0) + n)
    return out


def _upto(counts: dict[int, tuple[list, list]], mask: int, day: date) -> int:
    """How many of the counted dates for `mask` fall on or before `day`."""
    dates, running = counts.get(mask, ([], []))
    i = bisect_right(dates, day)
    return running[i - 1] if i else 0


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


def snapshot_scope(user: ConsoleUser) -> str | None:
    """The snapshot this user reads: the province's or own school's; a teacher's is live."""
    if not user.active:
        return None
    if user.role == "province":
        return PROVINCE
    if user.role == "school" and user.school_id is not None:
        return f"{SCHOOL_PREFIX}{user.school_id}"
    return None


def scope_user(scope: str) -> ConsoleUser:
    """A transient console user seeing exactly `scope` (for the sweep that refreshes it)."""
    if scope == PROVINCE:
        return ConsoleUser(username="snapshot", role="province", password_hash="-")
    if scope.startswith(SCHOOL_PREFIX):
        school_id = int(scope.removeprefix(SCHOOL_PREFIX))
        return ConsoleUser(
            username="snapshot", role="school", school_id=school_id, password_hash="-"
        )
    raise ValueError(f"unknown dashboard scope {scope!r}")


def slow_figures(
    session: Session, user: ConsoleUser, *, today: date, settings, daily: dict | None = None
) -> dict:
    """The figures worth a snapshot: totals, rates, distributions, active users (JSON-ready)."""
    tz = settings.tz
    if daily is None:
        daily = _daily(session, user, today - timedelta(days=CHECKIN_WINDOW_DAYS), today, tz)
    rates = {
        **_placement_rates(session, user, today),
        "checkin": _checkin_rate(session, user, today, daily, settings),
        "weekly": _weekly_rate(session, user, today),
    }
    return {
        "totals": _totals(session, user, today),
        "active_users_14d": active_users(session, user, today, tz),
        "rates": rates,
        **_distributions(session, user, today),
    }


def _fresh(snapshot, *, today: date, now: datetime, settings) -> bool:
    # A snapshot stamped after `now` (another clock) is newer than anything we could compute.
    max_age = timedelta(minutes=settings.console.snapshot_max_age_min)
    return snapshot.day == today and now - snapshot.computed_at <= max_age


def _snapshot_or_live(
    session: Session, user: ConsoleUser, *, today: date, settings, now: datetime, daily: dict
) -> tuple[dict, datetime]:
    """The user's fresh snapshot, else the figures computed now (and stored for the next read)."""
    scope = snapshot_scope(user)
    if scope is not None:
        snapshot = read_snapshot(session, scope=scope)
        if snapshot is not None and _fresh(snapshot, today=today, now=now, settings=settings):
            return snapshot.figures, snapshot.computed_at
    figures = slow_figures(session, user, today=today, settings=settings, daily=daily)
    if scope is not None:
        try:
            store_snapshot(session, scope=scope, day=today, computed_at=now, figures=figures)
            session.commit()
        except OperationalError:  # e.g. SQLite busy: the figures are still right, just not kept
            session.rollback()
            log.warning("could not store the %s dashboard snapshot", scope)
    return figures, now


def overview(
    session: Session, user: ConsoleUser, *, today: date, settings, now: datetime | None = None
) -> dict:
    """Every dashboard figure for this user, as plain JSON-ready values.

    Today's numbers, the trend and the ranking are live from the daily roll-ups; the slow
    figures come from a snapshot at most console.snapshot_max_age_min old (`computed_at`).
    Computing a missing or stale snapshot stores it, which commits the session.
    """
    tz = settings.tz
    now = now or datetime.now(tz)
    first = today - timedelta(days=max(CHECKIN_WINDOW_DAYS, TREND_DAYS))
    daily = _daily(session, user, first, today, tz)
    today_row = daily.get(today, dict(checkins=0, students=0, journals=0, tickets=0))
    slow, computed_at = _snapshot_or_live(
        session, user, today=today, settings=settings, now=now, daily=daily
    )
    rates = {key: dict(value) for key, value in slow["rates"].items()}
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
        **slow,
        "as_of": today.isoformat(),
        "computed_at": computed_at.astimezone(tz).isoformat(timespec="seconds"),
        "today": today_row,
        "rates": rates,
        "trend": trend,
        "ranking": ranking(session, user, today, today_row),
    }
