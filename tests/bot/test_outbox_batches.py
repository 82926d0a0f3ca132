"""Delivery at volume: sends overlap, outcomes are marked per batch, the token stays in memory."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import respx
from factories import bind
from sqlmodel import Session, select

from bot.outbox import CONCURRENCY, deliver_due
from bot.senders import SendError
from bot.wechat_api import WechatApi
from models import ApiCredential, OutboxMessage
from models.queue import enqueue

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
WX = "https://api.weixin.qq.com"


class SlowSender:
    """Takes a moment per send and records how many sends were in flight at once."""

    def __init__(self, fail: set[str] = frozenset()):
        self.in_flight = self.peak = 0
        self.sent: list[str] = []
        self.fail = fail

    async def send(self, msg, *, now):
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0.01)
        self.in_flight -= 1
        if msg.to in self.fail:
            raise SendError("upstream busy")
        self.sent.append(msg.to)
        return f"up-{msg.id}"


def _queue(engine, n: int) -> None:
    with Session(engine) as session:
        for i in range(n):
            bind(session, person_kind="teacher", person_id=1000 + i, channel="telegram",
                 external_id=str(i))  # fmt: skip
            enqueue(session, person_kind="teacher", person_id=1000 + i, key=f"k{i}",
                    text=f"消息 {i}", not_before=NOW)  # fmt: skip
        session.commit()


async def test_sends_overlap_and_every_outcome_is_recorded(engine, settings):
    _queue(engine, 120)
    sender = SlowSender(fail={"7", "8"})
    settings.outbox.rate_per_s = 0
    assert await deliver_due(engine, settings, now=NOW, senders={"telegram": sender}) == 118
    assert 1 < sender.peak <= CONCURRENCY
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage)).all()
    by_status = {}
    for row in rows:
        by_status.setdefault(row.status, set()).add(row.to_external_id)
    assert by_status["pending"] == {"7", "8"}  # retried later with a backoff
    assert len(by_status["sent"]) == 118
    assert all(r.upstream_id == f"up-{r.id}" for r in rows if r.status == "sent")


async def test_the_rate_limit_still_spaces_concurrent_sends(engine, settings):
    _queue(engine, 12)
    settings.outbox.rate_per_s = 40  # a burst of 40 allowed, so 12 go at once
    sender = SlowSender()
    assert await deliver_due(engine, settings, now=NOW, senders={"telegram": sender}) == 12
    settings.outbox.rate_per_s = 5
    _more = SlowSender()
    with Session(engine) as session:
        for i in range(12, 20):
            bind(session, person_kind="teacher", person_id=2000 + i, channel="telegram",
                 external_id=str(i))  # fmt: skip
            enqueue(session, person_kind="teacher", person_id=2000 + i, key=f"k{i}",
                    text="x", not_before=NOW)  # fmt: skip
        session.commit()
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await deliver_due(engine, settings, now=NOW, senders={"telegram": _more}) == 8
    assert loop.time() - started >= 0.5  # 8 sends at 5/s after a burst of 5


async def test_the_access_token_is_read_from_the_database_once_then_kept_in_memory(
    engine, settings
):
    with respx.mock(assert_all_called=False) as wx:
        token = wx.post(f"{WX}/cgi-bin/stable_token").respond(
            json={"access_token": "T1", "expires_in": 7200}
        )
        async with httpx.AsyncClient() as http:
            api = WechatApi(settings, engine, http)
            assert await api.access_token() == "T1"
            with Session(engine) as session:  # another process refreshes in the database
                session.get(ApiCredential, api.name).value = "T2"
                session.commit()
            assert await api.access_token() == "T1"  # no database read per send
            assert await api.access_token(rejected="T1") == "T2"  # rejected: shared row wins
    assert token.call_count == 1
