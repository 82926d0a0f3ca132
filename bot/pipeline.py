"""The one inbound path: every message of every channel and kind, exactly once, group-committed.

The adapter contract. An adapter (WeChat, Telegram, the terminal) hands the pipeline what its
platform sent, as an `Inbound`, the platform's dedupe key ('' when it never redelivers) and a
`mode` saying how its replies travel; it gets back a `Handled`:

- "passive" (WeChat): the reply goes in the HTTP answer. `Handled.answer` is the text to seal;
  what does not fit a passive reply (2,000 bytes), and the whole reply of a message handled
  after WeChat's deadline, were queued in the outbox in the same transaction.
- "push" (Telegram): every reply was queued in the outbox in the same transaction, held back
  for a grace period; the adapter sends them at once (`Handled.pushed`, in order) and settles
  their rows. If it cannot (it crashed, the send failed), the outbox sender delivers them.
- "return" (the terminal, tests): the replies come back in `Handled.replies`.
- "silent" (a live-location update): the effect happens, nothing is answered.

Each message is a job of the group-commit writer (bot/writer.py): a batch of jobs runs on one
connection in one transaction. The batch reads what all of its messages need in one go (their
senders' bindings, dialog states and the replies stored for their keys: models/inbound.py),
each job routes its message (bot/dispatch.py) and runs the handler on that connection, and
just before the commit the batch writes the dedupe rows (with their stored replies) and opens
the senders' 48-hour windows. So a message's dedupe mark, its effect and its reply commit
together: a crash before the commit leaves nothing (WeChat's retry redoes it), after it
leaves all three (the retry gets the same reply). A key already stored, or claimed earlier in
the same batch, is answered with the stored reply; a key another process stores meanwhile
makes the batch fail on the unique key, and the writer retries its jobs one by one, each of
which then finds the stored reply. Nothing is answered before its batch has committed.
"""

from __future__ import annotations

import logging
import os
import time
import zlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.engine import Connection, Engine, make_url

from bot.dispatch import bind_request, dispatch
from bot.types import Inbound, Reply, join_replies, pickled_by_fields
from bot.writer import Batch, GroupCommitWriter
from bot.writer_process import ProcessWriter
from core.evidence import point_key, sample_since
from core.page_token import PAGE_KEY_NAME, derive_key
from core.settings import Settings
from handlers.base import BATCH_SENDERS, Context, StudentFacts
from handlers.bind import code_to_claim, failures_since
from handlers.report import may_open_ticket
from models.accounts import CLAIMED_AHEAD, claims_ahead_read
from models.attendance import due_facts_of, due_facts_reads
from models.case_queries import RESERVED_TICKET_IDS, reserve_ticket_ids_read
from models.checkins import (
    checkins_at_points_read,
    checkins_of_students_between_read,
    samples_of_students_since_read,
)
from models.inbound import (
    KEY_LENGTH,
    claim_inbounds,
    dialog_states_read,
    senders_read,
    stored_replies_read,
    touch_accounts,
)
from models.people_queries import student_lines_of_codes_read, students_with_names_read
from models.prepared import Read, read_all
from models.queue import outbox_row, queue_rows, queue_rows_returning_ids
from models.replay import insert_nonces, stored_nonces_read
from models.secrets import shared_secret

log = logging.getLogger(__name__)

MODES = ("passive", "push", "return", "silent")
# WeChat waits 5 s for an answer, then retries. A message handled later than this after it
# arrived is answered "success" and its reply goes through the outbox instead (same commit).
LATE_AFTER_S = 4.0
# A passive text reply may carry at most 2,048 bytes; the rest goes through the outbox.
PASSIVE_MAX_BYTES = 2000
# Pushed replies wait this long in the outbox for the adapter to send them itself.
PUSH_GRACE_S = 60.0
SORRY = (
    "系统繁忙，请稍后再试。",
    "Something went wrong on our side, please try again in a moment.",
)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Handled:
    """What became of one message (see the module docstring for the adapter contract)."""

    status: str  # done | duplicate | failed | refused (a replayed callback: nothing done)
    replies: tuple[Reply, ...] = ()
    answer: str = ""  # passive mode: the text to answer now ('' = "success")
    pushed: tuple[int, ...] = ()  # push mode: outbox rows of `replies`, one per reply


