"""Handler fixtures: chats through the real dispatcher, and the people on both ends of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.console import ConsoleChannel, verify_dialog
from bot.pipeline import Pipeline
from bot.types import Inbound, Location, Reply
from models import ChannelAccount, ConsoleUser, Guardianship, OutboxMessage, Student
from tests.factories import bind, make_student


@dataclass
class Chat:
    """One chat user talking to the bot; each message is its own transaction, like a webhook."""

    dispatcher: Pipeline
    now: datetime
    user_id: str = "u1"
    channel: str = "console"
    language: str = "zh"
    last: list[Reply] = field(default_factory=list)

    def send(self, text: str = "", *, intent: str | None = None, **kw) -> str:
        inbound = Inbound(
            channel=self.channel,
            user_id=self.user_id,
            at=kw.pop("at", self.now),
            text=text,
            intent=intent,
            kind=kw.pop("kind", "command" if intent else "text"),
            language=self.language,
            **kw,
        )
        self.last = self.dispatcher(inbound)
        return "\n".join(r.text for r in self.last)

    def location(self, lat: float, lng: float, datum: str = "gcj02", **kw) -> str:
        loc_keys = ("source", "accuracy_m", "label", "live_period")  # the rest: Inbound
        loc = Location(lat, lng, datum, **{k: kw.pop(k) for k in loc_keys if k in kw})
        kind = "event" if loc.source == "event" else "location"
        intent = None if kind == "event" else "checkin"
        return self.send(location=loc, kind=kind, intent=intent, **kw)

    def later(self, **delta) -> Chat:
        """Move this chat's clock forward."""
        self.now += timedelta(**delta)
        return self

    def dialog(self, rows: list[tuple]) -> None:
        """Send each message and compare its replies whole (bot.console.verify_dialog)."""

        def send(message) -> list[str]:
            self.send(message)
            return [r.text for r in self.last]

        verify_dialog(send, rows)


@pytest.fixture
def chat_factory(engine, settings, now):
    dispatcher = Pipeline(engine, settings)

    def make(user_id: str = "u1", *, channel: str = "console", language: str = "zh") -> Chat:
        return Chat(dispatcher, now, user_id=user_id, channel=channel, language=language)

    return make


@pytest.fixture
def chat(chat_factory) -> Chat:
    return chat_factory()


@pytest.fixture
def console_factory(engine, settings, now):
    """Terminal users (bot/console.py) talking to one real dispatcher."""
    dispatcher = Pipeline(engine, settings)

    def make(user_id: str = "u1", *, language: str = "zh") -> ConsoleChannel:
        return ConsoleChannel(dispatcher, user_id, now=now, language=language)

    return make


def _person_id(session: Session, student: Student, role: str) -> int:
    """The id of the student's `role`: the student, their teacher or parent, or a school admin."""
    if role == "student":
        return student.id
    if role == "teacher":
        return student.teacher_id
    if role == "parent":
        where = Guardianship.student_id == student.id
        return session.exec(select(Guardianship.parent_id).where(where)).first()
    user = ConsoleUser(
        username=f"school{student.school_id}",
        password_hash="x",
        role="school",
        school_id=student.school_id,
    )
    session.add(user)
    session.flush()
    return user.id


@pytest.fixture
def bind_as(session):
    """Bind a chat to someone around a student: bind_as(student, "teacher", "t1", **bind kw)."""

    def link(student: Student, role: str, external_id: str = "u1", **kw) -> ChannelAccount:
        account = bind(
            session,
            person_kind=role,
            person_id=_person_id(session, student, role),
            school_id=student.school_id,
            external_id=external_id,
            **kw,
        )
        session.commit()
        return account

    return link


@pytest.fixture
def bound_student(session, bind_as):
    """A student on placement (make_student's keywords) bound as terminal user u1."""

    def make(**kw) -> Student:
        student = make_student(session, **kw)
        bind_as(student, "student")
        return student

    return make


@pytest.fixture
def english_telegram(session, bind_as, chat_factory):
    """A new student's `role` on Telegram in English: english_telegram("42", "teacher")."""

    def make(external_id: str, role: str = "student", **kw) -> tuple[Student, Chat]:
        student = make_student(session, **kw)
        bind_as(student, role, external_id, channel="telegram", language="en")
        return student, chat_factory(external_id, channel="telegram", language="en")

    return make


@pytest.fixture
def outbox(session):
    """The queued messages, fresh from the database: outbox(person_kind="student", ...)."""

    def read(**where) -> list[OutboxMessage]:
        session.expire_all()
        return list(session.exec(select(OutboxMessage).filter_by(**where)).all())

    return read
