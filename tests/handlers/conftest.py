"""A small terminal-channel stand-in: send messages through the real dispatcher, check replies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from bot.dispatch import Dispatcher
from bot.types import Inbound, Location, Reply


@dataclass
class Chat:
    """One chat user talking to the bot; each message is its own transaction, like a webhook."""

    dispatcher: Dispatcher
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
        loc_keys = ("source", "accuracy_m", "label", "live_period")
        loc = Location(lat, lng, datum, **{k: kw.pop(k) for k in loc_keys if k in kw})
        kind = "event" if loc.source == "event" else "location"
        intent = None if kind == "event" else "checkin"
        return self.send(location=loc, kind=kind, intent=intent, **kw)

    def later(self, **delta) -> Chat:
        """Move this chat's clock forward."""
        self.now += timedelta(**delta)
        return self

    def dialog(self, rows: list[tuple[str, str]]) -> None:
        """Send each message and check that the reply contains the expected text."""
        for message, expected in rows:
            reply = self.send(message)
            assert expected in reply, f"{message!r} -> {reply!r}; expected {expected!r}"


@pytest.fixture
def chat_factory(engine, settings, now):
    dispatcher = Dispatcher(engine, settings)

    def make(user_id: str = "u1", *, channel: str = "console", language: str = "zh") -> Chat:
        return Chat(dispatcher, now, user_id=user_id, channel=channel, language=language)

    return make


@pytest.fixture
def chat(chat_factory) -> Chat:
    return chat_factory()
