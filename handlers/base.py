"""What every handler gets (Context), and how handlers register for intents and dialog states.

A handler runs inside the inbound path's transaction (bot/pipeline.py): `ctx.conn` is that
transaction's connection, and everything a handler writes commits together with the message's
dedupe mark and its stored reply, or not at all. Reads and writes go through keyword-only
functions of models/ (prebuilt Core statements); `ctx.session` is an ORM session on the same
connection for the rarer handlers that still want one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy.engine import Connection
from sqlmodel import Session

from bot.types import Inbound, Notification, Reply
from core.evidence import EvidenceFacts, Fix, sample_since
from core.geo import to_gcj02
from core.settings import Settings
from models.accounts import CLAIMED_AHEAD
from models.attendance import DueFacts, due_facts
from models.checkins import (
    checkins_at_points,
    checkins_between,
    placements_of,
    samples_of_students_since,
)
from models.inbound import clear_dialog_state, set_dialog_state
from models.people_queries import students_with_names
from models.queue import enqueue

Handler = Callable[["Context"], list[Reply]]
# A user-facing text in Chinese and English: (zh, en), with str.format placeholders.
Text = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Route:
    """A registered handler and the roles it is for (None: every bound person)."""

    handler: Handler
    roles: tuple[str, ...] | None = None
    refusal: Text | None = None  # what other roles are told (default: the dispatcher's)

    def allows(self, role: str | None) -> bool:
        return self.roles is None or role in self.roles


HANDLERS: dict[str, Route] = {}  # intent -> route
DIALOGS: dict[str, Handler] = {}  # dialog state -> the handler that continues it
# Extra leading words a handler understands: word -> (intent, text put before the rest).
WORDS: dict[str, tuple[str, str]] = {}
_WORDS_BY_LENGTH: list[str] = []


def on_intent(
    *names: str, roles: tuple[str, ...] | None = None, refusal: Text | None = None
) -> Callable[[Handler], Handler]:
    """Register a handler for one or more intents, for the given roles (None: anyone bound)."""

    def register(fn: Handler) -> Handler:
        for name in names:
            HANDLERS[name] = Route(fn, roles, refusal)
        return fn

    return register


def on_state(name: str) -> Callable[[Handler], Handler]:
    """Register the handler that continues a dialog in state `name`."""

    def register(fn: Handler) -> Handler:
        DIALOGS[name] = fn
        return fn

    return register


def add_words(words: dict[str, tuple[str, str]]) -> None:
    """Teach the dispatcher leading words such as 批准补卡 (-> intent makeup, args "批准 ...")."""
    WORDS.update(words)
    _WORDS_BY_LENGTH[:] = sorted(WORDS, key=len, reverse=True)


def match_words(text: str) -> tuple[str, str] | None:
    """The (intent, args) of a registered leading word, longest word first."""
    stripped = text.strip()
    lowered = stripped.lower()
    for word in _WORDS_BY_LENGTH:
        if lowered.startswith(word.lower()):
            intent, prefix = WORDS[word]
            rest = stripped[len(word) :].strip()
            return intent, f"{prefix} {rest}".strip()
    return None


def say(text: Text, lang: str, **values) -> str:
    """Pick the language's template and fill in the placeholders (no Context needed)."""
    template = text[1] if lang == "en" else text[0]
    return template.format(**values) if values else template


# Where the inbound path leaves its batch's senders' bindings ((channel, user) -> row or None).
BATCH_SENDERS = "senders"


@dataclass
class StudentFacts:
    """A student's placements and check-ins on days first..last, read for a whole batch."""

    placements: list
    first: date
    last: date
    by_day: dict = field(default_factory=dict)  # day -> check-ins, oldest first
    due: DueFacts | None = None  # what core.due needs: placements, first binding, leave
    me: Any = None  # the student's row, with class_name and teacher_name
    # Evidence (core.evidence), read when the batch holds a location: who checked in at the
    # batch's points (point -> [(student id, day)], shared by the batch's students), and this
    # student's location samples since `samples_since`.
    seen: dict | None = None
    samples: list | None = None
    samples_since: datetime | None = None

    def covers(self, start: date, end: date) -> bool:
        return self.first <= start and end <= self.last

    def between(self, start: date, end: date) -> list:
        days = sorted(d for d in self.by_day if start <= d <= end)
        return [row for d in days for row in self.by_day[d]]

    def add(self, row) -> None:
        """A check-in recorded in this batch: later messages of the batch see it."""
        self.by_day.setdefault(row.day, []).append(row)
        point = getattr(row, "point", None)
        if self.seen is not None and point is not None:
            self.seen.setdefault(point, []).append((row.student_id, row.day))

    def sampled(self, sample) -> None:
        """A location sample stored in this batch: later check-ins of the batch compare it."""
        if self.samples is not None:
            self.samples.append(sample)


