"""签到率: due days with a check-in ÷ due days (core.due), overall, per day and per group.

Most students have one placement in the window, no leave in it, and a chat account bound
before it: each workday of that placement in the window is due. For them the due days are
counted in SQL per (group, weekday mask) from the placements started and ended by each day,
and the checked ones come from the schools' daily roll-ups (students checked in per day), less
the check-ins on days that were not their workdays (public holidays; rest days, only on dates
some weekday mask leaves out); per city, class or teacher, where there is no roll-up, from the
check-ins. Everyone else — approved leave in the window, several placements in it, a first
binding inside it, no active chat account — is decided in Python by core.due.due_on, the same
rule; so is everyone in a teacher's small scope. A check-in needs a chat account, so students
never bound have none to count."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from datetime import date, datetime, time, timedelta

from sqlalchemy import distinct, exists, func, literal, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from core.due import day_bits, due_on, present_clause
from core.rates import CHECKIN_WINDOW_DAYS, ratio
from core.scope import condition, sees_whole_school
from core.settings import Settings
from core.workdays import ALL_WEEKDAYS
from models import ChannelAccount, CheckIn, ConsoleUser, Leave, Placement, SchoolDay, Student
from models.attendance import due_facts

CHUNK = 500
MAX_LISTED = 20_000  # special students passed as a list up to this many, else as a subquery

# group name -> (the group's column, whether it needs the student joined to placements)
GROUPS = {
    "school": (Placement.school_id, False),
    "city": (Placement.city, False),
    "class": (Student.class_id, True),
    "teacher": (Student.teacher_id, True),
}

Counts = dict[tuple, list[int]]  # (group value, day) -> [due days with a check-in, due days]


def checkin_rate(session: Session, user: ConsoleUser, *, today: date, settings: Settings) -> dict:
    """{value, num, den} for the days before `today` in the window, in the user's scope."""
    first, last = today - timedelta(days=CHECKIN_WINDOW_DAYS), today - timedelta(days=1)
    return checkin_rate_between(session, user, first=first, last=last, settings=settings)


def checkin_rate_between(
    session: Session, user: ConsoleUser, *, first: date, last: date, settings: Settings
) -> dict:
    """{value, num, den} over the days first..last (both included), in the user's scope."""
    counts = checkin_counts(session, user, first=first, last=last, settings=settings)
    return ratio(sum(n for n, _ in counts.values()), sum(d for _, d in counts.values()))


def checkin_counts(
    session: Session,
    user: ConsoleUser,
    *,
    first: date,
    last: date,
    settings: Settings,
    group: str | None = None,
) -> Counts:
    """Per (group value, day) of first..last: [due days with a check-in, due days].

    `group` is None (one group, None), "school", "city", "class" or "teacher"; a due day
    belongs to the group of the placement that counts that day (class and teacher: the
    student's).
    """
    if group is not None and group not in GROUPS:
        raise ValueError(f"unknown rate group {group!r}")
    if not sees_whole_school(user):
        ids = session.execute(select(Student.id).where(condition(user, Student))).scalars()
        return _exact(session, list(ids), first, last, settings, group)[0]
    since = datetime.combine(first, time(0, 0), tzinfo=settings.tz)
    special = _special_students(user, first, last, since)
    others = session.execute(special).scalars().all()
    counts, others_checked = _exact(session, others, first, last, settings, group)
    # The list itself when it is short enough for the drivers' parameter limits.
    excluded = others if len(others) <= MAX_LISTED else special

    def plain(student_id):
        return _bound_before(student_id, since) & student_id.not_in(excluded)

    masks = _add_due(session, user, plain, first, last, settings, group, counts)
    if group in (None, "school"):
        _add_checked_from_rollups(
            session, user, plain, first, last, settings, group, masks, others_checked, counts
        )
    else:
        _add_checked(session, user, plain, first, last, settings, group, counts)
    return counts


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _group_col(group: str | None):
    return (literal(None), False) if group is None else GROUPS[group]


def _add_due(session, user, plain, first, last, settings, group, counts: Counts) -> set[int]:
    """Add the due days of the students counted in SQL; return their weekday masks.

    Each has one placement in the window, so it is due on each workday of it there: per
    (group, mask), the placements started by a day less those ended before it.
    """
    where = condition(user, Placement) & _overlaps(first, last) & plain(Placement.student_id)
    starts = _running(session, Placement.start_date, where, group)
    ends = _running(session, Placement.end_date, where, group)
    keys = set(starts) | set(ends)
    for day in _days(first, last):
        bits = day_bits(day, settings)
        before = day - timedelta(days=1)
        for g, mask in keys:
            if mask & bits:
                n = _upto(starts, (g, mask), day) - _upto(ends, (g, mask), before)
                if n:
                    counts.setdefault((g, day), [0, 0])[1] += n
    return {mask for _, mask in keys}


