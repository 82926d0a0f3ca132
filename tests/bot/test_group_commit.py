"""Group commit: many requests' writes in one transaction, each answered after the commit."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, func, insert, select

from bot.writer import GroupCommitWriter
from models import InboundSeen


def _seen(key: str):
    """A job that inserts one dedupe row and counts the rows it can see."""

    def job(conn, batch):
        row = dict(channel="t", dedup_key=key, at=datetime.now(UTC))
        conn.execute(insert(InboundSeen.__table__).values(**row))
        return conn.execute(select(func.count()).select_from(InboundSeen.__table__)).scalar()

    return job


def _boom(conn, batch):
    raise RuntimeError("bad request")


def _count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(InboundSeen.__table__)).scalar()


def test_jobs_of_one_batch_run_in_order_and_see_each_others_writes(engine):
    writer = GroupCommitWriter(engine)
    results = writer.run_together([_seen("a"), _seen("b"), _seen("c")])
    assert results == [(True, 1), (True, 2), (True, 3)]
    assert writer.batches == 1 and _count(engine) == 3


def test_a_failing_job_is_retried_alone_and_does_not_take_its_batch_down(engine):
    writer = GroupCommitWriter(engine)
    results = writer.run_together([_seen("a"), _boom, _seen("b")])
    assert results[0] == (True, 1) and results[2] == (True, 2)
    ok, error = results[1]
    assert ok is False and isinstance(error, RuntimeError)
    assert _count(engine) == 2


def test_concurrent_requests_share_commits_and_are_answered_after_them(engine):
    writer = GroupCommitWriter(engine)

    async def many():
        return await asyncio.gather(*(writer.submit(_seen(f"k{i}")) for i in range(40)))

    seen_counts = asyncio.run(many())
    assert sorted(seen_counts) == list(range(1, 41))
    assert writer.jobs == 40 and writer.batches < 40  # requests queued meanwhile share a batch
    assert _count(engine) == 40  # every answered job was committed


def test_a_job_error_reaches_the_awaiting_request(engine):
    writer = GroupCommitWriter(engine)

    async def one():
        with pytest.raises(RuntimeError):
            await writer.submit(_boom)

    asyncio.run(one())
    assert writer.run(_seen("after")) == 1  # the writer carries on


def test_sync_callers_can_use_the_writer_too(engine):
    writer = GroupCommitWriter(engine, idle_s=0.05)
    assert writer.run(_seen("x"), timeout=10) == 1
    assert writer.run(_seen("y"), timeout=10) == 2  # after the thread idled out, it restarts


def test_a_busy_writer_keeps_its_connection_and_lets_it_go_when_idle(engine, monkeypatch):
    # Between two batches the queue is often empty for a moment: taking a connection from
    # the pool for every batch cost a checkout and, on PostgreSQL, a ping round trip.
    checkouts = []
    event.listen(engine, "checkout", lambda *args: checkouts.append(1))
    writer = GroupCommitWriter(engine)
    assert [writer.run(_seen(key), timeout=10) for key in "abc"] == [1, 2, 3]
    assert len(checkouts) == 1
    monkeypatch.setattr("bot.writer.HOLD_S", 0.01)
    assert writer.run(_seen("d"), timeout=10) == 4  # waits HOLD_S from now on
    deadline = time.monotonic() + 10
    while engine.pool.checkedout() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert engine.pool.checkedout() == 0  # handed back while the thread idles on


def test_a_kept_read_lasts_while_its_kind_of_message_follows_and_fits(engine):
    reads = []

    def job(kind, who):
        def run(conn, batch):
            if kind != "status":
                return None
            read = lambda: reads.append(who) or {who, "b"}  # noqa: E731
            return sorted(batch.kept("summaries", read, lambda kept: who in kept))

        return run

    writer = GroupCommitWriter(engine)
    results = writer.run_together(
        [job("status", "a"), job("status", "b"), job("checkin", "c"), job("status", "b"),
         job("status", "x")]
    )  # fmt: skip
    assert all(ok for ok, _ in results)
    # Read for a (covering b too), again after another kind of message, again for x.
    assert reads == ["a", "b", "x"]
