"""The outbox sender: claims due rows, holds them through quiet hours, delivers, backs off.

Claiming is one UPDATE ... RETURNING: on PostgreSQL its subquery takes the rows
`FOR UPDATE SKIP LOCKED`, so several senders share the work; on SQLite the single statement is
the single writer. A claimed row is 'sending' with next_attempt_at = the end of its lease.

Crash between send and mark: neither WeChat nor Telegram accepts an idempotency key, so a row
whose lease ran out while 'sending' is sent again (at-least-once). The lease is kept short and
each batch is marked as soon as its concurrent sends return, to keep that window small.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time as _time
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
from anyio import to_thread
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.senders import Outgoing, Sender, SendError, build_senders
from core import notices
from core.settings import Settings
from models import ChannelAccount, OutboxMessage
from models.types import utcnow

__all__ = ["OutboxSender", "TokenBucket", "build_senders", "deliver_due"]

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
HTTP_TIMEOUT = httpx.Timeout(10.0)
LIVE = ("pending", "sending")
CONCURRENCY = 16  # requests in flight per sender process; the token buckets still apply


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


def claim_due(engine: Engine, *, now: datetime, limit: int) -> list[OutboxMessage]:
    """Expire stale rows and claim up to `limit` due ones (or ones whose lease ran out)."""
    with Session(engine, expire_on_commit=False) as session:
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.status.in_(LIVE),
                OutboxMessage.expires_at.is_not(None),
                OutboxMessage.expires_at <= now,
            )
            .values(status="expired", last_error="expired before it could be sent")
        )
        due = (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status.in_(LIVE),
                OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.expires_at.is_(None), OutboxMessage.expires_at > now),
            )
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        rows = session.scalars(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(due.scalar_subquery()))
            .values(
                status="sending", next_attempt_at=now + LEASE, attempts=OutboxMessage.attempts + 1
            )
            .returning(OutboxMessage),
            execution_options={"synchronize_session": False},
        ).all()
        session.commit()
        return list(rows)


def _finish(session: Session, row: OutboxMessage, now: datetime, **values) -> bool:
    """Update a claimed row only if it is still ours (same lease): marks happen once."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == row.id,
            OutboxMessage.status == "sending",
            OutboxMessage.next_attempt_at == now + LEASE,
        )
        .values(**values)
    )
    return result.rowcount == 1


def _last_inbound(session: Session, rows: list[OutboxMessage]) -> dict[tuple[str, str], object]:
    """When each addressee last wrote to us (WeChat's 48-hour window), in one query per channel."""
    out: dict[tuple[str, str], object] = {}
    by_channel: dict[str, set[str]] = {}
    for row in rows:
        by_channel.setdefault(row.channel, set()).add(row.to_external_id)
    for channel, ids in by_channel.items():
        out.update(
            ((channel, ext), at)
            for ext, at in session.execute(
                select(ChannelAccount.external_id, ChannelAccount.last_inbound_at).where(
                    ChannelAccount.channel == channel, ChannelAccount.external_id.in_(ids)
                )
            )
        )
    return out


def prepare(engine: Engine, settings: Settings, rows: list[OutboxMessage], now: datetime):
    """Hold back quiet-hour rows, drop ones no longer true, render the rest."""
    ready: list[Outgoing] = []
    quiet_end = in_quiet_hours(settings, now)
    with Session(engine, expire_on_commit=False) as session:
        last_inbound = _last_inbound(session, rows)
        for row in rows:
            if row.quiet_hours and quiet_end is not None:
                # Waiting does not count as an attempt; expiry is checked again when it ends.
                _finish(
                    session, row, now, status="pending", next_attempt_at=quiet_end,
                    attempts=row.attempts - 1,
                )  # fmt: skip
                continue
            if not notices.still_relevant(session, row, now):
                _finish(session, row, now, status="expired", last_error="no longer relevant")
                continue
            text = notices.render(session, row)
            if not text:
                _finish(session, row, now, status="failed", last_error="nothing to send")
                continue
            inbound = last_inbound.get((row.channel, row.to_external_id))
            ready.append(Outgoing(row.id, row.channel, row.to_external_id, text, row.kind, inbound))
        session.commit()
    return ready


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


def mark(engine, settings, row, now, *, upstream_id=None, error=None, jitter=0.0) -> str:
    """Record a send's outcome on its row; returns the new status."""
    values = outcome(settings, row, now, upstream_id=upstream_id, error=error, jitter=jitter)
    mark_many(engine, now, [(row.id, values)])
    return values["status"]


def mark_many(engine: Engine, now: datetime, outcomes: list[tuple[int, dict]]) -> int:
    """Record many outcomes in one transaction (one executemany per shape); returns rows marked."""
    shapes: dict[tuple[str, ...], list[dict]] = {}
    for row_id, values in outcomes:
        shapes.setdefault(tuple(sorted(values)), []).append({"b_id": row_id, **values})
    table = OutboxMessage.__table__
    marked = 0
    with Session(engine) as session:
        for columns, params in shapes.items():
            # Only rows still ours (same lease) are marked: a mark happens once.
            stmt = (
                table.update()
                .where(
                    table.c.id == bindparam("b_id"),
                    table.c.status == "sending",
                    table.c.next_attempt_at == now + LEASE,
                )
                .values({c: bindparam(c) for c in columns})
            )
            result = session.connection().execute(stmt, params)
            marked += max(result.rowcount or 0, 0)
        session.commit()
    if marked < len(outcomes):
        log.warning("%d outbox rows were taken over by another sender", len(outcomes) - marked)
    return marked


async def _send(out: Outgoing, sender, bucket: TokenBucket, gate: asyncio.Semaphore, now):
    """(upstream id, error) of one send; any failure is retried later, never fatal."""
    if sender is None:
        return None, SendError(f"channel {out.channel} is not configured")
    async with gate:
        await bucket.acquire()
        try:
            return await sender.send(out, now=now), None
        except Exception as exc:
            return None, exc


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

    Each claimed batch is sent concurrently (at most CONCURRENCY requests in flight, each
    channel's token bucket still spacing them) and its outcomes are marked in one transaction.
    """
    limiters = limiters if limiters is not None else {}
    gate = asyncio.Semaphore(CONCURRENCY)
    sent = 0
    while True:
        batch = await to_thread.run_sync(
            lambda: claim_due(engine, now=now, limit=settings.outbox.batch_size)
        )
        if not batch:
            return sent
        by_id = {row.id: row for row in batch}
        ready = await to_thread.run_sync(prepare, engine, settings, batch, now)
        results = await asyncio.gather(
            *(
                _send(
                    out,
                    senders.get(out.channel),
                    limiters.setdefault(out.channel, TokenBucket(settings.outbox.rate_per_s)),
                    gate,
                    now,
                )
                for out in ready
            )
        )
        outcomes = [
            (
                out.id,
                outcome(settings, by_id[out.id], now, upstream_id=up, error=err, jitter=jitter),
            )
            for out, (up, err) in zip(ready, results, strict=True)
        ]
        await to_thread.run_sync(mark_many, engine, now, outcomes)
        sent += sum(values["status"] == "sent" for _, values in outcomes)
        if len(batch) < settings.outbox.batch_size:
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
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
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
