"""The location check-in as one job of a group-committed batch: the same decision, Core I/O.

The hot message of the morning is a bound student's location. Its decision is the general
handler's (handlers.checkin.decide_checkin); only the reads and writes differ: a batch reads
what all its messages need in a few set-based queries before any job runs (the senders, their
dedupe rows, the day's check-ins; one statement on PostgreSQL), each job decides in plain
Python, and the batch writes the dedupe rows, the check-ins, the 48-hour windows and the
schools' daily roll-ups just before it commits (models.checkin_queries.record_batch: one
statement on PostgreSQL, one per table on SQLite). A sender who is not a bound student
answers "fallback" before anything is written, and the caller takes the general path. On
SQLite a cached sender is re-checked against its binding row in the same transaction (one
query for the batch), so a binding unbound or moved by another process is read afresh; on
PostgreSQL every sender is read afresh, with the rest of the batch's reads.

A dedupe row goes in with the effect, in the same transaction, so that a repeated MsgId (in
this batch, in an earlier one, or in another process) has exactly one effect: a key already
stored or claimed earlier in the batch answers "duplicate" with the first reply, and a key
another process stores between our read and our insert makes the insert fail, so that the
writer retries the batch's jobs one by one, and each then reads what was stored meanwhile.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from operator import attrgetter
from types import SimpleNamespace
from typing import NamedTuple

from sqlalchemy.engine import Connection

from bot.types import Inbound
from core.cache import TTLCache
from core.settings import Settings
from handlers.checkin import decide_checkin, outside_alert_text
from models.checkin_queries import (
    PLACEMENT_FACTS,
    account_states,
    batch_reads,
    checkin_rows_of_many,
    insert_alert_once,
    record_batch,
    senders_rows,
    stored_replies,
    student_name,
)

# A cached sender (binding + school + placements) is re-checked against its binding row in the
# transaction that uses it, so a binding can never act for someone else; placements may lag a
# roster import by this long.
SENDER_TTL_S = 5.0


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    status: str  # done | duplicate | fallback
    text: str = ""


FALLBACK = BatchOutcome("fallback")

# What decide_checkin reads about a placement, from the p_* columns of senders_rows.
PlacementFacts = namedtuple("PlacementFacts", PLACEMENT_FACTS)
_placement_facts = attrgetter(*(f"p_{name}" for name in PLACEMENT_FACTS))


class Sender(NamedTuple):
    """An active binding as the check-in needs it: who, which school, which placements."""

    account_id: int
    person_kind: str
    person_id: int
    language: str
    school_id: int | None
    placements: tuple


def _sender(rows: list) -> Sender:
    """A Sender from the senders_rows of one binding."""
    first = rows[0]
    placements = tuple(
        PlacementFacts._make(_placement_facts(row)) for row in rows if row.p_id is not None
    )
    return Sender(
        first.id,
        first.person_kind,
        first.person_id,
        first.language,
        first.student_school_id,
        placements,
    )


def _senders_of(rows, user_ids) -> dict[str, Sender | None]:
    """A Sender per user id from senders_rows-shaped rows; None for one who is not bound."""
    found: dict[str, list] = {}
    for row in rows:
        found.setdefault(row.external_id, []).append(row)
    return {user_id: _sender(found[user_id]) if user_id in found else None for user_id in user_ids}


def _still_bound(sender: Sender, state) -> bool:
    """Whether the binding row read in this transaction is still the one that was cached."""
    return (
        state is not None
        and state.active
        and (state.person_kind, state.person_id) == (sender.person_kind, sender.person_id)
    )


class _BatchState:
    """What one transaction's check-ins read up front and write just before the commit."""

    __slots__ = ("claims", "earlier", "known", "pending", "rollup", "rows", "senders", "touches")

    def __init__(self) -> None:
        self.senders: dict = {}  # (channel, user) -> Sender or None, valid in this transaction
        self.known: dict = {}  # (channel, key) -> reply stored before this batch
        self.earlier: dict = {}  # (student_id, day) -> stored check-ins, oldest first
        self.claims: dict = {}  # (channel, key) -> the dedupe row claimed in this batch
        self.pending: dict = {}  # (student_id, day) -> check-ins decided in this batch
        self.touches: list[tuple] = []  # (account_id, at): 48-hour windows to open
        self.rows: list[dict] = []  # check-ins to insert
        self.rollup: dict = {}  # (school_id, day) -> [checkins, students_checked_in]

    def flush(self, conn: Connection) -> None:
        record_batch(
            conn,
            claims=list(self.claims.values()),
            account_ids=[account_id for account_id, _ in self.touches],
            # The earliest time of the batch: the 48-hour window is never stretched, at most
            # shortened by the milliseconds a batch lasts.
            touched_at=min((at for _, at in self.touches), default=None),
            checkins=self.rows,
            # Sorted, so that two processes' batches lock the roll-up rows in the same order.
            rollups=[(*key, *totals) for key, totals in sorted(self.rollup.items())],
        )


