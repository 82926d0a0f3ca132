"""Every row that names one student: found for export, deleted for erasure (SPEC section 13).

Found by the schema, not by a list kept by hand: each table with a `student_id` column (a
table added later, such as leave requests, is covered the day it exists), plus the rows that
name the student another way: their chat bindings, invite codes, consents, outbox messages,
dialog state, unattributed location samples from their chat accounts, the notes on their
tickets and alerts, the audit lines about them, and their guardians.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Table, and_, delete, false, or_, select, tuple_, update
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from models.channel import BindFailure, ChannelAccount, ConversationState, InviteCode
from models.console import AuditLog
from models.outbox import OutboxMessage
from models.people import Guardianship, Parent, Student
from models.records import LocationSample
from models.tickets import Alert, CaseNote, Ticket


def _student_tables() -> list[Table]:
    """Tables with a student_id column, dependents first (safe deletion order)."""
    tables = [t for t in SQLModel.metadata.sorted_tables if "student_id" in t.c]
    return list(reversed(tables))


def _person(table: Table, kind: str, ids) -> Any:
    return and_(table.c.person_kind == kind, table.c.person_id.in_(ids))


class PersonalData:
    """The rows naming one student, as (table, condition) pairs, in deletion order."""

    def __init__(self, conn: Connection, student: Student | Any):
        self.conn = conn
        self.student_id = student.id
        sid = self.student_id
        accounts = conn.execute(
            select(ChannelAccount.id, ChannelAccount.channel, ChannelAccount.external_id).where(
                ChannelAccount.person_kind == "student", ChannelAccount.person_id == sid
            )
        ).all()
        self.account_ids = [a.id for a in accounts]
        self.chat_ids = [(a.channel, a.external_id) for a in accounts]
        self.parent_ids = list(
            conn.execute(
                select(Guardianship.parent_id).where(Guardianship.student_id == sid)
            ).scalars()
        )
        # Parents whose only child this is: their data exists only because of this student.
        self.sole_parent_ids = self._sole_parents()

    def _sole_parents(self) -> list[int]:
        counts = defaultdict(int)
        for parent_id, _ in self.conn.execute(
            select(Guardianship.parent_id, Guardianship.student_id).where(
                Guardianship.parent_id.in_(self.parent_ids)
            )
        ):
            counts[parent_id] += 1
        return [p for p, n in counts.items() if n == 1]

    def _chat(self, table: Table, ids=None) -> Any:
        chats = ids if ids is not None else self.chat_ids
        if not chats:
            return false()
        return tuple_(table.c.channel, table.c.external_id).in_(chats)

    def _parent_chats(self) -> list[tuple[str, str]]:
        if not self.sole_parent_ids:
            return []
        rows = self.conn.execute(
            select(ChannelAccount.channel, ChannelAccount.external_id).where(
                _person(ChannelAccount.__table__, "parent", self.sole_parent_ids)
            )
        ).all()
        return [tuple(r) for r in rows]

    def selections(self) -> list[tuple[Table, Any]]:
        """(table, condition) for every row naming the student, dependents before parents."""
        sid = self.student_id
        tickets = select(Ticket.id).where(Ticket.student_id == sid)
        alerts = select(Alert.id).where(Alert.student_id == sid)
        actors = [f"chat:{channel}:{external}" for channel, external in self.chat_ids]
        audit = AuditLog.__table__
        about = or_(
            and_(audit.c.target_kind == "student", audit.c.target_id == str(sid)),
            audit.c.actor.in_(actors) if actors else false(),
        )
        samples = LocationSample.__table__
        found: list[tuple[Table, Any]] = [
            (
                CaseNote.__table__,
                or_(
                    and_(CaseNote.case_kind == "ticket", CaseNote.case_id.in_(tickets)),
                    and_(CaseNote.case_kind == "alert", CaseNote.case_id.in_(alerts)),
                ),
            ),
            (audit, about),
            (ConversationState.__table__, self._chat(ConversationState.__table__)),
            (BindFailure.__table__, self._chat(BindFailure.__table__)),
            # Samples sent before binding carry no student, only the chat account.
            (samples, or_(samples.c.student_id == sid, self._chat(samples))),
        ]
        for table in _student_tables():
            if table is not samples:
                found.append((table, table.c.student_id == sid))
        invites = InviteCode.__table__
        outbox = OutboxMessage.__table__
        accounts = ChannelAccount.__table__
        found += [
            (invites, _person(invites, "student", [sid])),
            (outbox, _person(outbox, "student", [sid])),
            (accounts, _person(accounts, "student", [sid])),
        ]
        if self.sole_parent_ids:  # guardians of this child only go with it
            parents = self.sole_parent_ids
            states = ConversationState.__table__
            parent_chats = self._parent_chats()
            parent_actors = [f"chat:{channel}:{external}" for channel, external in parent_chats]
            found += [
                (
                    audit,
                    or_(
                        and_(
                            audit.c.target_kind == "parent",
                            audit.c.target_id.in_([str(p) for p in parents]),
                        ),
                        audit.c.actor.in_(parent_actors) if parent_actors else false(),
                    ),
                ),
                (states, self._chat(states, parent_chats)),
                (invites, _person(invites, "parent", parents)),
                (outbox, _person(outbox, "parent", parents)),
                (accounts, _person(accounts, "parent", parents)),
            ]
        if self.parent_ids:  # every guardian is in the export; erase() keeps the shared ones
            found.append((Parent.__table__, Parent.__table__.c.id.in_(self.parent_ids)))
        found.append((Student.__table__, Student.__table__.c.id == sid))
        return found

    def rows(self) -> dict[str, list[dict]]:
        """Every row naming the student, by table (export)."""
        out: dict[str, list[dict]] = defaultdict(list)
        seen: set[tuple[str, Any]] = set()
        for table, condition in self.selections():
            for row in self.conn.execute(select(table).where(condition)).mappings():
                key = (table.name, row.get("id", tuple(row.values())))
                if key not in seen:
                    seen.add(key)
                    out[table.name].append(dict(row))
        return dict(out)

    def erase(self) -> dict[str, int]:
        """Delete every row naming the student; returns how many per table."""
        counts: dict[str, int] = defaultdict(int)
        for table, condition in self.selections():
            if table is Parent.__table__:  # guardians of other children too stay
                condition = Parent.__table__.c.id.in_(self.sole_parent_ids)
            self._release_references(table, condition)
            counts[table.name] += self.conn.execute(delete(table).where(condition)).rowcount
        return {name: n for name, n in counts.items() if n}

    def _release_references(self, table: Table, condition) -> None:
        """Rows of other tables pointing at rows about to go: nullable references are cleared
        (an invite code's used_by, a consent's account), the rest were deleted before."""
        doomed = select(table.c.id).where(condition) if "id" in table.c else None
        if doomed is None:
            return
        for other in SQLModel.metadata.sorted_tables:
            for fk in other.foreign_keys:
                if fk.column.table is table and fk.parent.nullable:
                    self.conn.execute(
                        update(other).where(fk.parent.in_(doomed)).values({fk.parent.name: None})
                    )


def jsonable(value: Any) -> Any:
    """A value as JSON can carry it: times and days in ISO form."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value
