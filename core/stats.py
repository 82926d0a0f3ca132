"""Dashboard figures (SPEC section 8) from daily roll-ups and set-based aggregates, scoped."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, distinct, func, literal, select, union
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from core.checkin_rate import checkin_counts, checkin_rate_between
from core.due import is_workday
from core.map_figures import prefectures, ranked
from core.rate_groups import due_counts, rate
from core.rates import (
    CHECKIN_WINDOW_DAYS,
    GRADE_WITHIN_DAYS,
    RATES,
    SURVEY_WINDOW_DAYS,
)
from core.satisfaction import satisfaction
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
from models.sqltime import seconds_between
from models.stats import read_snapshot, store_snapshot

log = logging.getLogger("shixi.stats")

PROVINCE = "province"
SCHOOL_PREFIX = "school:"
TREND_DAYS = 14
WEEKDAYS = 0b0011111  # Monday-Friday: the usual week, for shading rest days in the trend
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
SNAPSHOT_KEYS = ("totals", "rates", "due_by_day", "checked_by_day", "prefectures")


def _scalar(session: Session, stmt) -> int:
    return int(session.execute(stmt).scalar() or 0)


_rate = rate  # one shape for every rate


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


daily_counts = _daily  # per-day check-ins, students checked in, journals, tickets


def _count(model, where):
    # select_from: a province's condition is a bare TRUE, which names no table.
    return select(func.count()).select_from(model).where(where)


def totals(session: Session, user: ConsoleUser, today: date) -> dict:
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


def checkin_rate(
    session: Session,
    user: ConsoleUser,
    *,
    first: date,
    last: date,
    settings,
    daily: dict | None = None,
    due: dict[date, int] | None = None,
) -> dict:
    """签到率 over [first, last]: due days with a check-in ÷ due days (core.due's rule, counted
    by core.checkin_rate). `daily` and `due` are accepted for callers that read them for a
    longer period; the rate itself is always counted by the rule."""
    return checkin_rate_between(session, user, first=first, last=last, settings=settings)


def due_by_day(
    session: Session, user: ConsoleUser, *, first: date, last: date, settings
) -> dict[date, int]:
    """Students due to check in on each day of [first, last] (core.rate_groups.due_counts)."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    counts = due_counts(session, user, days, settings)
    return {d: counts.get((None, d), 0) for d in days}


def _weekly_rate(session: Session, user: ConsoleUser, today: date) -> dict:
    """The dashboard's 周记提交率: the last complete week before today."""
    return weekly_rate(session, user, monday=today - timedelta(days=today.weekday() + 7))


def weekly_rate(session: Session, user: ConsoleUser, *, monday: date) -> dict:
    """周记提交率 of the week starting `monday`: students who submitted ÷ students on placement."""
    return weekly_rates(session, user, mondays=[monday])[monday]


def weekly_rates(session: Session, user: ConsoleUser, *, mondays: list[date]) -> dict[date, dict]:
    """周记提交率 of each week starting on one of `mondays`, reading the journals once.

    A weekly journal's period_start is its week's Monday (core.journals.period_start), so the
    students who submitted are counted per period_start in one pass over the journals.
    """
    if not mondays:
        return {}
    submitted = dict(
        session.execute(
            select(Journal.period_start, func.count(distinct(Journal.student_id)))
            .where(
                condition(user, Journal),
                Journal.kind == "weekly",
                Journal.period_start.between(min(mondays), max(mondays) + timedelta(days=6)),
            )
            .group_by(Journal.period_start)
        ).all()
    )
    out = {}
    for monday in mondays:
        sunday = monday + timedelta(days=6)
        expected = _scalar(
            session,
            select(func.count(distinct(Placement.student_id))).where(
                condition(user, Placement),
                Placement.start_date <= sunday,
                Placement.end_date >= monday,
            ),
        )
        done = sum(n for day, n in submitted.items() if monday <= day <= sunday)
        out[monday] = _rate(done, expected)
    return out


