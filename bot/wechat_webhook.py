"""The WeChat callback flow: open, dedupe, dispatch within the deadline, seal the passive reply."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from anyio import to_thread
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.inbound import (
    Dispatch,
    dispatch_with_deadline,
    first_sight,
    join_replies,
    queue_late_replies,
    remember_reply,
)
from bot.types import Inbound, Reply
from bot.wechat import SILENT_EVENTS, WechatCodec, dedup_key, to_inbound
from bot.writer import GroupCommitWriter
from core.settings import Settings
from models import ChannelAccount
from models.types import utcnow

log = logging.getLogger(__name__)

# WeChat waits 5 s and then retries; answer well inside 1 s and finish slow work afterwards.
REPLY_BUDGET_S = 0.8
# A passive text reply may carry at most 2048 bytes; the rest goes through the outbox.
PASSIVE_MAX_BYTES = 2000


@dataclass
class WechatAnswer:
    body: str
    later: Callable[[], Awaitable[None]] | None = None  # work to finish after answering


def split_passive(text: str) -> tuple[str, str]:
    """Cut a reply at a paragraph so that the passive part fits WeChat's limit."""
    if len(text.encode()) <= PASSIVE_MAX_BYTES:
        return text, ""
    head, size = [], 0
    for para in text.split("\n\n"):
        n = len(para.encode()) + 2
        if size + n > PASSIVE_MAX_BYTES and head:
            break
        head.append(para)
        size += n
    first = "\n\n".join(head)
    if len(first.encode()) > PASSIVE_MAX_BYTES:  # one huge paragraph: cut by characters
        first = first.encode()[:PASSIVE_MAX_BYTES].decode("utf-8", "ignore")
    return first, text[len(first) :].strip()


async def _within(future: asyncio.Future, budget_s: float):
    """The future's result, or TimeoutError after `budget_s` with the future left running.

    wait_for(shield(future)) without its two extra futures and their callbacks: this is
    awaited once per check-in on the event loop.
    """
    if not future.done():
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()

        def wake(_=None) -> None:
            if not waiter.done():
                waiter.set_result(None)

        timer = loop.call_later(budget_s, wake)
        future.add_done_callback(wake)
        try:
            await waiter
        finally:
            timer.cancel()
            future.remove_done_callback(wake)
        if not future.done():
            raise TimeoutError
    return future.result()


class WechatWebhook:
    """Adapter for the official account; handed a dispatcher, it never sees handlers."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        dispatch: Dispatch,
        *,
        clock: Callable[[], datetime] = utcnow,
        budget_s: float = REPLY_BUDGET_S,
        writer: GroupCommitWriter | None = None,
    ):
        self.engine, self.settings, self.dispatch = engine, settings, dispatch
        self.codec = WechatCodec(settings)
        self.clock = clock
        self.budget_s = budget_s
        self.writer = writer or GroupCommitWriter(engine)

    def verify(self, params: dict) -> str:
        return self.codec.verify_url(params, self.clock())

    async def handle(self, params: dict, body: bytes) -> WechatAnswer:
        """Answer one callback; raises WechatRejected for anything not from WeChat."""
        now = self.clock()
        xml, fields, encrypted = self.codec.open(params, body, now)
        inbound = to_inbound(xml, fields, at=now)
        key = dedup_key(fields)

        def seal(text: str) -> str:
            return self.codec.seal(text, fields, params, encrypted)

        make_job = getattr(self.dispatch, "batch_job", None)
        job = make_job(inbound, key) if make_job is not None else None
        if job is not None:
            answer = await self._batched(job, inbound, key, seal)
            if answer is not None:
                return answer
        return await self._general(inbound, key, seal)

    async def _batched(self, job, inbound: Inbound, key: str, seal) -> WechatAnswer | None:
        """The fast path: one group-committed transaction; None means take the general path."""
        future = self.writer.submit(job)
        try:
            outcome = await _within(future, self.budget_s)
        except TimeoutError:

            async def finish_late() -> None:
                late = await future
                if late.status == "done":
                    await to_thread.run_sync(self._late_reply, inbound, key, late.text)
                elif late.status == "fallback":
                    await self._general_late(inbound, key)

            log.info("wechat %s: slow batch, reply goes through the outbox", key)
            return WechatAnswer("success", finish_late)
        except Exception:
            # The batch rolled this job back: nothing was written, the general path may try.
            log.exception("batched handling of wechat %s failed", key)
            return None
        if outcome.status == "fallback":
            return None
        passive, rest = split_passive(outcome.text)
        if rest and outcome.status == "done":
            await to_thread.run_sync(self._queue, inbound, key, rest)
        return WechatAnswer(seal(passive))

    async def _general(self, inbound: Inbound, key: str, seal) -> WechatAnswer:
        """Any event: dedupe row, the dispatcher within the deadline, the stored reply."""
        now = inbound.at
        seen = await to_thread.run_sync(
            lambda: first_sight(
                self.engine, channel="wechat", key=key, user_id=inbound.user_id, at=now
            )
        )
        if seen is not None:
            return WechatAnswer(seal(seen))
        event = inbound.event.lower()
        if event == "unsubscribe":
            await to_thread.run_sync(self._deactivate, inbound.user_id)
            return WechatAnswer("success")
        if event in SILENT_EVENTS:
            return WechatAnswer("success")

        replies, task = await dispatch_with_deadline(self.dispatch, inbound, self.budget_s)
        if replies is None:

            async def finish_late() -> None:
                late = await task
                await to_thread.run_sync(self._queue, inbound, key, join_replies(late))

            log.info("wechat %s: slow dispatch, reply goes through the outbox", key)
            return WechatAnswer("success", finish_late)
        # LOCATION events arrive unasked every few seconds: recorded, never answered.
        text = "" if event == "location" else join_replies(replies)
        passive, rest = split_passive(text)
        await to_thread.run_sync(
            lambda: remember_reply(self.engine, channel="wechat", key=key, reply=passive)
        )
        if rest:
            await to_thread.run_sync(self._queue, inbound, key, rest)
        return WechatAnswer(seal(passive))

    async def _general_late(self, inbound: Inbound, key: str) -> None:
        """The general path after the passive reply has gone: its answer goes to the outbox."""
        answer = await self._general(inbound, key, lambda text: text)
        if answer.later is not None:
            await answer.later()
        elif answer.body and answer.body != "success":
            await to_thread.run_sync(self._late_reply, inbound, key, answer.body)

    def _late_reply(self, inbound: Inbound, key: str, text: str) -> None:
        """Send a late answer through the outbox; a retried delivery then gets "success"."""
        remember_reply(self.engine, channel="wechat", key=key, reply="")
        self._queue(inbound, key, text)

    def _queue(self, inbound: Inbound, key: str, text: str) -> None:
        queue_late_replies(
            self.engine,
            channel="wechat",
            user_id=inbound.user_id,
            key=key,
            replies=[Reply(text)],
            at=self.clock(),
        )

    def _deactivate(self, openid: str) -> None:
        """An unsubscribed follower can no longer be reached: end the binding."""
        forget = getattr(self.dispatch, "forget", None)
        if forget is not None:
            forget("wechat", openid)
        with Session(self.engine) as session:
            session.execute(
                update(ChannelAccount)
                .where(ChannelAccount.channel == "wechat", ChannelAccount.external_id == openid)
                .values(active=False)
            )
            session.commit()
