"""Housekeeping deletes old dedupe keys, expired dialogs and old wrong-code rows, nothing else."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from models import BindFailure, ConversationState, InboundSeen
from scheduler.housekeeping import sweep_housekeeping
from scheduler.sweeps import run_sweeps


def _plumbing(session: Session, now: datetime) -> None:
    """Two of each kind of row: one old enough to go, one that must stay."""
    day = timedelta(days=1)
    session.add(InboundSeen(channel="wechat", dedup_key="msg:old", at=now - 8 * day))
    session.add(InboundSeen(channel="wechat", dedup_key="msg:recent", at=now - 6 * day))
    for user, expires in (("expired", now - timedelta(minutes=1)), ("open", now + day)):
        session.add(
            ConversationState(
                channel="console",
                external_id=user,
                state="journal",
                data={"kind": "weekly"},
                updated_at=now - day,
                expires_at=expires,
            )
        )
    session.add(BindFailure(channel="telegram", external_id="old", at=now - 2 * day))
    session.add(BindFailure(channel="telegram", external_id="recent", at=now - timedelta(hours=3)))
    session.commit()


def _left(session: Session) -> tuple[list, list, list]:
    session.expire_all()
    return (
        session.exec(select(InboundSeen.dedup_key)).all(),
        session.exec(select(ConversationState.external_id)).all(),
        session.exec(select(BindFailure.external_id)).all(),
    )


def test_old_dedupe_keys_expired_dialogs_and_old_bind_failures_are_deleted(session, settings, now):
    _plumbing(session, now)
    deleted = sweep_housekeeping(session, settings, now)
    session.commit()
    assert deleted == {"inbound_seen": 1, "conversation_states": 1, "bind_failures": 1}
    assert _left(session) == (["msg:recent"], ["open"], ["recent"])


def test_a_second_run_deletes_nothing_and_reports_nothing(session, settings, now):
    _plumbing(session, now)
    sweep_housekeeping(session, settings, now)
    session.commit()
    assert sweep_housekeeping(session, settings, now) == {}


def test_a_long_lockout_window_keeps_the_failures_it_still_counts(session, settings, now):
    """Lockouts look back twice the window: a 24 h lockout needs two days of failures."""
    _plumbing(session, now)
    long = settings.model_copy(
        update={"invite": settings.invite.model_copy(update={"lockout_min": 24 * 60})}
    )
    sweep_housekeeping(session, long, now - timedelta(minutes=1))
    session.commit()
    assert _left(session)[2] == ["old", "recent"]


def test_housekeeping_runs_with_every_sweep(session, engine, settings, now):
    _plumbing(session, now)
    results = run_sweeps(engine, settings, now)
    assert results["housekeeping"] == {
        "inbound_seen": 1,
        "conversation_states": 1,
        "bind_failures": 1,
    }
    assert _left(session) == (["msg:recent"], ["open"], ["recent"])