def _grading_rate(session: Session, user: ConsoleUser, today: date, tz: ZoneInfo) -> dict:
    """The dashboard's 批阅及时率: the CHECKIN_WINDOW_DAYS before today, as of today's start."""
    first, last = today - timedelta(days=CHECKIN_WINDOW_DAYS), today - timedelta(days=1)
    now = datetime.combine(today, time(), tz)  # the same figure all day long
    return grading_rate(session, user, first=first, last=last, now=now, tz=tz)


def grading_rate(
    session: Session, user: ConsoleUser, *, first: date, last: date, now: datetime, tz: ZoneInfo
) -> dict:
    """批阅及时率: journals submitted in [first, last] and at least GRADE_WITHIN_DAYS before
    `now`, graded within GRADE_WITHIN_DAYS of submission ÷ all of them."""
    limit = timedelta(days=GRADE_WITHIN_DAYS)
    start = datetime.combine(first, time(), tz)
    end = min(datetime.combine(last + timedelta(days=1), time(), tz), now - limit)
    in_time = Journal.graded_at.is_not(None) & (
        seconds_between(Journal.graded_at, Journal.submitted_at) <= limit.total_seconds()
    )
    total, graded = session.execute(
        select(func.count(), func.sum(case((in_time, 1), else_=0))).where(
            condition(user, Journal), Journal.submitted_at >= start, Journal.submitted_at < end
        )
    ).one()
    return _rate(graded, total)


def placement_rates(session: Session, user: ConsoleUser, today: date) -> dict:
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


def distributions(session: Session, user: ConsoleUser, today: date) -> dict:
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


def _role_figures(session: Session, user: ConsoleUser, today: date, settings) -> dict:
    """What each role's dashboard ranks: schools for a province, classes and teachers for a
    school; every role gets its prefectures for the map."""
    out = {"prefectures": prefectures(session, user, today=today, settings=settings)}
    groups = {"province": ("school",), "school": ("class", "teacher")}.get(user.role, ())
    for group in groups:
        out[f"{group}_rates"] = ranked(session, user, today=today, settings=settings, group=group)
    return out


def slow_figures(
    session: Session, user: ConsoleUser, *, today: date, settings, earlier: dict | None = None
) -> dict:
    """The figures worth a snapshot: totals, rates, distributions, active users (JSON-ready).

    `earlier`: figures already computed today; 签到率 covers the days before today only, so
    it is taken from them instead of being counted again.
    """
    tz = settings.tz
    checkin, per_day = _checkin_figures(session, user, today, settings, earlier)
    first = today - timedelta(days=SURVEY_WINDOW_DAYS - 1)
    surveys = satisfaction(session, user, first=first, last=today, tz=tz)
    rates = {
        **placement_rates(session, user, today),
        "checkin": {k: checkin[k] for k in ("value", "num", "den")},
        "weekly": _weekly_rate(session, user, today),
        "graded": _grading_rate(session, user, today, tz),
        "satisfied": surveys["overall"]["satisfied"],
    }
    return {
        "satisfaction": surveys,
        "totals": totals(session, user, today),
        "active_users_14d": active_users(session, user, today, tz),
        "rates": rates,
        # Students due on each trend day (today included) and, before today, how many of
        # them checked in: the trend's rates.
        "due_by_day": {day: due for day, (_, due) in per_day.items()},
        "checked_by_day": {day: n for day, (n, _) in per_day.items() if day < today.isoformat()},
        **distributions(session, user, today),
        **_role_figures(session, user, today, settings),
    }