@dataclass
class Context:
    """One message being handled: who sent it, in which transaction, at what time."""

    inbound: Inbound
    conn: Connection
    settings: Settings
    now: datetime  # timezone-aware, the moment the message is handled
    account: Any = None  # the sender's active binding (a channel_accounts row), or None
    dialog: Any = None  # the sender's stored dialog state row (maybe expired), or None
    args: str = ""  # the text after the intent word or command
    text: str = ""  # the whole message as handlers should read it (the dispatcher may reword)
    intent: str | None = None  # the intent that routed here; None for the help fallback
    # Called when a handler binds, unbinds or changes the dialog, so that later messages of
    # the same batch see it (see bot.pipeline).
    on_change: Callable[[Context], None] | None = None
    batch: Any = None  # the writer's Batch (bot.writer): work shared by a transaction's messages
    facts: StudentFacts | None = None  # a student sender's placements and recent check-ins
    page_key: str = ""  # signs check-in page links (core.page_token); '' when there are none
    _session: Session | None = field(default=None, repr=False)

    @property
    def lang(self) -> str:
        return self.account.language if self.account else self.inbound.language

    @property
    def role(self) -> str | None:
        return self.account.person_kind if self.account else None

    @property
    def person_id(self) -> int | None:
        return self.account.person_id if self.account else None

    @property
    def today(self) -> date:
        return self.now.astimezone(self.settings.tz).date()

    def say(self, text: Text, **values) -> str:
        """Pick the sender's language and fill in the placeholders."""
        return say(text, self.lang, **values)

    def reply(self, text: Text, **values) -> list[Reply]:
        return [Reply(self.say(text, **values))]

    # --- a student sender's placements and check-ins (read with the batch when it could be) --

    def placements(self) -> list:
        """The sender's placements (a student), oldest first."""
        if self.facts is not None:
            return self.facts.placements
        return placements_of(self.conn, student_id=self.person_id)

    def student(self):
        """The sender's student row (with class_name and teacher_name), or None."""
        if self.role != "student":
            return None
        if self.facts is not None and self.facts.me is not None:
            return self.facts.me
        return students_with_names(self.conn, student_ids=[self.person_id]).get(self.person_id)

    def batch_senders(self) -> list:
        """The bindings (None: unbound) of everyone whose message is in this one's batch."""
        if self.batch is None:
            return [self.account]
        return list(self.batch.data.get(BATCH_SENDERS, {}).values()) or [self.account]

    def kept(self, key, read, fits):
        """What `read()` reads set-wise for the batch's messages of one kind (Batch.kept);
        without a batch, read for this message alone."""
        if self.batch is None:
            return read()
        return self.batch.kept(key, read, fits)

    def forget(self, key) -> None:
        """Drop what was kept under `key`: this message changed it (see kept)."""
        if self.batch is not None:
            self.batch.data.pop(key, None)

    def write_now(self, key) -> None:
        """Write the batch's rows collected under `key` now: this message reads them."""
        if self.batch is not None:
            self.batch.write_now(self.conn, key)

    def claimed_ahead(self, code: str):
        """(binding, receipt line) when the inbound path already claimed `code` for this
        sender with its batch's reads (models.accounts.CLAIMED_AHEAD), else None."""
        ahead = self.batch.data.get(CLAIMED_AHEAD) if self.batch is not None else None
        who = (self.inbound.channel, self.inbound.user_id)
        found = ahead.get(who) if ahead else None
        if found is None or found[0] != code:
            return None
        del ahead[who]
        return found[1], found[2]

    def batch_unbound(self) -> set[str]:
        """The external ids of this channel's unbound senders in this one's batch (the sender's
        own among them)."""
        channel, mine = self.inbound.channel, {self.inbound.user_id}
        if self.batch is None:
            return mine
        senders = self.batch.data.get(BATCH_SENDERS, {})
        return mine | {user for (c, user), a in senders.items() if c == channel and a is None}

    def due_facts(self) -> DueFacts:
        """What core.due needs to decide this week's days for the sender (a student)."""
        if self.facts is not None and self.facts.due is not None:
            return self.facts.due
        monday = self.today - timedelta(days=self.today.weekday())
        facts = due_facts(self.conn, student_ids=[self.person_id], first=monday, last=self.today)
        return facts[self.person_id]

    def checkins_between(self, start: date, end: date) -> list:
        """The sender's check-ins on days start..end (a student), oldest first."""
        if self.facts is not None and self.facts.covers(start, end):
            return self.facts.between(start, end)
        return checkins_between(self.conn, student_id=self.person_id, start=start, end=end)

    def evidence_facts(self, point: str, day: date) -> EvidenceFacts:
        """What core.evidence.judge needs for the sender's check-in at `point` now."""
        me, now, facts = self.person_id, self.now, self.facts
        if facts is not None and facts.seen is not None and point in facts.seen:
            seen = facts.seen[point]
        else:
            found = checkins_at_points(self.conn, wanted=[(point, day, me)])
            seen = found.get(point, [])
        since = sample_since(now)
        if facts is not None and facts.samples is not None and facts.samples_since <= since:
            samples = facts.samples
        else:
            found = samples_of_students_since(self.conn, student_ids=[me], since=since)
            samples = found.get(me, [])
        previous, events = None, []
        for s in samples:
            if since <= s.at <= now:
                fix = Fix(s.at, *to_gcj02(s.lat, s.lng, s.datum))
                if s.source == "event":
                    events.append(fix)
                if s.at < now and (previous is None or s.at > previous.at):
                    previous = fix
        # Check-ins come oldest first: the latest before now is the only one that matters.
        monday = day - timedelta(days=day.weekday())
        for row in reversed(self.checkins_between(monday, day)):
            if row.at < now and row.norm_lat is not None:
                if previous is None or row.at > previous.at:
                    previous = Fix(row.at, row.norm_lat, row.norm_lng)
                break
        return EvidenceFacts(
            own_days=frozenset(d for sid, d in seen if sid == me) if seen else frozenset(),
            others_today=any(sid != me and d == day for sid, d in seen),
            previous=previous,
            events=tuple(events),
        )

    def checked_in(self, row) -> None:
        """Remember a check-in this message recorded, for the rest of the batch."""
        if self.facts is not None:
            self.facts.add(row)

    # --- the ORM session, for handlers that want one ----------------------------------------

    @property
    def session(self) -> Session:
        """An ORM session on this message's connection (its commit is the batch's)."""
        if self._session is None:
            self._session = Session(
                bind=self.conn, join_transaction_mode="rollback_only", expire_on_commit=False
            )
        return self._session

    def finish(self) -> None:
        """Flush what the ORM session holds; called once the handler has returned."""
        if self._session is not None:
            self._session.flush()
            self._session.close()
            self._session = None

    # --- binding changes ----------------------------------------------------------------------

    def rebind(self, account) -> None:
        """The sender is now bound as `account` (None: unbound) for the rest of the batch."""
        self.account = account
        if self.on_change is not None:
            self.on_change(self)

    # --- dialog state, stored in the database so webhooks stay stateless ---------------------

    def state(self):
        """The sender's dialog state (with .state and .data), or None when none is live."""
        row = self.dialog
        if row is None:
            return None
        if row.expires_at <= self.now:
            self.clear_state()
            return None
        return row

    def set_state(self, state: str, data: dict, *, ttl: timedelta) -> None:
        inbound = self.inbound
        expires_at = self.now + ttl
        set_dialog_state(
            self.conn,
            channel=inbound.channel,
            external_id=inbound.user_id,
            state=state,
            data=data,
            now=self.now,
            expires_at=expires_at,
            batch=self.batch,
        )
        self._dialog_is(
            SimpleNamespace(
                state=state, data=dict(data), updated_at=self.now, expires_at=expires_at
            )
        )

    def clear_state(self) -> None:
        if self.dialog is None:
            return
        clear_dialog_state(
            self.conn,
            channel=self.inbound.channel,
            external_id=self.inbound.user_id,
            batch=self.batch,
        )
        self._dialog_is(None)

    def _dialog_is(self, row) -> None:
        self.dialog = row
        if self.on_change is not None:
            self.on_change(self)

    # --- pushing to other people ----------------------------------------------------------

    def notify(self, n: Notification) -> int | None:
        """Queue a message to a person's bound chats through the outbox (same transaction;
        in the writer's batch, written with its other writes just before the commit)."""
        return enqueue(
            self.conn,
            person_kind=n.person_kind,
            person_id=n.person_id,
            key=n.key or f"{n.kind}:{n.person_kind}:{n.person_id}:{self.now.isoformat()}",
            now=self.now,
            kind=n.kind,
            text=n.text,
            params=n.params,
            school_id=n.school_id,
            quiet_hours=n.quiet_hours,
            expires_at=n.expires_at,
            batch=self.batch,
        )
