"""The location check-in as one job of a group-committed batch: the same decision, Core I/O.

The hot message of the morning is a bound student's location. Its decision is the general
handler's (handlers.checkin.decide_checkin); only the reads and writes differ: cached binding
and placement lookups, plain Core statements on the writer's connection, the dedupe row in the
same transaction, and the school's daily roll-up added up per batch. Anything unusual (not a
student, a binding changed since it was cached) answers "fallback" before writing anything,
and the caller takes the general path.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from types import SimpleNamespace

from sqlalchemy.engine import Connection

from bot.types import Inbound
from core.cache import TTLCache
from core.settings import Settings
from handlers.checkin import decide_checkin, outside_alert_text
from models.checkin_queries import (
    PLACEMENT_FACTS,
    checkin_rows_of_many,
    checkin_rows_on,
    claim_inbound,
    insert_alert_once,
    insert_checkins,
    sender_rows,
    senders_rows,
    stored_reply,
    student_name,
    touch_account,
    touch_accounts,
)
from models.stats import bump_school_day

# A cached sender (binding + school + placements) is re-checked inside the transaction before
# use (touch_account), so a binding can never act for someone else; placements may lag a
# roster import by this long.
SENDER_TTL_S = 5.0
PENDING = "checkins"  # batch.data key: check-ins decided in this batch, not yet inserted
TOUCHES = "touches"
SENDERS = "senders"  # batch.data: senders read in this transaction, (channel, user) -> Sender
EARLIER = "earlier"  # batch.data: stored check-ins, (student_id, day) -> rows
ROLLUP = "school_days"


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    status: str  # done | duplicate | fallback
    text: str = ""


FALLBACK = BatchOutcome("fallback")


@dataclass(frozen=True, slots=True)
class Sender:
    """An active binding as the check-in needs it: who, which school, which placements."""

    account: SimpleNamespace  # id, person_kind, person_id (what touch_account checks)
    language: str
    school_id: int | None
    placements: tuple


def _sender(rows: list) -> Sender:
    """A Sender from the rows of sender_rows / senders_rows for one binding."""
    first = rows[0]
    account = SimpleNamespace(id=first.id, person_kind=first.person_kind, person_id=first.person_id)
    placements = tuple(
        SimpleNamespace(**{name: getattr(row, f"p_{name}") for name in PLACEMENT_FACTS})
        for row in rows
        if row.p_id is not None
    )
    return Sender(account, first.language, first.student_school_id, placements)


def load_sender(conn: Connection, channel: str, user_id: str) -> Sender | None:
    rows = sender_rows(conn, channel=channel, external_id=user_id)
    return _sender(rows) if rows else None


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
        """Read the batch's senders and today's check-ins in two queries, not two per message."""
        fresh: dict = batch.data.setdefault(SENDERS, {})
        wanted: dict[str, set[str]] = {}
        for job in jobs:
            who = (job.inbound.channel, job.inbound.user_id)
            if who not in fresh and self.senders.peek(who) is None:
                wanted.setdefault(who[0], set()).add(who[1])
        for channel, user_ids in wanted.items():
            found: dict[str, list] = {}
            for row in senders_rows(conn, channel=channel, external_ids=sorted(user_ids)):
                found.setdefault(row.external_id, []).append(row)
            for user_id in user_ids:
                sender = _sender(found[user_id]) if user_id in found else None
                fresh[(channel, user_id)] = sender
                if sender is not None:
                    self.senders.put((channel, user_id), sender)
        days: dict = {}
        for job in jobs:
            who = (job.inbound.channel, job.inbound.user_id)
            sender = fresh.get(who) or self.senders.peek(who)
            if sender is not None and sender.account.person_kind == "student":
                day = job.inbound.at.astimezone(self.settings.tz).date()
                days.setdefault(day, set()).add(sender.account.person_id)
        earlier: dict = batch.data.setdefault(EARLIER, {})
        for day, student_ids in days.items():
            for student_id in student_ids:
                earlier[(student_id, day)] = []
            for row in checkin_rows_of_many(conn, student_ids=sorted(student_ids), day=day):
                earlier[(row.student_id, day)].append(row)

    def run(self, job: CheckinJob, conn: Connection, batch) -> BatchOutcome:
        inbound, key = job.inbound, job.key
        channel, user_id, at = inbound.channel, inbound.user_id, inbound.at
        fresh = batch.data.get(SENDERS, {})
        if (channel, user_id) in fresh:  # read in this very transaction: nothing to re-check
            sender, cached = fresh[(channel, user_id)], False
        else:
            sender, cached = self.senders.peek((channel, user_id)), True
            if sender is None:
                sender, cached = load_sender(conn, channel, user_id), False
        if sender is None or sender.account.person_kind != "student":
            return FALLBACK  # unbound senders and other roles get the general answers
        if cached and not touch_account(conn, account=sender.account, at=at):
            self.forget(channel, user_id)  # unbound or rebound elsewhere since it was cached
            return FALLBACK
        student_id = sender.account.person_id
        pending = batch.data.setdefault(PENDING, {})
        prefetched = batch.data.get(EARLIER, {})

        def earlier(day) -> list:
            # What is stored, then what this batch decided but has not inserted yet.
            stored = prefetched.get((student_id, day))
            if stored is None:
                stored = checkin_rows_on(conn, student_id=student_id, day=day)
            return stored + pending.get((student_id, day), [])

        decision = decide_checkin(
            inbound.location,
            now=at,
            settings=self.settings,
            lang=sender.language,
            channel=channel,
            placements=lambda: sender.placements,
            earlier=earlier,
        )
        # The dedupe row goes in with the effect, in the same transaction, so that a repeated
        # MsgId (here, in this batch, or in another process) has exactly one effect.
        if not claim_inbound(conn, channel=channel, key=key, reply=decision.text, at=at):
            return BatchOutcome("duplicate", stored_reply(conn, channel=channel, key=key))
        if not cached:  # a cached sender's window was opened by touch_account already
            _defer(batch, TOUCHES, (sender.account.id, at), _flush_touches)
        values = decision.values
        if values is not None:
            placement = decision.placement
            row = dict(values, school_id=sender.school_id, student_id=student_id)
            row["placement_id"] = placement.id
            pending.setdefault((student_id, values["day"]), []).append(SimpleNamespace(**row))
            _defer(batch, PENDING + ":rows", row, _flush_checkins)
            _add_to_rollup(batch, sender.school_id, values["day"], decision.first_today)
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
                        day=values["day"],
                        message=text,
                        status="open",
                        created_at=at,
                        updated_at=at,
                    ),
                )
        return BatchOutcome("done", decision.text)


def _defer(batch, key: str, item, flush) -> None:
    """Collect `item` for one executemany before the batch commits."""
    items = batch.data.setdefault(key, [])
    items.append(item)
    batch.before_commit(key, partial(flush, items))


def _flush_touches(items: list[tuple], conn: Connection) -> None:
    # The earliest time of the batch: the 48-hour window is never stretched, at most shortened
    # by the milliseconds a batch lasts.
    touch_accounts(conn, [account_id for account_id, _ in items], min(at for _, at in items))


def _flush_checkins(items: list[dict], conn: Connection) -> None:
    insert_checkins(conn, items)


def _add_to_rollup(batch, school_id: int, day, first_today: bool) -> None:
    """Count a check-in into the batch's per-school totals, written once before the commit."""
    totals = batch.data.setdefault(ROLLUP, {})
    checkins, students = totals.get((school_id, day), (0, 0))
    totals[(school_id, day)] = (checkins + 1, students + (1 if first_today else 0))
    batch.before_commit(ROLLUP, partial(_flush_rollup, totals))


def _flush_rollup(totals: dict, conn: Connection) -> None:
    # Sorted, so that two processes' batches lock the roll-up rows in the same order.
    for (school_id, day), (checkins, students) in sorted(totals.items()):
        bump_school_day(
            conn, school_id=school_id, day=day, checkins=checkins, students_checked_in=students
        )
