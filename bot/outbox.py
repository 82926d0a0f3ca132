"""The outbox sender: claims a row only when a sending slot is free, records each outcome at once.

A delivery pass (`deliver_due`) has CONCURRENCY sending slots. Its coordinator runs short
transactions one after another on the pass's own connection; each records the outcomes of the
pushes that have returned since the last one and claims as many due rows as there are free
slots (and, under a rate limit, tokens to send them with), in one commit. A slot is freed only
when its row's outcome is committed. So at any moment at most CONCURRENCY rows are claimed
and not yet recorded, and a crash re-sends at most those: the pushes in flight, plus any that
had returned in the last few milliseconds. The group commit grows with the load (a slow round
records more outcomes) and never holds more than the slots.

Who may send a claimed row is decided by a lock, not a clock (bot/outbox_owner.py): the pass
holds a lock named by its id, which the database server (PostgreSQL) or the kernel (SQLite)
drops when the pass dies, however it dies. Each pass begins by taking over the rows of dead
passes, so a `shixi tick --at T` right after a crash delivers what the crashed sender left at
the same T; rows of a live pass are never touched, and PostgreSQL claims with
`FOR UPDATE SKIP LOCKED`, so two live senders never send the same row.

Why that is enough, in four facts: a row moves from pending to 'sending' under one pass's id
in the statement that claims it (SKIP LOCKED, or SQLite's single writer); only that pass
records its outcome (the update matches the id); a 'sending' row goes back to pending only
when its pass's lock could be taken, that is when the pass is dead; and a pass never has more
than CONCURRENCY rows claimed and unrecorded. Neither WeChat nor Telegram accepts an
idempotency key, so delivery is at-least-once: those few rows of a dead pass are sent again.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import time as _time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

import httpx
from anyio import to_thread
from sqlalchemy.engine import Engine

from bot import senders as channel_senders
from bot.menu_push import menu_senders
from bot.outbox_owner import Owner, open_owner, release
from bot.outbox_rows import WouldWait, exchange, start_pass
from bot.push_http import PushClient
from bot.senders import ConsoleSender, Outgoing, Sender, SendError
from core.settings import Settings
from models.types import utcnow

__all__ = ["OutboxSender", "TokenBucket", "build_senders", "deliver_due", "http_client"]

log = logging.getLogger(__name__)

HTTP_TIMEOUT = httpx.Timeout(10.0)
# Requests in flight per sender process (the token buckets still apply): 32 carry about
# 1,000 messages/s at 30 ms per request to the WeChat and Telegram APIs, rate limit raised.
# It is also the most a crash can make the outbox send twice.
CONCURRENCY = 32


def build_senders(
    settings: Settings,
    http_client: PushClient,
    *,
    engine: Engine | None = None,
    console: ConsoleSender | None = None,
) -> dict[str, Sender]:
    """The channel senders (bot.senders) and, beside them, the senders of role menus."""
    found = channel_senders.build_senders(settings, http_client, engine=engine, console=console)
    return menu_senders(found, settings, http_client)


def http_client() -> PushClient:
    """The client a sender process pushes with: kept-alive connections, one per send in flight."""
    return PushClient(timeout=HTTP_TIMEOUT, max_connections=CONCURRENCY)


class TokenBucket:
    """At most `rate` sends per second (bursts up to `rate`); rate 0 means no limit."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = _time.monotonic, sleep=None):
        self.rate, self.clock = rate, clock
        self.sleep = sleep or asyncio.sleep
        self.tokens, self.stamp = max(rate, 1.0), clock()

    def available(self) -> float:
        """Sends allowed right now (infinite without a limit)."""
        if self.rate <= 0:
            return math.inf
        now = self.clock()
        self.tokens = min(max(self.rate, 1.0), self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return self.tokens

    def wait_s(self) -> float:
        """Seconds until the next send is allowed (0 when one is allowed now)."""
        return max(0.0, (1 - self.available()) / self.rate) if self.rate > 0 else 0.0

    def take(self) -> None:
        """Spend one send now (the caller has checked `available`)."""
        if self.available() != math.inf:
            self.tokens -= 1

    async def acquire(self) -> None:
        """Wait until a send is allowed, and spend it."""
        while self.available() < 1:
            await self.sleep(self.wait_s())
        self.take()


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


def outcome(settings, attempts: int, now, *, upstream_id=None, error=None, jitter=0.0) -> dict:
    """The column values that record a send's outcome on its row (status among them)."""
    if error is None:
        return dict(status="sent", sent_at=now, upstream_id=upstream_id or "", last_error="")
    cfg = settings.outbox
    message = str(error) if isinstance(error, SendError) else _safe(error)
    give_up = getattr(error, "permanent", False) or attempts >= cfg.max_attempts
    delay = min(cfg.backoff_base_s * 2 ** (attempts - 1), cfg.backoff_max_s)
    delay *= 1 + random.uniform(-jitter, jitter) if jitter else 1
    retry_at = getattr(error, "retry_at", None) or now + timedelta(seconds=delay)
    return dict(
        status="failed" if give_up else "pending",
        next_attempt_at=retry_at,
        last_error=message[:500],
    )


class _Pass:
    """One pass over what is due at `now`: CONCURRENCY slots, filled and freed by commits."""

    def __init__(self, owner: Owner, settings: Settings, now: datetime, senders, limiters, jitter):
        self.owner, self.settings, self.now = owner, settings, now
        self.senders, self.jitter = senders, jitter
        rate = settings.outbox.rate_per_s
        self.buckets = {ch: limiters.setdefault(ch, TokenBucket(rate)) for ch in senders}
        self.quiet_end = in_quiet_hours(settings, now)
        self.inline = owner.conn.dialect.name == "sqlite"
        self.held: dict[int, int] = {}  # rows claimed, outcome not yet committed: id -> attempts
        self.done: list[tuple[int, dict]] = []  # outcomes to commit
        self.wake = asyncio.Event()
        self.tasks: set[asyncio.Task] = set()
        self.sent = 0

    async def run(self) -> int:
        await to_thread.run_sync(
            partial(start_pass, self.owner, now=self.now, quiet_end=self.quiet_end)
        )
        more = True  # rows may still be due
        try:
            while more or self.held:
                want, bucket = self._room() if more else (0, None)
                if not self.done and not want:
                    await self._idle(bucket)
                    continue
                claimed = await self._exchange(want)
                more = more and claimed == want
        except asyncio.CancelledError:
            for task in self.tasks:  # stopping: what was claimed is taken over by the next pass
                task.cancel()
            raise
        except BaseException:
            await self._finish_after_error()
            raise
        return self.sent

    def _room(self) -> tuple[int, TokenBucket | None]:
        """(rows to claim now, the bucket to wait for when that is none for want of tokens)."""
        # The outcomes that are in are committed before the claim, in the same transaction.
        free = CONCURRENCY - len(self.held) + len(self.done)
        if free <= 0 or not self.buckets:
            return max(free, 0), None
        # Every claimed row should find a token in its channel's bucket at once: claim no
        # more rows than the emptiest bucket has tokens.
        tightest = min(self.buckets.values(), key=lambda b: b.available())
        tokens = tightest.available()
        return (free, None) if tokens >= free else (int(tokens), tightest)

    async def _idle(self, bucket: TokenBucket | None) -> None:
        """Wait for a push to return, or for the next token when slots wait for one."""
        waiter = asyncio.ensure_future(self.wake.wait())
        waits = {waiter}
        if bucket is not None:
            waits.add(asyncio.ensure_future(bucket.sleep(bucket.wait_s())))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        self.wake.clear()

    async def _round(self, outcomes: list, want: int):
        """exchange(): on SQLite on the loop when its write lock is free at once (a round is
        a millisecond of work; a thread would wait for the busy loop to hand back the GIL at
        every SQLite step), else in a thread, as on PostgreSQL, where it waits on the server.
        """
        call = partial(
            exchange,
            self.owner,
            outcomes,
            now=self.now,
            want=want,
            quiet=self.quiet_end is not None,
        )
        if self.inline:
            try:
                return call(wait=False)
            except WouldWait:
                pass
        return await to_thread.run_sync(call)

    async def _exchange(self, want: int) -> int:
        """Commit the outcomes that are in, claim `want` rows, start their pushes."""
        outcomes, self.done = self.done, []
        try:
            rows, ready, dropped = await self._round(outcomes, want)
        except BaseException:
            self.done = outcomes + self.done  # still to commit
            raise
        for row_id, values in outcomes:
            del self.held[row_id]
            self.sent += values["status"] == "sent"
        attempts = {row.id: row.attempts for row in rows}
        for row_id, values in dropped:  # not sent (no longer true, empty): recorded next round
            self.held[row_id] = attempts[row_id]
            self.done.append((row_id, values))
        for out in ready:
            self.held[out.id] = attempts[out.id]
            if out.channel in self.buckets:  # spent now: the next claim must not count it
                self.buckets[out.channel].take()
            task = asyncio.create_task(self._push(out))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return len(rows)

    async def _push(self, out: Outgoing) -> None:
        attempts = self.held[out.id]
        try:
            sender = self.senders.get(out.channel)
            if sender is None:
                raise SendError(f"channel {out.channel} is not configured")
            upstream = await sender.send(out, now=self.now)
            values = outcome(self.settings, attempts, self.now, upstream_id=upstream)
        except Exception as exc:  # any failure is retried later, never fatal
            values = outcome(self.settings, attempts, self.now, error=exc, jitter=self.jitter)
        self.done.append((out.id, values))
        self.wake.set()

    async def _finish_after_error(self) -> None:
        """Claim nothing more; let the pushes in flight return and try to commit them once.

        Whatever stays uncommitted is taken over by the next pass once this one's lock is
        released (and may then be sent twice: at most the slots).
        """
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.done:
            try:
                await self._exchange(0)
            except Exception:
                log.exception("could not record %d outbox outcomes", len(self.done))


async def deliver_due(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime,
    senders: dict[str, Sender],
    limiters: dict[str, TokenBucket] | None = None,
    jitter: float = 0.0,
) -> int:
    """One pass over everything due at `now`; returns how many messages were sent."""
    limiters = limiters if limiters is not None else {}
    owner = await to_thread.run_sync(open_owner, engine)
    try:
        return await _Pass(owner, settings, now, senders, limiters, jitter).run()
    finally:
        await to_thread.run_sync(release, owner)


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
