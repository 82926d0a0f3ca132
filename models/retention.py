"""The retention rule (SPEC section 13): personal records of placements ended long ago go.

A placement ended before `cutoff` (today less [privacy] retain_days_after_end) has its check-ins'
coordinates cleared (the check-ins themselves stay: attendance figures are aggregates); its
student's location samples, journals and tickets (with their notes and the alerts they raised)
are deleted, unless they belong to a placement of the student that is not that old: an item
dated before the start of the student's earliest such placement, or any item when there is none,
is expired. Set-based statements, safe to run again (a second run finds nothing).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import and_, case, delete, exists, func, or_, select, update

from models.placement import Placement
from models.records import CheckIn, Journal, LocationSample
from models.tickets import Alert, CaseNote, Ticket


def _horizon(cutoff: date):
    """Per student with an expired placement: keep_from, the first day still kept (NULL: none)."""
    live_start = case((Placement.end_date >= cutoff, Placement.start_date))
    return (
        select(Placement.student_id, func.min(live_start).label("keep_from"))
        .group_by(Placement.student_id)
        .having(func.min(Placement.end_date) < cutoff)
        .subquery("horizon")
    )


def _expired(horizon, student_col, when_col):
    return exists().where(
        horizon.c.student_id == student_col,
        or_(horizon.c.keep_from.is_(None), when_col < horizon.c.keep_from),
    )


def _run(conn, stmt) -> int:
    return conn.execute(stmt.execution_options(synchronize_session=False)).rowcount or 0


def expire_personal_data(conn, *, cutoff: date, unattributed_before: datetime) -> dict[str, int]:
    """Apply the rule as of `cutoff`; location samples of no student go when older than
    `unattributed_before`. Returns how many rows each step changed (zeros left out)."""
    horizon = _horizon(cutoff)
    ended = select(Placement.id).where(Placement.end_date < cutoff)
    doomed_tickets = select(Ticket.id).where(
        _expired(horizon, Ticket.student_id, Ticket.created_at)
    )
    raised = select(Alert.id).where(Alert.ticket_id.in_(doomed_tickets))
    counts = {
        "checkin_coordinates": _run(
            conn,
            update(CheckIn)
            .where(CheckIn.placement_id.in_(ended), CheckIn.norm_lat.is_not(None))
            .values(
                raw_lat=None,
                raw_lng=None,
                norm_lat=None,
                norm_lng=None,
                label="",
                accuracy_m=None,
                point=None,
            ),
        ),
        "location_samples": _run(
            conn,
            delete(LocationSample).where(
                or_(
                    _expired(horizon, LocationSample.student_id, LocationSample.at),
                    and_(
                        LocationSample.student_id.is_(None),
                        LocationSample.at < unattributed_before,
                    ),
                )
            ),
        ),
        "journals": _run(
            conn, delete(Journal).where(_expired(horizon, Journal.student_id, Journal.period_start))
        ),
        "case_notes": _run(
            conn,
            delete(CaseNote).where(
                or_(
                    and_(CaseNote.case_kind == "ticket", CaseNote.case_id.in_(doomed_tickets)),
                    and_(CaseNote.case_kind == "alert", CaseNote.case_id.in_(raised)),
                )
            ),
        ),
        "alerts": _run(conn, delete(Alert).where(Alert.id.in_(raised))),
        "tickets": _run(conn, delete(Ticket).where(Ticket.id.in_(doomed_tickets))),
    }
    return {name: n for name, n in counts.items() if n}
