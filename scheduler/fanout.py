"""Queue prepared messages (digests, alerts) to many people at once, one row per chat account."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session

from models import ChannelAccount
from models.queue import outbox_row, queue_rows

CHUNK = 500  # keeps IN lists and multi-row VALUES well inside every driver's parameter limit


@dataclass(frozen=True)
class Message:
    person_kind: str
    person_id: int
    key: str  # per person; the chat account is appended, so each account gets it once
    kind: str
    text: str | None
    school_id: int | None = None
    day: date | None = None
    quiet_hours: bool = False
    expires_at: datetime | None = None
    params: dict = field(default_factory=dict)


def chunks(items: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def accounts_of(session: Session, person_kind: str, ids: Iterable[int]) -> dict[int, list]:
    """Active chat accounts (channel, external_id) per person id."""
    out: dict[int, list] = defaultdict(list)
    for part in chunks(sorted(set(ids))):
        rows = session.execute(
            select(ChannelAccount.person_id, ChannelAccount.channel, ChannelAccount.external_id)
            .where(
                ChannelAccount.person_kind == person_kind,
                ChannelAccount.person_id.in_(part),
                ChannelAccount.active.is_(True),
            )
            .order_by(ChannelAccount.id)
        )
        for person_id, channel, external_id in rows:
            out[person_id].append((channel, external_id))
    return out


def enqueue_all(session: Session, messages: list[Message], now: datetime) -> int:
    """Insert every message for every bound account of its person; returns rows newly queued."""
    by_kind: dict[str, list[Message]] = defaultdict(list)
    for msg in messages:
        by_kind[msg.person_kind].append(msg)
    rows = []
    for person_kind, group in by_kind.items():
        accounts = accounts_of(session, person_kind, (m.person_id for m in group))
        for msg in group:
            for channel, external_id in accounts.get(msg.person_id, ()):
                rows.append(_row(msg, channel, external_id, now))
    return sum(queue_rows(session, list(part)) for part in chunks(rows))


def _row(msg: Message, channel: str, external_id: str, now: datetime) -> dict:
    return outbox_row(
        key=f"{msg.key}:{channel}:{external_id}",
        channel=channel,
        to=external_id,
        now=now,
        kind=msg.kind,
        text=msg.text,
        params=msg.params,
        person_kind=msg.person_kind,
        person_id=msg.person_id,
        school_id=msg.school_id,
        day=msg.day,
        quiet_hours=msg.quiet_hours,
        expires_at=msg.expires_at,
    )
