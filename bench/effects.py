"""What inbound messages left in the database, read from the rows alone (no app code).

Each reader answers, per expected effect, how many times it happened: 1 is right, 0 is lost,
2 or more is duplicated. The webhook bench and the crash test (tests/crash) both use them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence

from sqlalchemy import select

from models import (
    ChannelAccount,
    CheckIn,
    ConversationState,
    InboundSeen,
    InviteCode,
    Journal,
    OutboxMessage,
    Ticket,
)
from models.db import make_engine

CHUNK = 500  # keys per IN list (SQLite's old limit on bound parameters is 999)


def _chunks(items: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _rows(url: str, build, keys: Sequence) -> list:
    """Run `build(chunk_of_keys)` for every chunk of keys and gather the rows."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [row for part in _chunks(list(keys)) for row in conn.execute(build(part))]
    finally:
        engine.dispose()


def checkins(url: str, student_ids: Sequence[int]) -> Counter:
    """Check-in rows per student."""
    rows = _rows(
        url,
        lambda part: select(CheckIn.student_id).where(CheckIn.student_id.in_(part)),
        student_ids,
    )
    return Counter(r.student_id for r in rows)


def tickets(url: str, expected: dict[int, str]) -> dict[int, int]:
    """Tickets of each student whose description holds the student's marker."""
    rows = _rows(
        url,
        lambda part: select(Ticket.student_id, Ticket.description).where(
            Ticket.student_id.in_(part)
        ),
        list(expected),
    )
    found = Counter(r.student_id for r in rows if expected[r.student_id] in r.description)
    return {sid: found[sid] for sid in expected}


def journals(url: str, expected: dict[int, list[str]]) -> dict[int, list[int]]:
    """For each student's journals, how often each expected part occurs in their text."""
    rows = _rows(
        url,
        lambda part: select(Journal.student_id, Journal.text).where(Journal.student_id.in_(part)),
        list(expected),
    )
    texts: dict[int, str] = {}
    for r in rows:
        texts[r.student_id] = texts.get(r.student_id, "") + "\n" + r.text
    return {sid: [texts.get(sid, "").count(p) for p in parts] for sid, parts in expected.items()}


def drafts(url: str, expected: dict[str, str]) -> dict[str, int]:
    """How often each sender's marker occurs in their open dialog state (a journal draft).

    Drafts live in conversation_states.data (handlers/journal.py); the whole JSON is searched,
    so the check does not depend on how the draft is laid out inside it.
    """
    rows = _rows(
        url,
        lambda part: select(ConversationState.external_id, ConversationState.data).where(
            ConversationState.channel == "wechat", ConversationState.external_id.in_(part)
        ),
        list(expected),
    )
    found = Counter()
    for r in rows:
        found[r.external_id] += json.dumps(r.data, ensure_ascii=False).count(
            expected[r.external_id]
        )
    return {openid: found[openid] for openid in expected}


def open_drafts(url: str, openids: Sequence[str]) -> int:
    """How many of these senders have an open dialog state."""
    rows = _rows(
        url,
        lambda part: select(ConversationState.external_id).where(
            ConversationState.channel == "wechat", ConversationState.external_id.in_(part)
        ),
        list(openids),
    )
    return len({r.external_id for r in rows})


def binds(url: str, expected: dict[str, tuple[int, str]]) -> dict[str, int]:
    """1 per sender (openid -> (student id, code)) whose bind is complete, else 0 (or 2+).

    Complete: one active WeChat account of that openid, for that student, the student has no
    other active account, and the code is marked used by that account.
    """
    openids = list(expected)
    accounts = _rows(
        url,
        lambda part: select(
            ChannelAccount.id,
            ChannelAccount.external_id,
            ChannelAccount.person_kind,
            ChannelAccount.person_id,
            ChannelAccount.active,
        ).where(ChannelAccount.channel == "wechat", ChannelAccount.external_id.in_(part)),
        openids,
    )
    students = [sid for sid, _ in expected.values()]
    active_per_student = Counter(
        r.person_id
        for r in _rows(
            url,
            lambda part: select(ChannelAccount.person_id).where(
                ChannelAccount.person_kind == "student",
                ChannelAccount.active.is_(True),
                ChannelAccount.person_id.in_(part),
            ),
            students,
        )
    )
    codes = {
        r.code: r
        for r in _rows(
            url,
            lambda part: select(InviteCode.code, InviteCode.used_at, InviteCode.used_by).where(
                InviteCode.code.in_(part)
            ),
            [code for _, code in expected.values()],
        )
    }
    by_openid = {r.external_id: r for r in accounts}
    out = {}
    for openid, (sid, code) in expected.items():
        acc, invite = by_openid.get(openid), codes.get(code)
        if acc is None or not acc.active or (acc.person_kind, acc.person_id) != ("student", sid):
            out[openid] = 0
        elif invite is None or invite.used_at is None or invite.used_by != acc.id:
            out[openid] = 0
        else:
            out[openid] = active_per_student[sid]  # 2+ when the student got bound twice
    return out


def replies(url: str, keys: Sequence[str]) -> dict[str, str]:
    """How each message (by dedupe key) was answered: "stored" (a passive reply kept for
    retries), "outbox" (a late reply queued), "empty" (seen, no reply kept) or "unseen"."""
    seen = {
        r.dedup_key: r.reply
        for r in _rows(
            url,
            lambda part: select(InboundSeen.dedup_key, InboundSeen.reply).where(
                InboundSeen.channel == "wechat", InboundSeen.dedup_key.in_(part)
            ),
            keys,
        )
    }
    queued = {
        r.idempotency_key
        for r in _rows(
            url,
            lambda part: select(OutboxMessage.idempotency_key).where(
                OutboxMessage.idempotency_key.in_(part)
            ),
            [f"reply:wechat:{k}" for k in keys],
        )
    }
    out = {}
    for key in keys:
        if f"reply:wechat:{key}" in queued:
            out[key] = "outbox"
        elif key not in seen:
            out[key] = "unseen"
        else:
            out[key] = "stored" if seen[key] else "empty"
    return out


def outbox_to(url: str, openids: Sequence[str]) -> Counter:
    """Outbox rows addressed to each WeChat sender (late replies, pushes)."""
    rows = _rows(
        url,
        lambda part: select(OutboxMessage.to_external_id).where(
            OutboxMessage.channel == "wechat", OutboxMessage.to_external_id.in_(part)
        ),
        openids,
    )
    return Counter(r.to_external_id for r in rows)