def _running(session: Session, column, where, group: str | None) -> dict:
    """Per (group, mask): the sorted dates of `column` and the running count up to each."""
    key, join = _group_col(group)
    stmt = (
        select(key, Placement.workdays_mask, column, func.count())
        .select_from(Placement)
        .where(where)
        .group_by(key, Placement.workdays_mask, column)
        .order_by(key, Placement.workdays_mask, column)
    )
    if join:
        stmt = stmt.join(Student, Student.id == Placement.student_id)
    out: dict[tuple, tuple[list, list]] = {}
    for g, mask, day, n in session.execute(stmt).all():
        dates, running = out.setdefault((g, mask), ([], []))
        dates.append(day)
        running.append((running[-1] if running else 0) + n)
    return out


def _upto(running: dict, key: tuple, day: date) -> int:
    dates, totals = running.get(key, ((), ()))
    i = bisect_right(dates, day)
    return totals[i - 1] if i else 0


def _add_checked_from_rollups(
    session, user, plain, first, last, settings, group, masks, others_checked, counts: Counts
) -> None:
    """Add the checked due days of the students counted in SQL from the schools' roll-ups.

    A roll-up counts everyone with a check-in that day: less the students decided one by one,
    and less those whose placement rests that day (only on dates some weekday mask leaves out;
    on a public holiday nobody is due).
    """
    key = SchoolDay.school_id if group else literal(None)
    rows = session.execute(
        select(key, SchoolDay.day, func.sum(SchoolDay.students_checked_in))
        .where(condition(user, SchoolDay), SchoolDay.day.between(first, last))
        .group_by(key, SchoolDay.day)
    ).all()
    resting: dict[date, Counter] = {}
    for g, day, n in rows:
        bits = day_bits(day, settings)
        if not bits:
            continue
        n = int(n or 0) - others_checked.get((g, day), 0)
        if bits != ALL_WEEKDAYS and any(not mask & bits for mask in masks):
            if day not in resting:
                resting[day] = _checked_on_rest_day(session, user, plain, day, bits, group)
            n -= resting[day].get(g, 0)
        if n:
            counts.setdefault((g, day), [0, 0])[0] += n


def _add_checked(session, user, plain, first, last, settings, group, counts: Counts) -> None:
    """Add the checked due days of the students counted in SQL, read from the check-ins (no
    roll-up per city, class or teacher): students with a check-in on a workday of theirs."""
    key, join = _group_col(group)
    stmt = (
        select(key, CheckIn.day, Placement.workdays_mask, func.count(distinct(CheckIn.student_id)))
        .join(Placement, Placement.id == CheckIn.placement_id)
        .where(
            condition(user, CheckIn),
            CheckIn.day.between(first, last),
            plain(CheckIn.student_id),
            present_clause(),
        )
        .group_by(key, CheckIn.day, Placement.workdays_mask)
    )
    if join:
        stmt = stmt.join(Student, Student.id == CheckIn.student_id)
    for g, day, mask, n in session.execute(stmt).all():
        if mask & day_bits(day, settings):
            counts.setdefault((g, day), [0, 0])[0] += int(n)


def _overlaps(first: date, last: date):
    return (Placement.start_date <= last) & (Placement.end_date >= first)


def _bound_before(student_id, since: datetime):
    """The student has an active chat account bound before `since` (a probe per row)."""
    return exists().where(
        ChannelAccount.person_kind == "student",
        ChannelAccount.person_id == student_id,
        ChannelAccount.active.is_(True),
        ChannelAccount.bound_at < since,
    )


def _special_students(user: ConsoleUser, first: date, last: date, since: datetime):
    """Students decided one by one: leave or several placements in the window, a first
    binding inside it, or chat accounts that are all unbound now."""
    with_leave = select(Leave.student_id).where(
        condition(user, Leave),
        Leave.status == "approved",
        Leave.start_date <= last,
        Leave.end_date >= first,
    )
    several = (
        select(Placement.student_id)
        .where(condition(user, Placement), _overlaps(first, last))
        .group_by(Placement.student_id)
        .having(func.count() > 1)
    )
    # Driven by the few recent or unbound accounts; each probes the student's other accounts.
    bound_lately = _accounts(
        user,
        ChannelAccount.active.is_(True),
        ChannelAccount.bound_at >= since,
        ~_other_account(bound_before=since),
    )
    unbound_now = _accounts(user, ChannelAccount.active.is_(False), ~_other_account())
    # Never correlated: the readers filter placements and check-ins by this list.
    return with_leave.correlate(None).union(
        several.correlate(None), bound_lately.correlate(None), unbound_now.correlate(None)
    )


