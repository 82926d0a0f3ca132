"""The outbox sender: claims due rows, holds them through quiet hours, delivers, backs off.

Claiming is one UPDATE ... RETURNING: on PostgreSQL its subquery takes the rows
`FOR UPDATE SKIP LOCKED`, so several senders share the work; on SQLite the single statement is
the single writer. A claimed row is 'sending' with next_attempt_at = the end of its lease.
A pass first expires stale rows and releases rows whose lease ran out, then claims batch after
batch: the next batch is claimed while this one is sent, and a batch's outcomes are marked in
one transaction while the next is sent.

Crash between send and mark: neither WeChat nor Telegram accepts an idempotency key, so a row
whose lease ran out while 'sending' is sent again (at-least-once). The lease is kept short and
each batch is marked as soon as its concurrent sends return, to keep that window small; a pass
that fails also leaves the batch it had claimed ahead to its lease.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time as _time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

import httpx
from anyio import CapacityLimiter, to_thread
from sqlalchemy import String, any_, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.push_http import PushClient
from bot.senders import Outgoing, Sender, SendError, build_senders
from core import notices
from core.settings import Settings
from models import ChannelAccount, OutboxMessage
from models.types import utcnow

__all__ = ["OutboxSender", "TokenBucket", "build_senders", "deliver_due", "http_client"]

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
HTTP_TIMEOUT = httpx.Timeout(10.0)
LIVE = ("pending", "sending")
# Requests in flight per sender process (the token buckets still apply): 32 carry about
# 1,000 messages/s at 30 ms per request to the WeChat and Telegram APIs, rate limit raised.
CONCURRENCY = 32
TABLE = OutboxMessage.__table__


def http_client() -> PushClient:
    """The client a sender process pushes with: kept-alive connections, one per send in flight."""
    return PushClient(timeout=HTTP_TIMEOUT, max_connections=CONCURRENCY)


class TokenBucket:
    """At most `rate` sends per second (bursts up to `rate`); rate 0 means no limit."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = _time.monotonic, sleep=None):
        self.rate, self.clock = rate, clock
        self.sleep = sleep or asyncio.sleep
        self.tokens, self.stamp = max(rate, 1.0), clock()

    async def acquire(self) -> None:
        if self.rate <= 0:
            return
        while True:
            now = self.clock()
            self.tokens = min(max(self.rate, 1.0), self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await self.sleep((1 - self.tokens) / self.rate)


def in_quiet_hours(settings: Settings, now: datetime) -> datetime | None:
    """The end of the quiet hours `now` falls in, or None outside them."""
    start, end = settings.scheduler.quiet_start, settings.scheduler.quiet_end
    local = now.astimezone(settings.tz)
    t = local.time()
    quiet = (t >= start or t < end) if start > end else (start <= t < end)
    if not quiet or start == end:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, settings.tz)


def _safe(exc: BaseException) -> str:
    """An error text for last_error with tokens and secrets cut out."""
    text = f"{type(exc).__name__}: {exc}"
    text = re.sub(r"(access_token|secret)=[^&\s]+", r"\1=***", text)
    return re.sub(r"bot\d+:[\w-]+", "bot***", text)[:500]


def release_stale(engine: Engine, *, now: datetime) -> None:
    """Expire rows past their expiry; put rows whose lease ran out back to pending.

    Once per pass rather than in every claim, and it lets a claim read a single status, which
    the (status, next_attempt_at) index hands over in order.
    """
    with engine.begin() as conn:
        conn.execute(
            update(TABLE)
            .where(
                TABLE.c.status.in_(LIVE),
                TABLE.c.expires_at.is_not(None),
                TABLE.c.expires_at <= now,
            )
            .values(status="expired", last_error="expired before it could be sent")
        )
        conn.execute(
            update(TABLE)
            .where(TABLE.c.status == "sending", TABLE.c.next_attempt_at <= now)
            .values(status="pending")
        )


