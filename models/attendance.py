"""The facts the due-day rule (core.due) needs about students: placements, binding, leave.

Every function takes a Session or a Connection (the inbound path reads them for a whole batch).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlmodel import Session

from models.channel import ChannelAccount
from models.checkins import placements_of_students
from models.leave import Leave
from models.placement import Placement

CHUNK = 500


@dataclass(frozen=True, slots=True)
class DueFacts:
    """One student's placements, first binding of a chat account still active, approved leave."""

    placements: Sequence[Placement] = ()
    bound_at: datetime | None = None  # None: no active chat account (未绑定)
    leaves: Sequence[tuple[date, date]] = field(default_factory=tuple)


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def first_bindings(session: Session, *, student_ids: Iterable[int]) -> dict[int, datetime]:
    """When each student's earliest still-active chat account was bound."""
    out: dict[int, datetime] = {}
    for part in _chunks(sorted(set(student_ids))):
        out.update(
            session.execute(
                select(ChannelAccount.person_id, func.min(ChannelAccount.bound_at))
                .where(
                    ChannelAccount.person_kind == "student",
                    ChannelAccount.person_id.in_(part),
                    ChannelAccount.active.is_(True),
                )
                .group_by(ChannelAccount.person_id)
            ).all()
        )
    return out


def approved_leave_days(
    session: Session, *, student_ids: Iterable[int], first: date, last: date
) -> dict[int, list[tuple[date, date]]]:
    """Approved leave ranges touching [first, last], per student (the days are not due)."""
    out: dict[int, list[tuple[date, date]]] = defaultdict(list)
    for part in _chunks(sorted(set(student_ids))):
        rows = session.execute(
            select(Leave.student_id, Leave.start_date, Leave.end_date)
            .where(
                Leave.student_id.in_(part),
                Leave.status == "approved",
                Leave.start_date <= last,
                Leave.end_date >= first,
            )
            .order_by(Leave.student_id, Leave.start_date)
        ).all()
        for student_id, start, end in rows:
            out[student_id].append((start, end))
    return dict(out)


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


def due_facts(
    session: Session, *, student_ids: Iterable[int], first: date, last: date
) -> dict[int, DueFacts]:
    """Everything core.due needs to decide days in [first, last] for these students."""
    ids = sorted(set(student_ids))
    placements = placements_of_students(session, student_ids=ids)  # plain rows, any executor
    bound = first_bindings(session, student_ids=ids)
    leaves = approved_leave_days(session, student_ids=ids, first=first, last=last)
    return {
        sid: DueFacts(
            placements=tuple(placements.get(sid, ())),
            bound_at=bound.get(sid),
            leaves=tuple(leaves.get(sid, ())),
        )
        for sid in ids
    }
