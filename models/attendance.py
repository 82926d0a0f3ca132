"""The facts the due-day rule (core.due) needs about students: placements, binding, leave.

Every function takes a Session or a Connection (the inbound path reads them for a whole batch).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy import select as sa_select
from sqlmodel import Session

from models.batch_sql import listed
from models.channel import ChannelAccount
from models.checkins import placements_of_students_read
from models.leave import Leave
from models.placement import Placement
from models.prepared import Prepared, Read, read_all


@dataclass(frozen=True, slots=True)
class DueFacts:
    """One student's placements, first binding of a chat account still active, approved leave."""

    placements: Sequence[Placement] = ()
    bound_at: datetime | None = None  # None: no active chat account (未绑定)
    leaves: Sequence[tuple[date, date]] = field(default_factory=tuple)


_ACCOUNT = ChannelAccount.__table__
_LEAVE = Leave.__table__
# Built once per dialect: the inbound path reads these for every batch of student messages.
_FIRST_BINDINGS = Prepared.per_dialect(
    lambda member: (
        sa_select(_ACCOUNT.c.person_id, func.min(_ACCOUNT.c.bound_at))
        .where(
            _ACCOUNT.c.person_kind == "student",
            member(_ACCOUNT.c.person_id, "student_ids", Integer),
            _ACCOUNT.c.active.is_(True),
        )
        .group_by(_ACCOUNT.c.person_id)
    )
)
_APPROVED_LEAVE = Prepared.per_dialect(
    lambda member: (
        sa_select(_LEAVE.c.student_id, _LEAVE.c.start_date, _LEAVE.c.end_date)
        .where(
            member(_LEAVE.c.student_id, "student_ids", Integer),
            _LEAVE.c.status == "approved",
            _LEAVE.c.start_date <= bindparam("last"),
            _LEAVE.c.end_date >= bindparam("first"),
        )
        .order_by(_LEAVE.c.student_id, _LEAVE.c.start_date)
    )
)


def _ids(executor, student_ids: Iterable[int]) -> list | str:
    return listed(executor, sorted(set(student_ids)))


def first_bindings_read(executor, *, student_ids: Iterable[int]) -> Read:
    """When each student's earliest still-active chat account was bound (`executor`: a
    Connection or a Session)."""
    ids = _ids(executor, student_ids)
    return Read(_FIRST_BINDINGS, {"student_ids": ids}, dict)


def first_bindings(executor, *, student_ids: Iterable[int]) -> dict[int, datetime]:
    return first_bindings_read(executor, student_ids=student_ids).run(executor)


def _leave_ranges(rows) -> dict[int, list[tuple[date, date]]]:
    out: dict[int, list[tuple[date, date]]] = defaultdict(list)
    for student_id, start, end in rows:
        out[student_id].append((start, end))
    return dict(out)


def approved_leave_days_read(
    executor, *, student_ids: Iterable[int], first: date, last: date
) -> Read:
    """Approved leave ranges touching [first, last], per student (the days are not due)."""
    ids = _ids(executor, student_ids)
    params = {"student_ids": ids, "first": first, "last": last}
    return Read(_APPROVED_LEAVE, params, _leave_ranges)


def approved_leave_days(
    executor, *, student_ids: Iterable[int], first: date, last: date
) -> dict[int, list[tuple[date, date]]]:
    read = approved_leave_days_read(executor, student_ids=student_ids, first=first, last=last)
    return read.run(executor)


def any_leave_on(session: Session, *, day: date) -> bool:
    """Whether any approved leave covers `day` (sweeps skip the leave probe when none does)."""
    found = session.execute(
        select(Leave.id)
        .where(Leave.status == "approved", Leave.start_date <= day, Leave.end_date >= day)
        .limit(1)
    ).first()
    return found is not None


def any_leave_between(session: Session, *, first: date, last: date) -> bool:
    """Whether any approved leave touches [first, last]."""
    found = session.execute(
        select(Leave.id)
        .where(Leave.status == "approved", Leave.start_date <= last, Leave.end_date >= first)
        .limit(1)
    ).first()
    return found is not None


def due_facts_reads(executor, *, student_ids: Iterable[int], first: date, last: date) -> list[Read]:
    """due_facts as reads to send with others (models.prepared.read_all); due_facts_of
    shapes their results."""
    ids = sorted(set(student_ids))
    return [
        placements_of_students_read(executor, student_ids=ids),
        first_bindings_read(executor, student_ids=ids),
        approved_leave_days_read(executor, student_ids=ids, first=first, last=last),
    ]


def due_facts_of(student_ids: Iterable[int], placements, bound, leaves) -> dict[int, DueFacts]:
    """The DueFacts of each student from the results of due_facts_reads."""
    return {
        sid: DueFacts(
            placements=tuple(placements.get(sid, ())),
            bound_at=bound.get(sid),
            leaves=tuple(leaves.get(sid, ())),
        )
        for sid in student_ids
    }


def due_facts(
    session: Session, *, student_ids: Iterable[int], first: date, last: date
) -> dict[int, DueFacts]:
    """Everything core.due needs to decide days in [first, last] for these students."""
    ids = sorted(set(student_ids))
    reads = due_facts_reads(session, student_ids=ids, first=first, last=last)
    return due_facts_of(ids, *read_all(session, reads))
