"""The channel-independent vocabulary: Inbound events, Replies and Notifications (the leaf)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter


def pickled_by_fields(cls):
    """Pickle instances as the class called with their fields, in order. A slots dataclass's
    own pickling calls dataclasses.fields() for every object, twice the cost; every message
    crosses to the writer process (bot/writer_process.py) and its answer back, pickled."""
    values = attrgetter(*(f.name for f in fields(cls)))

    def __reduce__(self):
        return cls, values(self)

    cls.__reduce__ = __reduce__
    return cls


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Location:
    lat: float
    lng: float
    datum: str  # gcj02 (WeChat) | wgs84 (Telegram) | bd09
    # location (a message) | event (WeChat LOCATION) | live | device (the check-in page)
    source: str = "location"
    accuracy_m: float | None = None
    label: str = ""
    live_period: int | None = None


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a chat user did, whatever the channel."""

    channel: str  # wechat | telegram | console
    user_id: str  # openid, Telegram user id, or the console's --as
    at: datetime  # timezone-aware
    text: str = ""  # message text, voice recognition, or command arguments
    location: Location | None = None
    intent: str | None = None  # set when a menu key or command names it outright
    kind: str = "text"  # text | location | image | voice | event | command
    event: str = ""  # subscribe | unsubscribe | LOCATION | CLICK ... (WeChat)
    media: str = ""  # image URL / media id kept as evidence
    message_id: str = ""
    language: str = "zh"  # zh | en
    display_name: str = ""
    forwarded: bool = False  # a forwarded message (Telegram): not the sender's own location

    def get_plaintext(self) -> str:
        return self.text.strip()


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Reply:
    """Something to say back to the sender."""

    text: str
    ask_location: bool = False  # offer a "send my location" button where the channel has one
    buttons: tuple[str, ...] = ()


def join_replies(replies) -> str:
    """One chat message from several replies, separated by blank lines."""
    return "\n\n".join(r.text for r in replies if r.text)


@dataclass(frozen=True, slots=True)
class Notification:
    """A message pushed to a person through the outbox, not as a reply."""

    person_kind: str  # student | teacher | parent | mentor | school_admin
    person_id: int
    text: str
    kind: str = "notice"
    key: str = ""  # idempotency key; the outbox never sends the same key twice
    quiet_hours: bool = False
    expires_at: datetime | None = None
    school_id: int | None = None
    params: dict = field(default_factory=dict)


# Outbox pseudo-channels that set a chat user's menu for their role (bot/menu_push.py): the row
# goes to the same user id, its text is "<role>:<language>" ("none" after unbinding).
MENU_CHANNELS = {"wechat": "wechat_menu", "telegram": "telegram_menu"}