def _accounts(user: ConsoleUser, *where):
    """Students (in the user's scope) with a chat account matching `where`."""
    stmt = select(ChannelAccount.person_id).where(ChannelAccount.person_kind == "student", *where)
    if user.role != "province":
        stmt = stmt.join(Student, Student.id == ChannelAccount.person_id).where(
            condition(user, Student)
        )
    return stmt


def _other_account(*, bound_before: datetime | None = None):
    """An active chat account of the same student (bound before `bound_before`, if given)."""
    other = aliased(ChannelAccount)
    found = exists().where(
        other.person_kind == "student",
        other.person_id == ChannelAccount.person_id,
        other.active.is_(True),
    )
    return found.where(other.bound_at < bound_before) if bound_before else found


def _groups(session, user, plain, first: date, last: date):
    """(mask, start, end, placements) of the students counted in SQL."""
    return session.execute(
        select(Placement.workdays_mask, Placement.start_date, Placement.end_date, func.count())
        .where(condition(user, Placement), _overlaps(first, last), plain)
        .group_by(Placement.workdays_mask, Placement.start_date, Placement.end_date)
    ).all()


def _checked_per_day(session, user, first: date, last: date) -> dict[date, int]:
    """Students with a check-in per day in the scope, from the schools' daily roll-ups."""
    return dict(
        session.execute(
            select(SchoolDay.day, func.sum(SchoolDay.students_checked_in))
            .where(condition(user, SchoolDay), SchoolDay.day.between(first, last))
            .group_by(SchoolDay.day)
        ).all()
    )


def _checked_on_rest_day(session, user, plain, day: date, bits: int, group) -> Counter:
    """Per school (or None): students counted in SQL who checked in on `day` though their
    placement rests then."""
    key = CheckIn.school_id if group else literal(None)
    resting = (
        select(key.label("g"), CheckIn.student_id)
        .join(Placement, Placement.id == CheckIn.placement_id)
        .where(
            condition(user, CheckIn),
            CheckIn.day == day,
            CheckIn.kind == "start",  # one a student and day: the first
            present_clause(),
            Placement.workdays_mask.op("&")(bits) == 0,
        )
        .distinct()
        .subquery("resting")
    )  # few rows: the student filter runs on them only
    count = (
        select(resting.c.g, func.count()).where(plain(resting.c.student_id)).group_by(resting.c.g)
    )
    return Counter(dict(session.execute(count).all()))


def _exact(
    session, student_ids: list[int], first: date, last: date, settings, group
) -> tuple[Counts, Counter]:
    """By core.due in Python: the counts of these students, and their students with a
    check-in per (school or None, day) to take off the roll-ups."""
    facts = due_facts(session, student_ids=student_ids, first=first, last=last)
    checked: set = set()
    rolled: Counter = Counter()
    for i in range(0, len(student_ids), CHUNK):
        part = student_ids[i : i + CHUNK]
        rows = session.execute(
            select(CheckIn.student_id, CheckIn.day, CheckIn.school_id)
            .where(
                CheckIn.student_id.in_(part),
                CheckIn.day.between(first, last),
                present_clause(),
            )
            .distinct()
        ).all()
        for sid, day, school_id in rows:
            checked.add((sid, day))
            if group == "school":  # the roll-ups count a student once per school and day
                rolled[(school_id, day)] += 1
    if group is None:
        rolled = Counter((None, day) for _, day in checked)
    of_student = _student_groups(session, facts, group)
    counts: Counts = {}
    for sid, f in facts.items():
        for day in _days(first, last):
            decision = due_on(f, day, settings)
            if not decision.ok:
                continue
            if group in ("school", "city"):
                g = getattr(decision.placement, "school_id" if group == "school" else "city")
            else:
                g = of_student.get(sid)
            entry = counts.setdefault((g, day), [0, 0])
            entry[1] += 1
            entry[0] += (sid, day) in checked
    return counts, rolled


def _student_groups(session, facts: dict, group) -> dict:
    """The class or teacher of each student (group "class" or "teacher"), else nothing."""
    if group not in ("class", "teacher"):
        return {}
    column = GROUPS[group][0]
    ids = list(facts)
    out = {}
    for i in range(0, len(ids), CHUNK):
        part = ids[i : i + CHUNK]
        out.update(session.execute(select(Student.id, column).where(Student.id.in_(part))).all())
    return out