def split_passive(text: str) -> tuple[str, str]:
    """Cut a reply at a paragraph so that the passive part fits WeChat's limit."""
    if len(text.encode()) <= PASSIVE_MAX_BYTES:
        return text, ""
    head, size = [], 0
    for para in text.split("\n\n"):
        n = len(para.encode()) + 2
        if size + n > PASSIVE_MAX_BYTES and head:
            break
        head.append(para)
        size += n
    first = "\n\n".join(head)
    if len(first.encode()) > PASSIVE_MAX_BYTES:  # one huge paragraph: cut by characters
        first = first.encode()[:PASSIVE_MAX_BYTES].decode("utf-8", "ignore")
    return first, text[len(first) :].strip()


def writer_mode(settings: Settings, *, serving: bool) -> str:
    """Where the pipeline's writer runs: server.writer, "auto" meaning a process of its own
    when the app is being served (`shixi serve`, the ASGI factory: not an app built inside
    another program, such as a test) on two cores or more, with a database another process
    can open (not an in-memory SQLite), on a POSIX system (bot/writer_process.py)."""
    mode = settings.server.writer
    if mode != "auto":
        return mode
    if not serving:
        return "thread"
    url = make_url(settings.database.url)
    in_memory = url.get_backend_name() == "sqlite" and (
        url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
    )
    two_cores = (os.cpu_count() or 1) >= 2
    return "process" if two_cores and not in_memory and os.name == "posix" else "thread"


def sorry(inbound: Inbound) -> Handled:
    text = SORRY[1] if inbound.language == "en" else SORRY[0]
    return Handled("failed", (Reply(text),), answer=text)


class _BatchState:
    """What one transaction's messages read up front and write just before the commit."""

    __slots__ = (
        "accounts",
        "claims",
        "dialogs",
        "facts",
        "known",
        "new_nonces",
        "nonces",
        "touches",
    )  # fmt: skip

    def __init__(self) -> None:
        self.accounts: dict = {}  # (channel, user) -> active binding row or None
        self.dialogs: dict = {}  # (channel, user) -> dialog state row or None
        self.facts: dict = {}  # student id -> StudentFacts
        self.known: dict = {}  # (channel, key) -> reply stored before this batch
        self.claims: dict = {}  # (channel, key) -> the dedupe row claimed in this batch
        self.touches: dict = {}  # account id -> the earliest message time in this batch
        self.nonces: dict = {}  # (timestamp, nonce) -> digest accepted before this batch
        self.new_nonces: dict = {}  # (timestamp, nonce) -> the row accepted in this batch

    def remember(self, ctx: Context) -> None:
        """A handler bound, unbound or moved a dialog: later messages of the batch see it."""
        who = (ctx.inbound.channel, ctx.inbound.user_id)
        self.accounts[who] = ctx.account
        self.dialogs[who] = ctx.dialog

    def flush(self, conn: Connection) -> None:
        # The replay guard and the dedupe rows first: a pair or a key stored meanwhile by
        # another process fails the batch before anything else is written.
        insert_nonces(conn, list(self.new_nonces.values()))
        claim_inbounds(conn, list(self.claims.values()))
        if self.touches:
            touch_accounts(conn, self.touches, min(self.touches.values()))


class MessageJob:
    """One message waiting for the writer: `job(conn, batch) -> Handled`."""

    __slots__ = ("deadline", "inbound", "key", "mode", "pipeline", "replay_key")

    def __init__(
        self,
        pipeline: Pipeline,
        inbound: Inbound,
        key: str,
        mode: str,
        deadline: float,
        replay_key: dict | None = None,
    ):
        self.pipeline, self.inbound, self.key, self.mode = pipeline, inbound, key, mode
        self.deadline, self.replay_key = deadline, replay_key

    @property
    def prepare(self):
        return self.pipeline.prepare  # the writer calls it once for all messages of a batch

    def __call__(self, conn: Connection, batch: Batch) -> Handled:
        return self.pipeline.handle_in(self, conn, batch)


