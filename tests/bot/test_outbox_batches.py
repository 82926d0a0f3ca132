"""Delivery at volume: sends overlap, each outcome is committed on its own, slots bound claims."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx
from factories import bind
from sqlalchemy import func
from sqlmodel import Session, select

from bot import outbox
from bot.outbox import CONCURRENCY, TokenBucket, deliver_due
from bot.outbox_owner import OwnerLost, owning
from bot.outbox_rows import claim, exchange, mark, start_pass
from bot.senders import SendError
from bot.wechat_api import WechatApi
from models import ApiCredential, OutboxMessage
from models.queue import enqueue

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
WX = "https://api.weixin.qq.com"


class OverlappingSender:
    """Yields to the loop mid-send (no wall clock) and records how many sends overlapped."""

    def __init__(self, fail: set[str] = frozenset()):
        self.in_flight = self.peak = 0
        self.sent: list[str] = []
        self.fail = fail

    async def send(self, msg, *, now):
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        for _ in range(3):
            await asyncio.sleep(0)
        self.in_flight -= 1
        if msg.to in self.fail:
            raise SendError("upstream busy")
        self.sent.append(msg.to)
        return f"up-{msg.id}"


def _queue(engine, n: int, start: int = 0) -> None:
    with Session(engine) as session:
        for i in range(start, start + n):
            bind(session, person_kind="teacher", person_id=1000 + i, channel="telegram",
                 external_id=str(i))  # fmt: skip
            enqueue(session, person_kind="teacher", person_id=1000 + i, key=f"k{i}",
                    text=f"消息 {i}", now=NOW, not_before=NOW)  # fmt: skip
        session.commit()


def _statuses(engine) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage)).all()
    out: dict[str, int] = {}
    for row in rows:
        out[row.status] = out.get(row.status, 0) + 1
    return out


def _rows(engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage)).all())


def _sending(engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).where(OutboxMessage.status == "sending")).one()


async def test_sends_overlap_and_every_outcome_is_recorded(engine, settings):
    _queue(engine, 120)
    sender = OverlappingSender(fail={"7", "8"})
    settings.outbox.rate_per_s = 0
    assert await deliver_due(engine, settings, now=NOW, senders={"telegram": sender}) == 118
    assert sender.peak == CONCURRENCY
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage)).all()
    by_status = {}
    for row in rows:
        by_status.setdefault(row.status, set()).add(row.to_external_id)
    assert by_status["pending"] == {"7", "8"}  # retried later with a backoff
    assert len(by_status["sent"]) == 118
    assert all(r.upstream_id == f"up-{r.id}" for r in rows if r.status == "sent")


async def test_never_more_rows_are_claimed_than_there_are_slots(engine, settings):
    _queue(engine, 3 * CONCURRENCY)
    settings.outbox.rate_per_s = 0
    claimed_while_sending: list[int] = []

    class Counting(OverlappingSender):
        async def send(self, msg, *, now):
            claimed_while_sending.append(await asyncio.to_thread(_sending, engine))
            return await super().send(msg, now=now)

    sender = Counting()
    assert await deliver_due(engine, settings, now=NOW, senders={"telegram": sender}) == (
        3 * CONCURRENCY
    )
    assert 0 < max(claimed_while_sending) <= CONCURRENCY


async def test_an_outcome_is_committed_while_other_pushes_are_still_in_flight(
    engine, settings, monkeypatch
):
    """One push hangs until every other row is recorded: batch-wise marking would deadlock."""
    _queue(engine, 50)
    settings.outbox.rate_per_s = 0
    loop = asyncio.get_running_loop()
    others_recorded = asyncio.Event()
    recorded = [0]
    real = outbox.exchange

    def exchange(owner, outcomes, **kwargs):
        result = real(owner, outcomes, **kwargs)
        recorded[0] += len(outcomes)
        if recorded[0] == 49:
            loop.call_soon_threadsafe(others_recorded.set)
        return result

    monkeypatch.setattr(outbox, "exchange", exchange)
    seen: dict[str, int] = {}

    class OneHangs(OverlappingSender):
        async def send(self, msg, *, now):
            if msg.to == "0":
                await asyncio.wait_for(others_recorded.wait(), timeout=30)
                seen.update(await asyncio.to_thread(_statuses, engine))
            return await super().send(msg, now=now)

    sender = OneHangs()
    assert await deliver_due(engine, settings, now=NOW, senders={"telegram": sender}) == 50
    assert seen == {"sent": 49, "sending": 1}
    assert _statuses(engine) == {"sent": 50}


async def test_the_rate_limit_spaces_sends_and_no_claimed_row_waits_for_a_token(
    engine, settings, monkeypatch
):
    _queue(engine, 8)
    clock = [0.0]

    async def sleep(seconds):
        clock[0] += seconds
        await asyncio.sleep(0)

    bucket = TokenBucket(5, clock=lambda: clock[0], sleep=sleep)  # a burst of 5, then 5/s
    claimed_at: dict[int, float] = {}
    real = outbox.exchange

    def exchange(*args, **kwargs):
        rows, ready, dropped = real(*args, **kwargs)
        claimed_at.update((row.id, clock[0]) for row in rows)
        return rows, ready, dropped

    monkeypatch.setattr(outbox, "exchange", exchange)
    sent_at: dict[int, float] = {}

    class Timed(OverlappingSender):
        async def send(self, msg, *, now):
            sent_at[msg.id] = clock[0]
            return await super().send(msg, now=now)

    settings.outbox.rate_per_s = 5
    sent = await deliver_due(
        engine, settings, now=NOW, senders={"telegram": Timed()}, limiters={"telegram": bucket}
    )
    assert sent == 8
    assert sorted(sent_at.values()) == pytest.approx([0, 0, 0, 0, 0, 0.2, 0.4, 0.6])
    assert sent_at == claimed_at  # each row was claimed when its token was there


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


@pytest.mark.parametrize("for_good", [False, True], ids=["once", "for-good"])
async def test_a_failed_commit_stops_the_pass_and_the_next_pass_finishes_at_the_same_time(
    engine, settings, monkeypatch, for_good
):
    _queue(engine, 100)
    settings.outbox.rate_per_s = 0
    real = outbox.exchange
    rounds = [0]

    def exchange(*args, **kwargs):
        rounds[0] += 1
        if rounds[0] == 3 or (for_good and rounds[0] > 3):
            raise RuntimeError("database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(outbox, "exchange", exchange)
    sender = OverlappingSender()
    with pytest.raises(RuntimeError, match="went away"):
        await deliver_due(engine, settings, now=NOW, senders={"telegram": sender})
    assert 0 < len(sender.sent) < 100  # it stopped early
    left_sending = _statuses(engine).get("sending", 0)
    # Given one more chance, it records what had returned; if not, that is at most the slots.
    assert left_sending == 0 if not for_good else 0 < left_sending <= CONCURRENCY
    monkeypatch.undo()
    unsent = 100 - _statuses(engine).get("sent", 0)
    later = OverlappingSender()
    assert await deliver_due(engine, settings, now=NOW, senders={"telegram": later}) == unsent
    assert _statuses(engine) == {"sent": 100}
    sends = sender.sent + later.sent
    assert set(sends) == {str(i) for i in range(100)}
    assert len(sends) - 100 == (left_sending if for_good else 0)


async def test_claims_take_the_longest_waiting_rows_first(engine, settings):
    _queue(engine, 6)
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        for i, row in enumerate(rows):  # the last queued has waited longest
            row.next_attempt_at = NOW - timedelta(minutes=i)
            session.add(row)
        session.commit()
        by_age = [r.id for r in sorted(rows, key=lambda r: r.next_attempt_at)]
    with owning(engine) as owner:
        with owner.conn.begin():
            claimed = claim(owner.conn, owner.id, now=NOW, limit=4, quiet=False)
        held = {r.id: (r.status, r.claimed_by) for r in _rows(engine) if r.status == "sending"}
    assert {r.id for r in claimed} == set(by_age[:4])
    assert held == {row_id: ("sending", owner.id) for row_id in by_age[:4]}


async def test_a_pass_starts_by_expiring_stale_rows_and_taking_over_dead_senders_rows(
    engine, settings
):
    _queue(engine, 3)
    with owning(engine) as dead, dead.conn.begin():
        claim(dead.conn, dead.id, now=NOW, limit=1, quiet=False)  # ... and it dies
    with Session(engine) as session:
        doomed = session.exec(
            select(OutboxMessage).where(OutboxMessage.status == "pending")
        ).first()
        doomed.expires_at = NOW + timedelta(minutes=1)
        session.add(doomed)
        session.commit()
    with owning(engine) as owner:
        start_pass(owner, now=NOW + timedelta(minutes=1), quiet_end=None)
    assert _statuses(engine) == {"pending": 2, "expired": 1}


async def test_outcomes_are_recorded_only_on_rows_this_pass_holds(engine, settings):
    _queue(engine, 3)
    done = dict(status="sent", sent_at=NOW, upstream_id="u", last_error="")
    with owning(engine) as owner:
        with owner.conn.begin():
            claimed = claim(owner.conn, owner.id, now=NOW, limit=3, quiet=False)
        with Session(engine) as session:  # as if another pass held it
            taken = session.get(OutboxMessage, claimed[0].id)
            taken.claimed_by = owner.id + 1
            session.add(taken)
            session.commit()
        with owner.conn.begin():
            assert mark(owner.conn, owner.id, [(row.id, done) for row in claimed]) == 2
    with Session(engine) as session:
        assert session.get(OutboxMessage, claimed[0].id).status == "sending"
        assert session.get(OutboxMessage, claimed[1].id).claimed_by is None


async def test_in_quiet_hours_only_loud_rows_are_claimed(engine, settings):
    late = datetime(2026, 3, 2, 23, 0, tzinfo=TZ)
    with Session(engine) as session:
        for i, quiet in enumerate((True, False)):
            bind(session, person_kind="student", person_id=3000 + i, channel="telegram",
                 external_id=f"q{i}")  # fmt: skip
            enqueue(session, person_kind="student", person_id=3000 + i, key=f"q{i}",
                    text="x", quiet_hours=quiet, now=late, not_before=late)  # fmt: skip
        session.commit()
    with owning(engine) as owner, owner.conn.begin():  # queued after the pass began
        claimed = claim(owner.conn, owner.id, now=late, limit=10, quiet=True)
    assert [row.to_external_id for row in claimed] == ["q1"]


async def test_a_pass_that_lost_its_session_claims_and_records_nothing(engine, settings):
    _queue(engine, 3)
    with owning(engine) as owner:
        owner.conn.invalidate()  # as when the server ended the session (and its lock)
        with pytest.raises(OwnerLost):
            exchange(owner, [], now=NOW, want=3, quiet=False)
    assert _statuses(engine) == {"pending": 3}


def test_a_round_that_must_not_wait_gives_way_to_a_busy_sqlite_writer(sqlite_url):
    from bot.outbox_rows import WouldWait
    from models.db import make_engine

    engine = make_engine(sqlite_url)
    try:
        _queue(engine, 3)
        with owning(engine) as owner, engine.connect() as other:
            other.exec_driver_sql("BEGIN IMMEDIATE")  # another writer holds the lock
            with pytest.raises(WouldWait):
                exchange(owner, [], now=NOW, want=3, quiet=False, wait=False)
            driver = owner.conn.connection.driver_connection
            assert driver.execute("PRAGMA busy_timeout").fetchone() == (30000,)  # as before
            other.rollback()
            rows, ready, dropped = exchange(owner, [], now=NOW, want=3, quiet=False, wait=False)
        assert len(rows) == len(ready) == 3 and dropped == []
        assert _statuses(engine) == {"sending": 3}
    finally:
        engine.dispose()
