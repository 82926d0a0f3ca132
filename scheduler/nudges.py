"""Check-in nudges: remind students who have not checked in by shift start + 30 minutes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists
from sqlmodel import Session

from core.due import due_clause, present_clause
from core.settings import Settings
from models import ChannelAccount, CheckIn, Placement
from models.attendance import any_leave_on
from scheduler.days import day_end, due_windows
from scheduler.outbox_sql import (
    insert_select,
    key_expr,
    placements_with_student_chats,
    row_columns,
    student_params,
    tune_for_bulk,
)

KIND = "nudge"


def sweep_nudges(session: Session, settings: Settings, now: datetime) -> int:
    """Queue one nudge per bound chat account of each absentee whose nudge time has come."""
    tune_for_bulk(session)
    queued = 0
    for window in due_windows(now, settings, after_min=settings.scheduler.nudge_after_min):
        expires_at = day_end(window.day, settings)
        if expires_at <= now:
            continue  # a nudge is about one day; yesterday's late shift is past reminding
        columns = row_columns(
            session,
            key=key_expr(KIND, Placement.student_id, window.day.isoformat()),
            school_id=Placement.school_id,
            kind=KIND,
            person_kind="student",
            person_id=Placement.student_id,
            day=window.day,
            quiet_hours=True,
            now=now,
            expires_at=expires_at,
            # The student's own name for the template's {student} field (SPEC section 9).
            params=student_params(session),
        )
        # The anti-join: students due today (core.due), minus those with a check-in today.
        stmt = placements_with_student_chats(*columns).where(
            Placement.shift_start >= window.lo,
            Placement.shift_start <= window.hi,
            due_clause(
                window.day,
                settings,
                session.get_bind().dialect.name,
                any_leave=any_leave_on(session, day=window.day),
                joined_account=ChannelAccount,
            ),
            ~exists().where(
                CheckIn.student_id == Placement.student_id,
                CheckIn.day == window.day,
                present_clause(),
            ),
        )
        queued += insert_select(session, stmt)
    return queued
