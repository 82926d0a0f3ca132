"""Who is due to check in on a day, and how late a check-in is: the one rule (SPEC section 3).

A student is DUE on day D when all of these hold:
- a placement counts on D: of the student's placements running on D, the latest started
  (then the highest id) — `counting_placement` / `counts_clause`;
- D is a workday of that placement: its weekday is in the placement's mask, official public
  holidays are off and official make-up days (调休) are on — `day_bits`, decided once per date;
- the student is not on approved leave on D — `on_leave` / `leave_clause`;
- an active chat account of the student was bound no later than D's nudge time (shift start +
  `[scheduler] nudge_after_min`): days before binding are not missed, and a student with no
  active binding is not due but listed apart as 未绑定 — `first_due_day` / `bound_clause`.

A check-in makes a student PRESENT unless it waits for a teacher (待核实: `[checkin]
require_device` and no device or event evidence, SPEC 11) — `is_present` / `present_clause`.

A start check-in is LATE by the whole minutes past shift start + `[checkin] late_after_min`, so
it is late from the first full minute after that — `late_minutes` / `late_clause`.

Each fact has a Python form for one student (chat) and a SQL form over `placements` rows for
set-based readers (sweeps, console, API, statistics), both built from the primitives here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, case, exists, false, func, or_, select, true
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from core.calendar import holiday_name, is_makeup_workday
from core.evidence import PENDING
from core.settings import Settings
from core.sqltime import add_days, local_day, offset_minutes, shift_moment
from core.workdays import ALL_WEEKDAYS
from models import ChannelAccount, CheckIn, Placement
from models.attendance import DueFacts
from models.leave import Leave

# Why a day is or is not due; "ok" means due.
REASONS = (
    "ok",
    "none",  # no placement at all
    "not_started",
    "ended",
    "holiday",  # an official public holiday
    "rest_day",  # not one of the placement's weekdays
    "leave",  # approved leave
    "unbound",  # no active chat account
    "before_binding",  # bound only after that day's nudge time
)


@dataclass(frozen=True, slots=True)
class DayDecision:
    """Whether a student should check in on a day, with the placement that counts and why."""

    placement: Placement | None
    reason: str
    holiday: str | None = None  # the holiday's name when reason == "holiday"
    starts: date | None = None  # the first placement's start when reason == "not_started"
    ended: date | None = None  # the last placement's end when reason == "ended"

    @property
    def ok(self) -> bool:
        return self.reason == "ok"

    @property
    def works(self) -> bool:
        """A workday of a counting placement, whether or not the student is due on it."""
        return self.reason in ("ok", "leave", "unbound", "before_binding")


# --- the calendar: one decision per date --------------------------------------------------


def day_bits(day: date, settings: Settings) -> int:
    """The weekday bits that work on `day`: none on a public holiday, all on a make-up day."""
    if holiday_name(day, settings) is not None:
        return 0
    if is_makeup_workday(day, settings):
        return ALL_WEEKDAYS
    return 1 << (day.isoweekday() - 1)


def is_workday(day: date, workdays_mask: int, settings: Settings) -> bool:
    """Whether a placement with `workdays_mask` works on `day`."""
    return bool(workdays_mask & day_bits(day, settings))


def workdays_between(start: date, end: date, workdays_mask: int, settings: Settings) -> list[date]:
    """Every workday from `start` to `end`, both included."""
    days = (start + timedelta(days=i) for i in range((end - start).days + 1))
    return [d for d in days if is_workday(d, workdays_mask, settings)]


def workday_counts(first: date, last: date, settings: Settings) -> dict[int, list[int]]:
    """Per weekday mask (all 128): the workdays in [first, first + i) for i = 0 .. n days.

    Prefix sums of the calendar, so "workdays of a mask between two dates" is a subtraction.
    """
    bits = [day_bits(first + timedelta(days=i), settings) for i in range((last - first).days + 1)]
    counts = {}
    for mask in range(ALL_WEEKDAYS + 1):
        running = [0]
        for b in bits:
            running.append(running[-1] + (1 if mask & b else 0))
        counts[mask] = running
    return counts


def works_clause(day: date, settings: Settings) -> ColumnElement[bool]:
    """SQL: the placement works on `day` (the calendar decided once in Python for the date)."""
    bits = day_bits(day, settings)
    if bits == 0:
        return false()
    if bits == ALL_WEEKDAYS:
        return true()
    return Placement.workdays_mask.op("&")(bits) != 0


def works_on_clause(day_column, days: Iterable[date], settings: Settings) -> ColumnElement[bool]:
    """SQL: the placement works on the date in `day_column`, which is one of `days`."""
    bits = case(*[(day_column == d, day_bits(d, settings)) for d in days], else_=0)
    return Placement.workdays_mask.op("&")(bits) != 0


# --- which placement counts ---------------------------------------------------------------


def counting_placement(placements: Iterable[Placement], day: date) -> Placement | None:
    """Of the placements running on `day`, the latest started (then the highest id)."""
    running = [p for p in placements if p.start_date <= day <= p.end_date]
    return max(running, key=lambda p: (p.start_date, p.id or 0)) if running else None


def active_on(day: date, dialect: str) -> ColumnElement[bool]:
    """SQL: placements running on `day`, as a filter for sweeps that visit most of them.

    On SQLite the (start_date, end_date) index would be walked, with a table lookup per
    placement in date order, and check-ins and chat accounts probed in that random order: at
    seed scale (542,092 placements, a 9 GB file) 13-40 s for the nudge sweep. Kept off that
    index by a unary + (a no-op on values), SQLite walks in student order instead, so every
    probe lands near the last one: about 2 s. PostgreSQL plans from its statistics and gets
    the plain columns.
    """
    start, end = Placement.start_date, Placement.end_date
    if dialect == "sqlite":
        start, end = _unindexed(start), _unindexed(end)
    return (start <= day) & (end >= day)


def _unindexed(column):
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type)


def counts_clause(day: date, dialect: str) -> ColumnElement[bool]:
    """SQL: the placement runs on `day` and no later-started one of the student does."""
    newer = aliased(Placement)
    superseded = (
        exists()
        .correlate_except(newer)
        .where(
            newer.student_id == Placement.student_id,
            newer.start_date <= day,
            newer.end_date >= day,
            or_(
                newer.start_date > Placement.start_date,
                and_(newer.start_date == Placement.start_date, newer.id > Placement.id),
            ),
        )
    )
    return active_on(day, dialect) & ~superseded


# --- leave ----------------------------------------------------------------------------------


def on_leave(day: date, leaves: Iterable[tuple[date, date]]) -> bool:
    """Whether `day` falls in one of the approved leave ranges."""
    return any(start <= day <= end for start, end in leaves)


def leave_clause(day: date, student_id=None) -> ColumnElement[bool]:
    """SQL: the student (default: the placement's) is on approved leave on `day`."""
    leave = aliased(Leave)
    return (
        exists()
        .correlate_except(leave)
        .where(
            leave.student_id == (Placement.student_id if student_id is None else student_id),
            leave.status == "approved",
            leave.start_date <= day,
            leave.end_date >= day,
        )
    )


# --- binding --------------------------------------------------------------------------------


def nudge_moment(day: date, shift_start: time, settings: Settings) -> datetime:
    """When a student working `day` is nudged: shift start + nudge_after_min."""
    start = datetime.combine(day, shift_start, tzinfo=settings.tz)
    return start + timedelta(minutes=settings.scheduler.nudge_after_min)


def first_due_day(bound_at: datetime, shift_start: time, settings: Settings) -> date:
    """The first day whose nudge time is not before the binding (nudge_after_min < 1 day)."""
    day = bound_at.astimezone(settings.tz).date() - timedelta(days=1)
    while bound_at > nudge_moment(day, shift_start, settings):
        day += timedelta(days=1)
    return day


def _moment_sql(day, settings: Settings, offset_day: date, minutes: int, shift=None):
    return shift_moment(
        day,
        Placement.shift_start if shift is None else shift,
        minutes=minutes,
        tz=settings.tz,
        offset=offset_minutes(settings.tz, offset_day),
    )


def bound_clause(day: date, settings: Settings) -> ColumnElement[bool]:
    """SQL: an active chat account of the placement's student was bound by `day`'s nudge."""
    moment = _moment_sql(day, settings, day, settings.scheduler.nudge_after_min)
    # No nudge moment of `day` is before its midnight: a binding before it needs no arithmetic.
    midnight = datetime.combine(day, time(0, 0), tzinfo=settings.tz)
    account = aliased(ChannelAccount)  # the reader may join chat accounts itself
    return (
        exists()
        .correlate_except(account)
        .where(
            account.person_kind == "student",
            account.person_id == Placement.student_id,
            account.active.is_(True),
            (account.bound_at < midnight) | (account.bound_at <= moment),
        )
    )


def reachable_clause(student_id=None) -> ColumnElement[bool]:
    """SQL: the student has an active chat account now (otherwise listed as 未绑定)."""
    account = aliased(ChannelAccount)
    return (
        exists()
        .correlate_except(account)
        .where(
            account.person_kind == "student",
            account.person_id == (Placement.student_id if student_id is None else student_id),
            account.active.is_(True),
        )
    )


def bound_since_sql(student_id=None):
    """SQL scalar: the first binding of the student's active chat accounts (NULL: none)."""
    account = aliased(ChannelAccount)
    return (
        select(func.min(account.bound_at))
        .where(
            account.person_kind == "student",
            account.person_id == (Placement.student_id if student_id is None else student_id),
            account.active.is_(True),
        )
        .correlate_except(account)  # to the student's row at whatever depth it is used
        .scalar_subquery()
    )


def first_due_day_sql(bound_at, settings: Settings, near: date, shift_start=None):
    """SQL for `first_due_day` of a bound_at expression and a shift start (the placement's).

    `near` is a date close to the bindings concerned (SQLite takes the zone's offset there).
    """
    offset = offset_minutes(settings.tz, near)
    bound_day = local_day(bound_at, tz=settings.tz, offset=offset)
    minutes = settings.scheduler.nudge_after_min

    def moment(day):
        return _moment_sql(day, settings, near, minutes, shift_start)

    # As in the Python form: the day before the binding's local date, that date, or the next.
    earlier = add_days(bound_day, -1)
    return case(
        (bound_at <= moment(earlier), earlier),
        (bound_at <= moment(bound_day), bound_day),
        else_=add_days(bound_day, 1),
    )


# --- the whole rule -------------------------------------------------------------------------


def decide_day(placements: Iterable[Placement], day: date, settings: Settings) -> DayDecision:
    """The calendar part: the placement that counts on `day` and whether it works that day."""
    rows = list(placements)
    placement = counting_placement(rows, day)
    if placement is None:
        future = [p.start_date for p in rows if p.start_date > day]
        past = [p.end_date for p in rows if p.end_date < day]
        if future:
            return DayDecision(None, "not_started", starts=min(future))
        if past:
            return DayDecision(None, "ended", ended=max(past))
        return DayDecision(None, "none")
    name = holiday_name(day, settings)
    if name is not None:
        return DayDecision(placement, "holiday", holiday=name)
    if not is_workday(day, placement.workdays_mask, settings):
        return DayDecision(placement, "rest_day")
    return DayDecision(placement, "ok")


def due_on(facts: DueFacts, day: date, settings: Settings) -> DayDecision:
    """Whether the student is due on `day` (reason "ok"), or why not."""
    decision = decide_day(facts.placements, day, settings)
    if not decision.ok:
        return decision
    if on_leave(day, facts.leaves):
        return DayDecision(decision.placement, "leave")
    if facts.bound_at is None:
        return DayDecision(decision.placement, "unbound")
    if facts.bound_at > nudge_moment(day, decision.placement.shift_start, settings):
        return DayDecision(decision.placement, "before_binding")
    return decision


def due_days(facts: DueFacts, first: date, last: date, settings: Settings) -> list[date]:
    """Every day in [first, last] the student is due."""
    days = (first + timedelta(days=i) for i in range((last - first).days + 1))
    return [d for d in days if due_on(facts, d, settings).ok]


def scheduled_clause(day: date, settings: Settings, dialect: str) -> ColumnElement[bool]:
    """SQL: the placement counts and works on `day` (due unless on leave or unbound)."""
    return works_clause(day, settings) & counts_clause(day, dialect)


def due_clause(
    day: date, settings: Settings, dialect: str, *, any_leave: bool = True, joined_account=None
) -> ColumnElement[bool]:
    """SQL over placements: the placement's student is due on `day` through it.

    Shortcuts that change nothing of the rule: `any_leave=False` (the caller found no approved
    leave covering `day`) leaves out the leave probe; `joined_account`, the student's active
    chat account the reader already joins, proves the binding when it predates the day.
    """
    bound = bound_clause(day, settings)
    if joined_account is not None:
        midnight = datetime.combine(day, time(0, 0), tzinfo=settings.tz)
        bound = (joined_account.bound_at < midnight) | bound
    due = scheduled_clause(day, settings, dialect) & bound
    return due & ~leave_clause(day) if any_leave else due


# --- lateness -------------------------------------------------------------------------------


def is_present(row) -> bool:
    """A check-in (row or values) that counts as present: not one waiting to be verified."""
    return getattr(row, "verify", "") != PENDING


def present_clause(checkin=CheckIn) -> ColumnElement[bool]:
    """SQL form of is_present on `checkin` (the CheckIn model or an alias/table)."""
    column = checkin.verify if hasattr(checkin, "verify") else checkin.c.verify
    return column != PENDING


def late_minutes(at: datetime, shift_start: time, settings: Settings) -> int:
    """Whole minutes a start check-in is past shift start + late_after_min (0: on time)."""
    local = at.astimezone(settings.tz)
    start = datetime.combine(local.date(), shift_start, tzinfo=settings.tz)
    late = local - start - timedelta(minutes=settings.checkin.late_after_min)
    return max(0, int(late.total_seconds() // 60))


def late_from(day: date, shift_start: time, settings: Settings) -> datetime:
    """The first instant a start check-in on `day` counts as late (a full minute past grace)."""
    start = datetime.combine(day, shift_start, tzinfo=settings.tz)
    return start + timedelta(minutes=settings.checkin.late_after_min + 1)


def late_clause(first_at, day: date, settings: Settings) -> ColumnElement[bool]:
    """SQL: a start check-in at `first_at` on `day` is late for the placement's shift."""
    moment = _moment_sql(day, settings, day, settings.checkin.late_after_min + 1)
    return first_at.is_not(None) & (first_at >= moment)


__all__: Sequence[str] = (
    "REASONS",
    "DayDecision",
    "DueFacts",
    "active_on",
    "bound_clause",
    "bound_since_sql",
    "counting_placement",
    "counts_clause",
    "day_bits",
    "decide_day",
    "due_clause",
    "due_days",
    "due_on",
    "first_due_day",
    "first_due_day_sql",
    "is_workday",
    "late_clause",
    "late_from",
    "late_minutes",
    "leave_clause",
    "nudge_moment",
    "on_leave",
    "reachable_clause",
    "scheduled_clause",
    "workdays_between",
    "works_clause",
)
