"""A writer batch's pushes to people (models.queue.enqueue with batch=): on PostgreSQL one
statement from arrays for all of them, with the same rows as one message at a time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import event
from sqlmodel import select

from bot.writer import Batch
from models import ChannelAccount, OutboxMessage
from models.queue import enqueue
from tests.factories import bind

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _accounts(session) -> None:
    """Teacher 1 on WeChat and Telegram, teacher 2 on WeChat, teacher 3 unbound (inactive)."""
    bind(session, person_kind="teacher", person_id=1, channel="wechat", external_id="oT1")
    bind(session, person_kind="teacher", person_id=1, channel="telegram", external_id="71")
    bind(session, person_kind="teacher", person_id=2, channel="wechat", external_id="oT2")
    bind(session, person_kind="teacher", person_id=3, channel="wechat", external_id="oT3")
    session.commit()
    gone = session.exec(select(ChannelAccount).where(ChannelAccount.external_id == "oT3")).one()
    gone.active = False
    session.add(gone)
    session.commit()


def _push(conn, batch, person_id: int, key: str, **extra) -> None:
    enqueue(conn, person_kind="teacher", person_id=person_id, key=key, now=NOW,
            kind="ticket_new", text=f"工单 {key}", batch=batch, **extra)  # fmt: skip


def _queued(session) -> list[tuple]:
    session.expire_all()
    rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.idempotency_key)).all()
    return [(r.idempotency_key, r.channel, r.to_external_id, r.person_id, r.text) for r in rows]


def test_a_batch_of_pushes_reaches_every_active_account_once(session, engine):
    _accounts(session)
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    with engine.connect() as conn:
        batch = Batch()
        _push(conn, batch, 1, "t:1")
        _push(conn, batch, 2, "t:2")
        _push(conn, batch, 3, "t:3")  # no active account: nothing queued
        _push(conn, batch, 1, "t:1")  # the same key again: queued once
        _push(conn, batch, 2, "t:4", params={"no": "T4"})
        batch.flush(conn, commit=True)
    assert _queued(session) == [
        ("t:1:telegram:71", "telegram", "71", 1, "工单 t:1"),
        ("t:1:wechat:oT1", "wechat", "oT1", 1, "工单 t:1"),
        ("t:2:wechat:oT2", "wechat", "oT2", 2, "工单 t:2"),
        ("t:4:wechat:oT2", "wechat", "oT2", 2, "工单 t:4"),
    ]
    inserts = [sql for sql in seen if sql.startswith("INSERT INTO outbox ")]
    assert len(inserts) == 1
    assert ("unnest" in inserts[0]) == (engine.dialect.name == "postgresql")
    params = {r.idempotency_key: r.params for r in session.exec(select(OutboxMessage))}
    assert params["t:4:wechat:oT2"] == {"no": "T4"} and params["t:1:wechat:oT1"] == {}