class CheckinJob:
    """One location message waiting for the writer: `job(conn, batch) -> BatchOutcome`."""

    __slots__ = ("inbound", "key", "path")

    def __init__(self, path: CheckinBatchPath, inbound: Inbound, key: str):
        self.path, self.inbound, self.key = path, inbound, key

    @property
    def prepare(self):
        return self.path.prepare  # the writer calls it once for all check-ins of a batch

    def __call__(self, conn: Connection, batch) -> BatchOutcome:
        return self.path.run(self, conn, batch)


class CheckinBatchPath:
    """Builds check-in jobs for the group-commit writer and keeps their lookup cache."""

    def __init__(self, settings: Settings, *, sender_ttl_s: float = SENDER_TTL_S):
        self.settings = settings
        self.senders = TTLCache(sender_ttl_s)

    @staticmethod
    def accepts(inbound: Inbound) -> bool:
        """A location message (not a passive LOCATION event or a live-location update)."""
        loc = inbound.location
        return inbound.kind == "location" and loc is not None and loc.source == "location"

    def forget(self, channel: str, user_id: str) -> None:
        """Drop a cached sender at once (bind, unbind, unsubscribe in this process)."""
        self.senders.drop((channel, user_id))

    def job(self, inbound: Inbound, key: str) -> CheckinJob:
        return CheckinJob(self, inbound, key)

    def prepare(self, conn: Connection, batch, jobs: list[CheckinJob]) -> None:
        """Read what the batch's jobs need in a few queries, whatever the number of jobs."""
        state = batch.data[self] = _BatchState()
        batch.before_commit(self, state.flush)
        if conn.dialect.name == "postgresql":
            self._read_at_once(conn, state, jobs)
            return
        self._read_senders(conn, state, jobs)
        keys: dict[str, set[str]] = {}
        tz = self.settings.tz
        for job in jobs:
            channel = job.inbound.channel
            keys.setdefault(channel, set()).add(job.key)
            sender = state.senders[(channel, job.inbound.user_id)]
            if sender is not None and sender.person_kind == "student":
                state.earlier[(sender.person_id, job.inbound.at.astimezone(tz).date())] = []
        for channel, channel_keys in keys.items():
            stored = stored_replies(conn, channel=channel, keys=list(channel_keys))
            state.known.update(((channel, key), reply) for key, reply in stored.items())
        if state.earlier:
            for row in checkin_rows_of_many(conn, state.earlier):
                state.earlier[(row.student_id, row.day)].append(row)

    def _read_at_once(self, conn: Connection, state: _BatchState, jobs: list[CheckinJob]):
        """PostgreSQL: everything in one statement per channel (see batch_reads); each sender is
        read afresh with its binding, so the cache is not needed to save a query."""
        tz = self.settings.tz
        wanted: dict[str, tuple[set, set, set]] = {}
        for job in jobs:
            users, keys, days = wanted.setdefault(job.inbound.channel, (set(), set(), set()))
            users.add(job.inbound.user_id)
            keys.add(job.key)
            days.add((job.inbound.user_id, job.inbound.at.astimezone(tz).date()))
        for channel, (users, keys, days) in wanted.items():
            rows, stored, checkins = batch_reads(
                conn, channel=channel, external_ids=sorted(users), keys=list(keys), days=days
            )
            for user_id, sender in _senders_of(rows, users).items():
                state.senders[(channel, user_id)] = sender
            state.known.update(((channel, key), reply) for key, reply in stored.items())
            for user_id, day in days:
                sender = state.senders[(channel, user_id)]
                if sender is not None and sender.person_kind == "student":
                    state.earlier[(sender.person_id, day)] = []
            for row in checkins:
                state.earlier[(row.student_id, row.day)].append(row)

    def _read_senders(self, conn: Connection, state: _BatchState, jobs: list[CheckinJob]):
        """Every sender of the batch, valid in this transaction: cached ones re-checked against
        their binding rows in one query, the others (and the ones that changed) read whole."""
        cached: dict = {}
        wanted: dict[str, set[str]] = {}
        for job in jobs:
            who = (job.inbound.channel, job.inbound.user_id)
            if who in cached or who[1] in wanted.get(who[0], ()):
                continue
            sender = self.senders.peek(who)
            if sender is not None:
                cached[who] = sender
            else:
                wanted.setdefault(who[0], set()).add(who[1])
        if cached:
            rows = account_states(conn, [sender.account_id for sender in cached.values()])
            for who, sender in cached.items():
                if _still_bound(sender, rows.get(sender.account_id)):
                    state.senders[who] = sender
                else:  # unbound or rebound elsewhere since it was cached: read it afresh
                    self.forget(*who)
                    wanted.setdefault(who[0], set()).add(who[1])
        for channel, user_ids in wanted.items():
            rows = senders_rows(conn, channel=channel, external_ids=sorted(user_ids))
            for user_id, sender in _senders_of(rows, user_ids).items():
                state.senders[(channel, user_id)] = sender
                if sender is not None:
                    self.senders.put((channel, user_id), sender)

    def run(self, job: CheckinJob, conn: Connection, batch) -> BatchOutcome:
        state: _BatchState = batch.data[self]
        inbound = job.inbound
        channel, at = inbound.channel, inbound.at
        sender = state.senders[(channel, inbound.user_id)]
        if sender is None or sender.person_kind != "student":
            return FALLBACK  # unbound senders and other roles get the general answers
        claim = (channel, job.key[:128])
        if claim in state.known:
            return BatchOutcome("duplicate", state.known[claim])
        if claim in state.claims:  # repeated within this batch: the first one's answer
            return BatchOutcome("duplicate", state.claims[claim]["reply"])
        student_id = sender.person_id

        def earlier(day) -> list:
            # What is stored, then what this batch decided but has not inserted yet.
            return state.earlier[(student_id, day)] + state.pending.get((student_id, day), [])

        decision = decide_checkin(
            inbound.location,
            now=at,
            settings=self.settings,
            lang=sender.language,
            channel=channel,
            placements=lambda: sender.placements,
            earlier=earlier,
        )
        state.claims[claim] = {
            "channel": channel,
            "dedup_key": claim[1],
            "reply": decision.text,
            "at": at,
        }
        state.touches.append((sender.account_id, at))
        values = decision.values
        if values is not None:
            self._record(conn, state, sender, decision, at)
        return BatchOutcome("done", decision.text)

    def _record(self, conn: Connection, state: _BatchState, sender: Sender, decision, at):
        """Queue the check-in and its roll-up; raise the teacher's alert when outside."""
        values, placement = decision.values, decision.placement
        student_id, day = sender.person_id, values["day"]
        row = dict(values, school_id=sender.school_id, student_id=student_id)
        row["placement_id"] = placement.id
        state.rows.append(row)
        state.pending.setdefault((student_id, day), []).append(SimpleNamespace(**row))
        totals = state.rollup.setdefault((sender.school_id, day), [0, 0])
        totals[0] += 1
        totals[1] += 1 if decision.first_today else 0
        if not values["within_fence"]:
            name = student_name(conn, student_id=student_id)
            text = outside_alert_text(name, values, placement, self.settings)
            insert_alert_once(
                conn,
                dict(
                    school_id=sender.school_id,
                    student_id=student_id,
                    kind="outside_fence",
                    severity="normal",
                    day=day,
                    message=text,
                    status="open",
                    created_at=at,
                    updated_at=at,
                ),
            )
