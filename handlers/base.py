"""What every handler gets (Context) and how handlers register for intents and dialog states."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from bot.types import Inbound, Notification, Reply
from core.settings import Settings
from models import ChannelAccount, ConversationState, Parent, Student, Teacher
from models.queue import enqueue

Handler = Callable[["Context"], list[Reply]]
# A user-facing text in Chinese and English: (zh, en), with str.format placeholders.
Text = tuple[str, str]
INTENTS: dict[str, Handler] = {}
STATES: dict[str, Handler] = {}
# Extra leading words a handler understands: word -> (intent, text put before the rest).
WORDS: dict[str, tuple[str, str]] = {}


def on_intent(*names: str) -> Callable[[Handler], Handler]:
    """Register a handler for one or more intents (see bot.types.INTENTS)."""

    def register(fn: Handler) -> Handler:
        for name in names:
            INTENTS[name] = fn
        return fn

    return register


def add_words(words: dict[str, tuple[str, str]]) -> None:
    """Teach the dispatcher leading words such as 批准补卡 (-> intent makeup, args "批准 ...")."""
    WORDS.update(words)


def match_words(text: str) -> tuple[str, str] | None:
    """The (intent, args) of a registered leading word, longest word first."""
    stripped = text.strip()
    for word in sorted(WORDS, key=len, reverse=True):
        if stripped.lower().startswith(word.lower()):
            intent, prefix = WORDS[word]
            rest = stripped[len(word) :].strip()
            return intent, f"{prefix} {rest}".strip()
    return None


def say(text: Text, lang: str, **values) -> str:
    """Pick the language's template and fill in the placeholders (no Context needed)."""
    template = text[1] if lang == "en" else text[0]
    return template.format(**values) if values else template


def on_state(name: str) -> Callable[[Handler], Handler]:
    """Register the handler that continues a dialog in state `name`."""

    def register(fn: Handler) -> Handler:
        STATES[name] = fn
        return fn

    return register


@dataclass
class Context:
    inbound: Inbound
    session: Session
    settings: Settings
    now: datetime  # timezone-aware, the moment the message is handled
    account: ChannelAccount | None = None
    args: str = ""  # the text after the intent word or command
    intent: str | None = None  # the intent that routed here; None for the help fallback

    @property
    def lang(self) -> str:
        return self.account.language if self.account else self.inbound.language

    def say(self, text: Text, **values) -> str:
        """Pick the sender's language and fill in the placeholders."""
        return say(text, self.lang, **values)

    def reply(self, text: Text, **values) -> list[Reply]:
        return [Reply(self.say(text, **values))]

    @property
    def role(self) -> str | None:
        return self.account.person_kind if self.account else None

    def person(self) -> Student | Teacher | Parent | None:
        """The bound student, teacher or parent."""
        model = {"student": Student, "teacher": Teacher, "parent": Parent}.get(self.role or "")
        return self.session.get(model, self.account.person_id) if model else None

    @property
    def today(self):
        return self.now.astimezone(self.settings.tz).date()

    # --- conversation state, stored in the database so webhooks stay stateless -----------

    def state(self) -> ConversationState | None:
        row = self.session.exec(
            select(ConversationState).where(
                ConversationState.channel == self.inbound.channel,
                ConversationState.external_id == self.inbound.user_id,
            )
        ).first()
        if row is not None and row.expires_at <= self.now:
            self.session.delete(row)
            self.session.flush()
            return None
        return row

    def set_state(self, state: str, data: dict, *, ttl: timedelta) -> None:
        row = self.state()
        if row is None:
            row = ConversationState(
                channel=self.inbound.channel,
                external_id=self.inbound.user_id,
                state=state,
                data=data,
                updated_at=self.now,
                expires_at=self.now + ttl,
            )
        else:
            row.state, row.data = state, dict(data)
            row.updated_at, row.expires_at = self.now, self.now + ttl
        self.session.add(row)
        self.session.flush()

    def clear_state(self) -> None:
        row = self.state()
        if row is not None:
            self.session.delete(row)
            self.session.flush()

    # --- pushing to other people ----------------------------------------------------------

    def notify(self, n: Notification) -> int:
        """Queue a message to a person's bound chats through the outbox."""
        return enqueue(
            self.session,
            person_kind=n.person_kind,
            person_id=n.person_id,
            key=n.key or f"{n.kind}:{n.person_kind}:{n.person_id}:{self.now.isoformat()}",
            kind=n.kind,
            text=n.text,
            params=n.params,
            school_id=n.school_id,
            quiet_hours=n.quiet_hours,
            expires_at=n.expires_at,
        )