def _checkin_figures(
    session: Session, user: ConsoleUser, today: date, settings, earlier: dict | None
) -> tuple[dict, dict[str, tuple[int, int]]]:
    """签到率 over the window before today, and (checked, due) for each trend day, from one
    count by core.checkin_rate. The days before today are counted once a day: with `earlier`
    figures of today they are taken from those, and only today's due students are counted."""
    trend = [today - timedelta(days=i) for i in range(TREND_DAYS - 1, -1, -1)]
    earlier = earlier or {}
    cached = earlier.get("rates", {}).get("checkin")
    if cached is not None and "checked_by_day" in earlier:
        now = checkin_counts(session, user, first=today, last=today, settings=settings)
        per_day = {
            d.isoformat(): (
                earlier["checked_by_day"].get(d.isoformat(), 0),
                earlier["due_by_day"].get(d.isoformat(), 0),
            )
            for d in trend[:-1]
        }
        per_day[today.isoformat()] = (0, sum(due for _, due in now.values()))
        return cached, per_day
    first = today - timedelta(days=CHECKIN_WINDOW_DAYS)
    counts = checkin_counts(session, user, first=first, last=today, settings=settings)
    totals: dict[date, list[int]] = {}
    for (_, day), (checked, due) in counts.items():
        pair = totals.setdefault(day, [0, 0])
        pair[0] += checked
        pair[1] += due
    window = [pair for day, pair in totals.items() if day < today]
    checkin = _rate(sum(n for n, _ in window), sum(d for _, d in window))
    per_day = {d.isoformat(): tuple(totals.get(d, (0, 0))) for d in trend}
    return checkin, per_day


def _fresh(snapshot, *, today: date, now: datetime, settings) -> bool:
    # A snapshot stamped after `now` (another clock) is newer than anything we could compute.
    max_age = timedelta(minutes=settings.console.snapshot_max_age_min)
    current = all(key in snapshot.figures for key in SNAPSHOT_KEYS)  # not from an older build
    return current and snapshot.day == today and now - snapshot.computed_at <= max_age


def _snapshot_or_live(
    session: Session, user: ConsoleUser, *, today: date, settings, now: datetime
) -> tuple[dict, datetime]:
    """The user's fresh snapshot, else the figures computed now (and stored for the next read)."""
    scope = snapshot_scope(user)
    snapshot = read_snapshot(session, scope=scope) if scope is not None else None
    if snapshot is not None and _fresh(snapshot, today=today, now=now, settings=settings):
        return snapshot.figures, snapshot.computed_at
    earlier = snapshot.figures if snapshot is not None and snapshot.day == today else None
    figures = slow_figures(session, user, today=today, settings=settings, earlier=earlier)
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
    daily = _daily(session, user, today - timedelta(days=TREND_DAYS), today, tz)
    today_row = daily.get(today, dict(checkins=0, students=0, journals=0, tickets=0))
    slow, computed_at = _snapshot_or_live(session, user, today=today, settings=settings, now=now)
    rates = {key: dict(value) for key, value in slow["rates"].items()}
    for key, value in rates.items():
        value.update(label=RATES[key].label, definition=RATES[key].definition)
    due_by_day = slow.get("due_by_day", {})
    checked_by_day = slow.get("checked_by_day", {})
    trend = []
    for i in range(TREND_DAYS - 1, -1, -1):
        d = today - timedelta(days=i)
        done = daily.get(d, {}).get("students", 0)
        due = due_by_day.get(d.isoformat())
        # Before today: the due students who checked in; today: everyone checked in so far.
        checked = checked_by_day.get(d.isoformat(), done) if d < today else done
        r = _rate(checked, due) if due is not None else {"value": None, "den": 0}
        workday = is_workday(d, WEEKDAYS, settings)
        # value: students checked in (as before); rate: of those due that day.
        trend.append(
            {
                "day": d.isoformat(),
                "value": done,
                "due": r["den"],
                "rate": r["value"],
                "workday": workday,
            }
        )
    return {
        **slow,
        "as_of": today.isoformat(),
        "computed_at": computed_at.astimezone(tz).isoformat(timespec="seconds"),
        "today": today_row,
        "rates": rates,
        "trend": trend,
        "due_today": due_by_day.get(today.isoformat()),
        "ranking": ranking(session, user, today, today_row),
    }
