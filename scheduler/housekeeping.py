"""Housekeeping: delete plumbing rows nobody reads again (dedupe keys, dialogs, bind failures,
WeChat nonces)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session

from core.settings import Settings
from models import BindFailure, ConversationState, InboundSeen, WechatNonce

# WeChat retries within seconds and Telegram redelivers for up to a day; a week is ample.
INBOUND_SEEN_KEEP = timedelta(days=7)
# Lockouts look back twice the lockout window; a day covers the default hour many times over.
BIND_FAILURE_KEEP = timedelta(days=1)


def sweep_housekeeping(session: Session, settings: Settings, now: datetime) -> dict[str, int]:
    """Delete old dedupe rows, expired dialog states and old wrong-code records, set-based.

    Returns how many rows of each went, leaving out the zeros (nothing to report is falsy).
    """
    lockout_lookback = 2 * timedelta(minutes=settings.invite.lockout_min)
    # A callback's timestamp must be within the replay window of our clock, so a pair older
    # than twice the window can never be presented again in time.
    nonce_keep = 2 * timedelta(seconds=settings.wechat.replay_window_s)
    statements = {
        "inbound_seen": delete(InboundSeen).where(InboundSeen.at < now - INBOUND_SEEN_KEEP),
        "conversation_states": delete(ConversationState).where(ConversationState.expires_at <= now),
        "bind_failures": delete(BindFailure).where(
            BindFailure.at < now - max(BIND_FAILURE_KEEP, lockout_lookback)
        ),
        "wechat_nonces": delete(WechatNonce).where(WechatNonce.at < now - nonce_keep),
    }
    deleted = {}
    for name, stmt in statements.items():
        count = session.execute(stmt.execution_options(synchronize_session=False)).rowcount
        if count:
            deleted[name] = count
    return deleted