class Pipeline:
    """Hands messages to the group-commit writer(s) and answers when they are durable."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        lanes: int = 1,
        late_after_s: float = LATE_AFTER_S,
        writer: str = "thread",
    ):
        self.engine, self.settings = engine, settings
        self.late_after_s = late_after_s
        # "process": submit() runs in a writer process once start() was called (serving);
        # "thread" (and before start, and after that process died): in this process.
        self.writer_mode = writer
        self.process: ProcessWriter | None = None
        # One lane on both databases. SQLite has one writer anyway; on PostgreSQL two lanes
        # overlapped round trips when a batch ran a dozen, but now that its reads and writes
        # travel together (models.prepared) a second lane only adds GIL hand-offs: measured
        # 15-30 % fewer requests per second on every message kind.
        self.writers = [GroupCommitWriter(engine) for _ in range(lanes)]
        # The check-in page's link key (core.page_token): links need a public address.
        self.page_key = ""
        if settings.server.public_url:
            secret = settings.server.secret_key or shared_secret(engine, PAGE_KEY_NAME)
            self.page_key = derive_key(secret)

    def start(self) -> None:
        """Start the writer process, if this pipeline's mode is "process" (the app's startup)."""
        if self.writer_mode == "process" and self.process is None:
            process = ProcessWriter(
                self.settings, late_after_s=self.late_after_s, fallback=self.writers[0]
            )
            process.start()
            self.process = process

    def close(self) -> None:
        """Stop the writer process once it has answered what it was sent (the app's shutdown)."""
        process, self.process = self.process, None
        if process is not None:
            process.close()

    # --- the adapters' side ----------------------------------------------------------------

    async def submit(
        self,
        inbound: Inbound,
        key: str = "",
        *,
        mode: str = "return",
        replay_key: dict | None = None,
    ) -> Handled:
        """Handle one message; answers once its effects are durable (or it failed).

        `replay_key` ({timestamp, nonce, digest}, WeChat's): the pair is accepted once, in the
        message's own transaction; a pair seen before with another message is "refused".
        """
        job = self.job(inbound, key, mode=mode, replay_key=replay_key)
        try:
            return await (self.process or self.writer_for(inbound)).submit(job)
        except Exception:
            log.exception("handling %s message %s failed", inbound.channel, key or "-")
            return sorry(inbound)

    def run(self, inbound: Inbound, key: str = "", *, mode: str = "return") -> Handled:
        """Handle one message from a plain thread (the terminal, tests, the CLI)."""
        job = self.job(inbound, key, mode=mode)
        try:
            return self.writer_for(inbound).run(job)
        except Exception:
            log.exception("handling %s message %s failed", inbound.channel, key or "-")
            return sorry(inbound)

    def __call__(self, inbound: Inbound) -> list[Reply]:
        """The replies to one message, as the terminal shows them."""
        return list(self.run(inbound).replies)

    def job(
        self, inbound: Inbound, key: str = "", *, mode: str = "return", replay_key=None
    ) -> MessageJob:
        """The writer job for one message (see submit; tests run several as one batch)."""
        if mode not in MODES:
            raise ValueError(f"unknown reply mode {mode!r}")
        deadline = time.monotonic() + self.late_after_s
        return MessageJob(self, inbound, key, mode, deadline, replay_key)

    def writer_for(self, inbound: Inbound) -> GroupCommitWriter:
        """One lane per sender, so that one person's messages are handled in order."""
        if len(self.writers) == 1:
            return self.writers[0]
        lane = zlib.crc32(f"{inbound.channel}:{inbound.user_id}".encode()) % len(self.writers)
        return self.writers[lane]

    # --- the writer's side -------------------------------------------------------------------

    def prepare(self, conn: Connection, batch: Batch, jobs: list[MessageJob]) -> None:
        """Read what the batch's messages need in two rounds of reads, whatever their number
        (on PostgreSQL each round is one round trip: models.prepared.read_all)."""
        state = batch.data[self] = _BatchState()
        batch.before_commit(self, state.flush)
        users: dict[str, set[str]] = {}
        keys: dict[str, set[str]] = {}
        for job in jobs:
            channel = job.inbound.channel
            users.setdefault(channel, set()).add(job.inbound.user_id)
            if job.key:
                keys.setdefault(channel, set()).add(job.key)
        reads: list[Read] = []
        pairs = [(j.replay_key["timestamp"], j.replay_key["nonce"]) for j in jobs if j.replay_key]
        if pairs:
            reads.append(stored_nonces_read(conn, pairs=pairs))
        for channel, ids in users.items():
            reads.append(senders_read(conn, channel=channel, external_ids=ids))
            reads.append(dialog_states_read(conn, channel=channel, external_ids=ids))
        for channel, channel_keys in keys.items():
            reads.append(stored_replies_read(conn, channel=channel, keys=channel_keys))
        found = iter(read_all(conn, reads))
        if pairs:
            state.nonces = next(found)
        for channel, ids in users.items():
            bound, dialogs = next(found), next(found)
            for user in ids:
                state.accounts[(channel, user)] = bound.get(user)
                state.dialogs[(channel, user)] = dialogs.get(user)
        batch.data[BATCH_SENDERS] = state.accounts  # what handlers may read set-wise
        for channel in keys:
            state.known.update(((channel, key), reply) for key, reply in next(found).items())
        self._second_round(conn, batch, state, jobs)

    def _second_round(self, conn: Connection, batch: Batch, state: _BatchState, jobs) -> None:
        """The second round of reads (on PostgreSQL one round trip): what the batch's student
        senders' handlers read, the ticket numbers and the invite codes its messages take."""
        runnable = list(self._runnable(state, jobs))
        parts = [
            part
            for part in (
                self._student_reads(conn, state, jobs),
                self._ticket_numbers(conn, batch, state, runnable),
                self._claims_ahead(conn, batch, state, runnable),
            )
            if part is not None
        ]
        reads = [read for part_reads, _ in parts for read in part_reads]
        if not reads:
            return
        found = iter(read_all(conn, reads))
        for part_reads, take in parts:
            take([next(found) for _ in part_reads])

    def _student_reads(self, conn: Connection, state: _BatchState, jobs):
        """What the batch's student senders' handlers read, set-wise: placements, this week's
        check-ins, first bindings, approved leave, the students' rows and, for check-ins,
        their evidence. (reads, take) or None."""
        tz = self.settings.tz
        days = [job.inbound.at.astimezone(tz).date() for job in jobs]
        students = {
            account.person_id
            for account in state.accounts.values()
            if account is not None and account.person_kind == "student"
        }
        if not students:
            return None
        first = min(days) - timedelta(days=min(days).weekday())  # that week's Monday
        last = max(days)
        reads = [
            *due_facts_reads(conn, student_ids=students, first=first, last=last),
            checkins_of_students_between_read(conn, student_ids=students, start=first, end=last),
            students_with_names_read(conn, student_ids=students),
        ]
        located, since = self._located(state, jobs)
        if located:
            reads += self._evidence_reads(conn, located, since)

        def take(results: list) -> None:
            placements, bound, leaves, checkins, rows, *evidence = results
            dues = due_facts_of(students, placements, bound, leaves)
            seen, samples = evidence if located else (None, {})
            for student_id in students:
                mine = placements.get(student_id, [])
                facts = StudentFacts(
                    mine, first, last, due=dues[student_id], me=rows.get(student_id)
                )
                if seen is not None:
                    facts.seen, facts.samples_since = seen, since
                    facts.samples = list(samples.get(student_id, ()))
                for row in checkins.get(student_id, ()):
                    facts.add(row)
                state.facts[student_id] = facts

        return reads, take

    @staticmethod
    def _runnable(state: _BatchState, jobs):
        """The batch's jobs that will reach a handler, as handle_in decides: not a replayed
        callback, not a key answered before the batch or earlier in it."""
        pairs: dict = {}
        keys: set = set()
        for job in jobs:
            if job.replay_key is not None:
                key = job.replay_key
                pair = (key["timestamp"], key["nonce"])
                earlier = state.nonces.get(pair, pairs.get(pair))
                if earlier is not None and earlier != key["digest"]:
                    continue
                pairs.setdefault(pair, key["digest"])
            if job.key:
                claim = (job.inbound.channel, job.key[:KEY_LENGTH])
                if claim in state.known or claim in keys:
                    continue
                keys.add(claim)
            yield job

    def _ticket_numbers(self, conn: Connection, batch: Batch, state: _BatchState, jobs):
        """Numbers from the tickets' sequence for the messages that may open a ticket
        (handlers.report.may_open_ticket; PostgreSQL only). (reads, take) or None."""
        read = reserve_ticket_ids_read(conn, count=lambda: self._may_open_tickets(state, jobs))
        if read is None:
            return None
        return [read], lambda results: batch.data.__setitem__(RESERVED_TICKET_IDS, results[0])

    @staticmethod
    def _may_open_tickets(state: _BatchState, jobs) -> int:
        """How many of the batch's student messages may open a ticket (handlers.report)."""
        n = 0
        for job in jobs:
            inbound = job.inbound
            who = (inbound.channel, inbound.user_id)
            account = state.accounts.get(who)
            if account is None or account.person_kind != "student" or inbound.kind != "text":
                continue
            dialog = state.dialogs.get(who)
            n += may_open_ticket(inbound.get_plaintext(), dialog.state if dialog else None)
        return n

    def _claims_ahead(self, conn: Connection, batch: Batch, state: _BatchState, jobs):
        """Invite codes the batch's 绑定 claim with its reads (PostgreSQL: models.accounts.
        claims_ahead_read), each sender bound as the handler would: an unbound sender's
        first message asking for a code, unless an earlier message asked for the same code
        (it is the earlier one's to claim). Each is taken by its message's handler
        (Context.claimed_ahead). One left untaken would be a binding nobody was told of: the
        batch fails before its commit, and its messages run one by one, where nothing is
        claimed ahead. (reads, take) or None."""
        if len(jobs) < 2 or conn.dialect.name != "postgresql":  # SQLite: no round trip to save
            return None
        asked: set[str] = set()  # codes a message of the batch asked for
        wanted: dict[tuple, dict] = {}  # sender -> what to claim for them
        decided: set[tuple] = set()  # senders whose first request was met
        for job in jobs:
            inbound = job.inbound
            who = (inbound.channel, inbound.user_id)
            if state.accounts.get(who) is not None:
                continue
            args = bind_request(inbound)
            if args is None:
                continue
            code, first = code_to_claim(args), who not in decided
            decided.add(who)
            if code is None or code in asked:
                continue
            asked.add(code)  # a sender's later request still keeps it from those after
            if not first:
                continue
            wanted[who] = dict(
                code=code,
                now=inbound.at,
                since=failures_since(self.settings, inbound.at),
                channel=inbound.channel,
                external_id=inbound.user_id,
                language=inbound.language,
                display_name=inbound.display_name,
            )
        claims = claims_ahead_read(conn, wanted=list(wanted.values()))
        if claims is None:
            return None
        lines = student_lines_of_codes_read(conn, codes=[w["code"] for w in wanted.values()])

        def take(results: list) -> None:
            bound, found = results
            ahead = batch.data[CLAIMED_AHEAD] = {
                who: (wanted[who]["code"], account, found.get(wanted[who]["code"]))
                for who, account in bound.items()
            }

            def all_taken(conn: Connection) -> None:
                if ahead:
                    raise RuntimeError(f"{len(ahead)} invite codes claimed ahead, not taken")

            batch.before_commit(CLAIMED_AHEAD, all_taken)

        return [claims, lines], take

    @staticmethod
    def _located(state: _BatchState, jobs):
        """The batch's student check-ins with a location, and since when their samples count."""
        located = []
        for job in jobs:
            loc, account = (
                job.inbound.location,
                state.accounts.get((job.inbound.channel, job.inbound.user_id)),
            )
            if loc is None or loc.source == "event" or job.inbound.kind == "event":
                continue
            if account is not None and account.person_kind == "student":
                located.append((job.inbound, account.person_id))
        if not located:
            return [], None
        return located, sample_since(min(i.at for i, _ in located))

    def _evidence_reads(self, conn: Connection, located, since) -> list[Read]:
        """What the batch's check-ins are judged on (core.evidence): who checked in at their
        points, and the students' location samples."""
        ids = {student_id for _, student_id in located}
        tz = self.settings.tz
        wanted = [
            (point_key(i.location.lat, i.location.lng), i.at.astimezone(tz).date(), student_id)
            for i, student_id in located
        ]
        return [
            checkins_at_points_read(conn, wanted=wanted),
            samples_of_students_since_read(conn, student_ids=ids, since=since),
        ]

    def handle_in(self, job: MessageJob, conn: Connection, batch: Batch) -> Handled:
        """Route and handle one message inside the batch's transaction."""
        state: _BatchState = batch.data[self]
        inbound = job.inbound
        who = (inbound.channel, inbound.user_id)
        claim = (inbound.channel, job.key[:KEY_LENGTH]) if job.key else None
        if job.replay_key is not None and not self._accept_once(state, job.replay_key, inbound.at):
            return Handled("refused")
        if claim is not None:
            if claim in state.known:
                return Handled("duplicate", answer=state.known[claim])
            if claim in state.claims:  # repeated within this batch: the first one's answer
                return Handled("duplicate", answer=state.claims[claim]["reply"])
        if inbound.kind != "location":  # location check-ins read the batch's own facts
            batch.settle(conn)
        ctx = Context(
            inbound=inbound,
            conn=conn,
            settings=self.settings,
            now=inbound.at,
            account=state.accounts.get(who),
            dialog=state.dialogs.get(who),
            args=inbound.get_plaintext(),
            text=inbound.get_plaintext(),
            on_change=state.remember,
            batch=batch,
            page_key=self.page_key,
        )
        if ctx.account is not None and ctx.account.person_kind == "student":
            ctx.facts = state.facts.get(ctx.account.person_id)
        replies = tuple(dispatch(ctx))
        ctx.finish()
        handled = self._deliver(conn, job, ctx, replies)
        if claim is not None:
            state.claims[claim] = {
                "channel": claim[0],
                "dedup_key": claim[1],
                "reply": handled.answer,
                "at": inbound.at,
            }
        if ctx.account is not None:
            earliest = state.touches.get(ctx.account.id)
            if earliest is None or inbound.at < earliest:
                state.touches[ctx.account.id] = inbound.at
        return handled

    @staticmethod
    def _accept_once(state: _BatchState, key: dict, at) -> bool:
        """The replay guard: a (timestamp, nonce) pair carries one message, however often."""
        pair = (key["timestamp"], key["nonce"])
        earlier = state.nonces.get(pair)
        if earlier is None and pair in state.new_nonces:
            earlier = state.new_nonces[pair]["digest"]
        if earlier is not None:
            return earlier == key["digest"]  # WeChat retrying the same message, or a replay
        state.new_nonces[pair] = dict(key, at=at)
        return True

    def _deliver(self, conn: Connection, job: MessageJob, ctx: Context, replies) -> Handled:
        """Apply the adapter's reply mode; what must be pushed is queued in this transaction."""
        mode = job.mode
        if mode == "silent":
            return Handled("done")
        if mode == "return":
            return Handled("done", replies, answer=join_replies(replies))
        if mode == "push":
            not_before = ctx.now + timedelta(seconds=PUSH_GRACE_S)
            replies = tuple(reply for reply in replies if reply.text)
            rows = [
                self._reply_row(job, ctx, str(i), reply.text, not_before)
                for i, reply in enumerate(replies)
            ]
            return Handled("done", replies, pushed=tuple(queue_rows_returning_ids(conn, rows)))
        # passive
        text = join_replies(replies)
        if time.monotonic() > job.deadline:
            log.info("%s %s handled late: its reply goes through the outbox", job.inbound.channel,
                     job.key)  # fmt: skip
            passive, rest = "", text
        else:
            passive, rest = split_passive(text)
        if rest:
            queue_rows(conn, [self._reply_row(job, ctx, "rest", rest, None)])
        return Handled("done", replies, answer=passive)

    def _reply_row(self, job: MessageJob, ctx: Context, part: str, text: str, not_before):
        inbound, account = job.inbound, ctx.account
        key = job.key or f"{inbound.user_id}:{inbound.at.isoformat()}"
        return outbox_row(
            key=f"reply:{inbound.channel}:{key}:{part}",
            channel=inbound.channel,
            to=inbound.user_id,
            now=ctx.now,
            kind="reply",
            text=text,
            person_kind=account.person_kind if account is not None else "",
            person_id=account.person_id if account is not None else None,
            school_id=account.school_id if account is not None else None,
            not_before=not_before,
        )
