"""Plumbing every webhook shares: dedupe rows, the 48-hour window, dispatch with a deadline."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from anyio import to_thread
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.types import Inbound, Reply
from models import ChannelAccount, InboundSeen, OutboxMessage
from models.queue import insert_ignoring_duplicates

log = logging.getLogger(__name__)

Dispatch = Callable[[Inbound], list[Reply]]

SORRY_ZH = "系统繁忙，请稍后再试。"
SORRY_EN = "Something went wrong on our side, please try again in a moment."


def join_replies(replies: list[Reply]) -> str:
    """One chat message from several replies, separated by blank lines."""
    return "\n\n".join(r.text for r in replies if r.text)


def first_sight(engine: Engine, *, channel: str, key: str, user_id: str, at: datetime):
    """Record an inbound key; returns None the first time, else the stored reply ('' if none).

    The unique (channel, dedup_key) row is written before handling, so a retry that arrives
    while the first delivery is still being handled is also recognised, across processes.
    """
    with Session(engine, expire_on_commit=False) as session:
        session.add(InboundSeen(channel=channel, dedup_key=key[:128], at=at))
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            seen = session.exec(
                select(InboundSeen).where(
                    InboundSeen.channel == channel, InboundSeen.dedup_key == key[:128]
                )
            ).first()
            return (seen.reply if seen else None) or ""
        # Every inbound opens (or keeps open) WeChat's 48-hour customer-service window.
        session.execute(
            update(ChannelAccount)
            .where(ChannelAccount.channel == channel, ChannelAccount.external_id == user_id)
            .values(last_inbound_at=at)
        )
        session.commit()
        return None


def remember_reply(engine: Engine, *, channel: str, key: str, reply: str) -> None:
    """Store the passive reply so that a retried delivery gets the same answer."""
    with Session(engine) as session:
        session.execute(
            update(InboundSeen)
            .where(InboundSeen.channel == channel, InboundSeen.dedup_key == key[:128])
            .values(reply=reply)
        )
        session.commit()


def queue_late_replies(
    engine: Engine, *, channel: str, user_id: str, key: str, replies: list[Reply], at: datetime
) -> int:
    """Push replies that missed the passive-reply deadline through the outbox."""
    text = join_replies(replies)
    if not text:
        return 0
    with Session(engine) as session:
        account = session.exec(
            select(ChannelAccount).where(
                ChannelAccount.channel == channel, ChannelAccount.external_id == user_id
            )
        ).first()
        row = dict(
            idempotency_key=f"reply:{channel}:{key}"[:160],
            school_id=account.school_id if account else None,
            kind="reply",
            channel=channel,
            to_external_id=user_id,
            person_kind=account.person_kind if account else "",
            person_id=account.person_id if account else None,
            day=None,
            text=text,
            params={},
            quiet_hours=False,  # an answer to what the user just wrote is never held back
            status="pending",
            attempts=0,
            next_attempt_at=at,
            expires_at=None,
            last_error="",
            upstream_id="",
            created_at=at,
        )
        n = insert_ignoring_duplicates(
            session, OutboxMessage.__table__, [row], key="idempotency_key"
        )
        session.commit()
        return n


async def dispatch_in_thread(dispatch: Dispatch, inbound: Inbound) -> list[Reply]:
    """Run the synchronous dispatcher off the event loop; a crash becomes an apology."""
    try:
        return await to_thread.run_sync(dispatch, inbound)
    except Exception:
        log.exception("dispatch failed for %s message %s", inbound.channel, inbound.message_id)
        return [Reply(SORRY_EN if inbound.language == "en" else SORRY_ZH)]


async def dispatch_with_deadline(
    dispatch: Dispatch, inbound: Inbound, budget_s: float
) -> tuple[list[Reply] | None, asyncio.Task]:
    """Dispatch; returns (replies, task) in time, or (None, task) with the task still running."""
    task = asyncio.ensure_future(dispatch_in_thread(dispatch, inbound))
    try:
        return await asyncio.wait_for(asyncio.shield(task), timeout=budget_s), task
    except TimeoutError:
        return None, task
