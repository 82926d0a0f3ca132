"""Delivery at volume: sends overlap, outcomes are marked per batch, the token stays in memory."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx
from factories import bind
from sqlmodel import Session, select

from bot import outbox
from bot.outbox import CONCURRENCY, LEASE, claim_due, deliver_due, mark_many, release_stale
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


def _statuses(engine) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage)).all()
    out: dict[str, int] = {}
    for row in rows:
        out[row.status] = out.get(row.status, 0) + 1
    return out


async def test_the_next_batch_is_claimed_while_this_one_is_sent(engine, settings, monkeypatch):
    """The first batch's sends wait for the second claim: without overlap this would hang."""
    _queue(engine, 15)
    settings.outbox.batch_size = 5
    settings.outbox.rate_per_s = 0
    loop = asyncio.get_running_loop()
    claims: list[asyncio.Event] = [asyncio.Event() for _ in range(4)]
    calls = [0]
    real = outbox.claim_batch

    def claim_batch(*args, **kwargs):
        result = real(*args, **kwargs)
        loop.call_soon_threadsafe(claims[calls[0]].set)
        calls[0] += 1
        return result

    monkeypatch.setattr(outbox, "claim_batch", claim_batch)

    class WaitsForTheSecondClaim(SlowSender):
        async def send(self, msg, *, now):
            await asyncio.wait_for(claims[1].wait(), timeout=10)
            return await super().send(msg, now=now)

    sender = WaitsForTheSecondClaim()
    assert await deliver_due(engine, settings, now=NOW, senders={"telegram": sender}) == 15
    assert calls[0] == 4  # three full batches, then an empty claim ends the pass
    assert _statuses(engine) == {"sent": 15}


async def test_a_failed_mark_stops_the_pass_and_leaves_rows_to_their_lease(
    engine, settings, monkeypatch
):
    _queue(engine, 30)
    settings.outbox.batch_size = 5
    settings.outbox.rate_per_s = 0

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(outbox, "mark_many", broken)
    sender = SlowSender()
    with pytest.raises(RuntimeError, match="went away"):
        await deliver_due(engine, settings, now=NOW, senders={"telegram": sender})
    assert len(sender.sent) < 30  # it stopped early ...
    statuses = _statuses(engine)
    assert statuses["sending"] >= len(sender.sent)  # ... and what it sent is retried after LEASE
    monkeypatch.undo()
    later = SlowSender()
    assert await deliver_due(engine, settings, now=NOW + LEASE, senders={"telegram": later}) == (
        statuses["sending"] + statuses.get("pending", 0)
    )
    assert _statuses(engine) == {"sent": 30}


async def test_claims_take_the_longest_waiting_rows_first(engine, settings):
    _queue(engine, 6)
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        for i, row in enumerate(rows):  # the last queued has waited longest
            row.next_attempt_at = NOW - timedelta(minutes=i)
            session.add(row)
        session.commit()
        by_age = [r.id for r in sorted(rows, key=lambda r: r.next_attempt_at)]
    claimed = claim_due(engine, now=NOW, limit=4)
    assert {r.id for r in claimed} == set(by_age[:4])
    assert {r.status for r in claimed} == {"sending"}


async def test_release_expires_stale_rows_and_frees_rows_whose_lease_ran_out(engine, settings):
    _queue(engine, 3)
    claim_due(engine, now=NOW, limit=1)  # a sender claims one and dies
    with Session(engine) as session:
        doomed = session.exec(
            select(OutboxMessage).where(OutboxMessage.status == "pending")
        ).first()
        doomed.expires_at = NOW + timedelta(minutes=1)
        session.add(doomed)
        session.commit()
    release_stale(engine, now=NOW + LEASE)
    assert _statuses(engine) == {"pending": 2, "expired": 1}


async def test_marks_skip_rows_another_sender_took_over(engine, settings):
    _queue(engine, 3)
    claimed = claim_due(engine, now=NOW, limit=3)
    with Session(engine) as session:  # the lease of one ran out and another sender claimed it
        taken = session.get(OutboxMessage, claimed[0].id)
        taken.next_attempt_at = NOW + 2 * LEASE
        session.add(taken)
        session.commit()
    done = dict(status="sent", sent_at=NOW, upstream_id="u", last_error="")
    assert mark_many(engine, NOW, [(row.id, done) for row in claimed]) == 2
    with Session(engine) as session:
        assert session.get(OutboxMessage, claimed[0].id).status == "sending"


async def test_the_first_claim_is_no_larger_than_the_workers(engine, settings, monkeypatch):
    _queue(engine, CONCURRENCY + 10)
    settings.outbox.batch_size = 200
    settings.outbox.rate_per_s = 0
    limits: list[int] = []
    real = outbox.claim_batch

    def claim_batch(*args, limit, **kwargs):
        limits.append(limit)
        return real(*args, limit=limit, **kwargs)

    monkeypatch.setattr(outbox, "claim_batch", claim_batch)
    sender = SlowSender()
    assert await deliver_due(engine, settings, now=NOW, senders={"telegram": sender}) == (
        CONCURRENCY + 10
    )
    assert limits == [CONCURRENCY, 200]  # the second claim took the last 10 and ended the pass