def _claim(conn, *, now: datetime, limit: int) -> list:
    # One status, ordered by the index's second column: the scan stops after `limit` rows
    # instead of sorting everything due (ties come in index order, oldest first).
    due = (
        select(TABLE.c.id)
        .where(
            TABLE.c.status == "pending",
            TABLE.c.next_attempt_at <= now,
            or_(TABLE.c.expires_at.is_(None), TABLE.c.expires_at > now),
        )
        .order_by(TABLE.c.next_attempt_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claim = (
        update(TABLE)
        .where(TABLE.c.id.in_(due.scalar_subquery()))
        .values(status="sending", next_attempt_at=now + LEASE, attempts=TABLE.c.attempts + 1)
        .returning(*TABLE.c)
    )
    return list(conn.execute(claim))


def claim_due(engine: Engine, *, now: datetime, limit: int) -> list:
    """Claim up to `limit` pending rows that are due: plain rows, no ORM objects."""
    with engine.begin() as conn:
        return _claim(conn, now=now, limit=limit)


def _last_inbound(conn, rows: list) -> dict[tuple[str, str], object]:
    """When each addressee last wrote to us (WeChat's 48-hour window), one query per channel.

    On PostgreSQL the ids go as one array parameter: a prepared plan, where an IN list of a
    new length would be planned afresh.
    """
    by_channel: dict[str, set[str]] = {}
    for row in rows:
        by_channel.setdefault(row.channel, set()).add(row.to_external_id)
    accounts = ChannelAccount.__table__.c
    postgres = conn.dialect.name == "postgresql"
    out: dict[tuple[str, str], object] = {}
    for channel, ids in by_channel.items():
        if postgres:
            match = accounts.external_id == any_(bindparam("ids", list(ids), type_=ARRAY(String)))
        else:
            match = accounts.external_id.in_(ids)
        query = select(accounts.external_id, accounts.last_inbound_at).where(
            accounts.channel == channel, match
        )
        out.update(((channel, ext), at) for ext, at in conn.execute(query))
    return out


def prepare(session: Session, settings: Settings, rows: list, now: datetime):
    """(ready to send, outcomes of the rest): quiet-hour rows held, stale ones dropped."""
    ready: list[Outgoing] = []
    held: list[tuple[int, dict]] = []
    quiet_end = in_quiet_hours(settings, now)
    last_inbound = _last_inbound(session.connection(), rows)
    for row in rows:
        if row.quiet_hours and quiet_end is not None:
            # Waiting does not count as an attempt; expiry is checked again when it ends.
            values = dict(status="pending", next_attempt_at=quiet_end, attempts=row.attempts - 1)
            held.append((row.id, values))
            continue
        if not notices.still_relevant(session, row, now):
            held.append((row.id, dict(status="expired", last_error="no longer relevant")))
            continue
        text = notices.render(session, row)
        if not text:
            held.append((row.id, dict(status="failed", last_error="nothing to send")))
            continue
        inbound = last_inbound.get((row.channel, row.to_external_id))
        ready.append(Outgoing(row.id, row.channel, row.to_external_id, text, row.kind, inbound))
    return ready, held


def claim_batch(engine: Engine, settings: Settings, *, now: datetime, limit: int):
    """(claimed rows, ready messages): claim, render and record the held ones in one session."""
    with Session(engine) as session:
        rows = _claim(session.connection(), now=now, limit=limit)
        session.commit()
        if not rows:
            return rows, []
        ready, held = prepare(session, settings, rows, now)
        _mark(session.connection(), now, held)
        session.commit()
    return rows, ready


def outcome(settings, row, now, *, upstream_id=None, error=None, jitter=0.0) -> dict:
    """The column values that record a send's outcome on its row (status among them)."""
    if error is None:
        return dict(status="sent", sent_at=now, upstream_id=upstream_id or "", last_error="")
    cfg = settings.outbox
    message = str(error) if isinstance(error, SendError) else _safe(error)
    give_up = getattr(error, "permanent", False) or row.attempts >= cfg.max_attempts
    delay = min(cfg.backoff_base_s * 2 ** (row.attempts - 1), cfg.backoff_max_s)
    delay *= 1 + random.uniform(-jitter, jitter) if jitter else 1
    retry_at = getattr(error, "retry_at", None) or now + timedelta(seconds=delay)
    return dict(
        status="failed" if give_up else "pending",
        next_attempt_at=retry_at,
        last_error=message[:500],
    )


def _mark(conn, now: datetime, outcomes: list[tuple[int, dict]]) -> int:
    """One statement per shape of outcome; only rows still ours (same lease) change."""
    shapes: dict[tuple[str, ...], list[tuple]] = {}
    for row_id, values in outcomes:
        columns = tuple(sorted(values))
        shapes.setdefault(columns, []).append((row_id, *(values[c] for c in columns)))
    mark = _mark_unnest if conn.dialect.name == "postgresql" else _mark_executemany
    return sum(mark(conn, now, columns, rows) for columns, rows in shapes.items())


def _still_ours(now: datetime, id_column):
    """The rows this pass claimed: a row whose lease was taken over is not marked twice."""
    return (
        TABLE.c.id == id_column,
        TABLE.c.status == "sending",
        TABLE.c.next_attempt_at == now + LEASE,
    )


def _mark_executemany(conn, now: datetime, columns: tuple[str, ...], rows: list[tuple]) -> int:
    params = [dict(zip(("b_id", *columns), row, strict=True)) for row in rows]
    stmt = (
        update(TABLE)
        .where(*_still_ours(now, bindparam("b_id")))
        .values({c: bindparam(c) for c in columns})
    )
    return max(conn.execute(stmt, params).rowcount or 0, 0)


def _mark_unnest(conn, now: datetime, columns: tuple[str, ...], rows: list[tuple]) -> int:
    """PostgreSQL: UPDATE ... FROM unnest(arrays), a third of the time of one UPDATE per row."""
    names = ("id", *columns)
    arrays = [
        bindparam(f"m_{name}", [row[i] for row in rows], type_=ARRAY(TABLE.c[name].type))
        for i, name in enumerate(names)
    ]
    given = func.unnest(*arrays).table_valued(*names).render_derived()
    stmt = (
        update(TABLE).where(*_still_ours(now, given.c.id)).values({c: given.c[c] for c in columns})
    )
    return max(conn.execute(stmt).rowcount or 0, 0)


def mark_many(engine: Engine, now: datetime, outcomes: list[tuple[int, dict]]) -> int:
    """Record many outcomes in one transaction; returns how many rows were marked."""
    with engine.begin() as conn:
        marked = _mark(conn, now, outcomes)
    if marked < len(outcomes):
        log.warning("%d outbox rows were taken over by another sender", len(outcomes) - marked)
    return marked


async def _send_all(ready: list[Outgoing], senders, limiters, rate: float, now) -> list[tuple]:
    """(upstream id, error) per message; CONCURRENCY workers share the list, in order."""
    results: list[tuple] = [(None, None)] * len(ready)
    todo = iter(enumerate(ready))

    async def worker() -> None:
        for i, out in todo:  # one iterator for every worker: each message is taken once
            sender = senders.get(out.channel)
            if sender is None:
                results[i] = None, SendError(f"channel {out.channel} is not configured")
                continue
            bucket = limiters.get(out.channel)
            if bucket is None:
                bucket = limiters[out.channel] = TokenBucket(rate)
            await bucket.acquire()
            try:
                results[i] = await sender.send(out, now=now), None
            except Exception as exc:  # any failure is retried later, never fatal
                results[i] = None, exc

    await asyncio.gather(*(worker() for _ in range(min(CONCURRENCY, len(ready)))))
    return results


def _settle(jobs: list[asyncio.Future]) -> None:
    """Forget the database jobs that are done, raising the error of one that failed."""
    for job in [job for job in jobs if job.done()]:
        jobs.remove(job)
        job.result()


async def deliver_due(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime,
    senders: dict[str, Sender],
    limiters: dict[str, TokenBucket] | None = None,
    jitter: float = 0.0,
) -> int:
    """One pass over everything due at `now`; returns how many messages were sent.

    A batch is sent by CONCURRENCY workers (each channel's token bucket still spacing them)
    while the next batch is claimed and the last one's outcomes are marked (one transaction
    per batch). Claims run one at a time and in order, and so do marks; on SQLite both share
    one lane, so that a sender never waits on its own write lock.
    """
    limiters = limiters if limiters is not None else {}
    size = settings.outbox.batch_size
    claims = CapacityLimiter(1)
    marks = claims if engine.dialect.name == "sqlite" else CapacityLimiter(1)
    started: list[asyncio.Future] = []

    def db(lane: CapacityLimiter, fn, *args, **kwargs) -> asyncio.Future:
        job = to_thread.run_sync(partial(fn, *args, **kwargs), limiter=lane)
        started.append(asyncio.ensure_future(job))
        return started[-1]

    db(claims, release_stale, engine, now=now)
    # The first batch is no larger than the workers, so that sends start after a short claim.
    limit = min(size, CONCURRENCY)
    claiming = db(claims, claim_batch, engine, settings, now=now, limit=limit)
    sent = 0
    try:
        while claiming is not None:
            rows, ready = await claiming
            _settle(started)  # a failed mark stops the pass before more is sent
            # Claim the next batch while this one is sent; a short batch was the last one.
            full, limit = len(rows) == limit, size
            claiming = (
                db(claims, claim_batch, engine, settings, now=now, limit=limit) if full else None
            )
            results = await _send_all(ready, senders, limiters, settings.outbox.rate_per_s, now)
            by_id = {row.id: row for row in rows}
            outcomes = [
                (out.id, outcome(settings, by_id[out.id], now, upstream_id=up, error=err,
                                 jitter=jitter))
                for out, (up, err) in zip(ready, results, strict=True)
            ]  # fmt: skip
            if outcomes:
                db(marks, mark_many, engine, now, outcomes)
            sent += sum(values["status"] == "sent" for _, values in outcomes)
        await asyncio.gather(*started)
    except BaseException:
        # Let the database work already started finish before the error leaves this pass.
        await asyncio.gather(*started, return_exceptions=True)
        raise
    return sent


class OutboxSender:
    """The long-running sender of `shixi serve` and `shixi worker`."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        senders: dict[str, Sender] | None = None,
        *,
        interval_s: float = 2.0,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.engine, self.settings, self.senders = engine, settings, senders
        self.interval_s, self.clock = interval_s, clock
        self.limiters: dict[str, TokenBucket] = {}

    async def run_forever(self, stop_event: asyncio.Event) -> None:
        """Deliver every few seconds until `stop_event` is set."""
        if self.senders is not None:
            return await self._loop(stop_event)
        async with http_client() as http:
            self.senders = build_senders(self.settings, http, engine=self.engine)
            try:
                await self._loop(stop_event)
            finally:
                self.senders = None

    async def _loop(self, stop_event: asyncio.Event) -> None:
        while not stop_event.is_set():
            try:
                await deliver_due(
                    self.engine,
                    self.settings,
                    now=self.clock(),
                    senders=self.senders,
                    limiters=self.limiters,
                    jitter=0.1,  # senders in several processes should not retry in lockstep
                )
            except Exception:
                log.exception("outbox pass failed; trying again shortly")
            try:
                await asyncio.wait_for(stop_event.wait(), timeout=self.interval_s)
            except TimeoutError:
                pass
