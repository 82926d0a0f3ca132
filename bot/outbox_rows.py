"""The outbox sender's statements: take over dead passes' rows, expire, hold, claim and mark.

Every statement runs on the pass's own connection (bot/outbox_owner.py), in short transactions
of two kinds: `start_pass` once, then `exchange` rounds that record the outcomes of the pushes
that have returned and claim as many rows as there are free sending slots, in one commit.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from bot.outbox_owner import Owner, owner_is_dead
from bot.outbox_sql import OUTCOME, TABLE, statements
from bot.senders import Outgoing
from core import notices

log = logging.getLogger(__name__)


def take_over_orphans(owner: Owner) -> int:
    """Put rows left 'sending' by passes that are dead back to pending, due as they were."""
    conn = owner.conn
    owners = conn.execute(
        select(TABLE.c.claimed_by).where(TABLE.c.status == "sending").distinct()
    ).scalars()
    taken = 0
    for other in list(owners):
        if not owner_is_dead(owner, other):
            continue
        mine = TABLE.c.claimed_by.is_(None) if other is None else TABLE.c.claimed_by == other
        result = conn.execute(
            update(TABLE)
            .where(TABLE.c.status == "sending", mine)
            .values(status="pending", claimed_by=None)
        )
        taken += max(result.rowcount or 0, 0)
    if taken:
        log.warning("took over %d outbox rows left 'sending' by a sender that died", taken)
    return taken


def start_pass(owner: Owner, *, now: datetime, quiet_end: datetime | None) -> None:
    """Take over dead passes' rows, expire what is past its expiry, hold quiet rows.

    Quiet rows due during quiet hours move to the hours' end in one statement instead of being
    claimed one by one; waiting is not an attempt, and expiry is checked again when they end.
    """
    owner.check()
    conn = owner.conn
    with conn.begin():
        take_over_orphans(owner)
        conn.execute(
            update(TABLE)
            .where(
                TABLE.c.status == "pending",
                TABLE.c.expires_at.is_not(None),
                TABLE.c.expires_at <= now,
            )
            .values(status="expired", last_error="expired before it could be sent")
        )
        if quiet_end is not None:
            conn.execute(
                update(TABLE)
                .where(
                    TABLE.c.status == "pending",
                    TABLE.c.next_attempt_at <= now,
                    TABLE.c.quiet_hours.is_(True),
                )
                .values(next_attempt_at=quiet_end)
            )


class Claimed(NamedTuple):
    """A claimed row as the sender reads it (notices.still_relevant and render too)."""

    id: int
    kind: str
    channel: str
    to_external_id: str
    person_id: int | None
    day: date | None
    text: str | None
    params: dict
    expires_at: datetime | None
    attempts: int
    last_inbound_at: datetime | None


def _outcome_params(outcomes: list[tuple[int, dict]]) -> list[dict]:
    return [
        {
            "m_id": row_id,
            "m_status": values["status"],
            "m_sent_at": values.get("sent_at"),
            "m_upstream_id": values.get("upstream_id", ""),
            "m_last_error": values.get("last_error", ""),
            "m_next_attempt_at": values.get("next_attempt_at"),
        }
        for row_id, values in outcomes
    ]


def _record_and_claim(conn, owner_id, outcomes, *, now, want, quiet) -> tuple[int, list]:
    """(rows recorded, rows claimed): PostgreSQL in one statement, SQLite in two."""
    given = _outcome_params(outcomes)
    if conn.dialect.name == "postgresql":
        arrays = {f"m_{n}": [g[f"m_{n}"] for g in given] for n in ("id", *OUTCOME)}
        params = {**arrays, "me": owner_id, "now": now, "want": want, "loud_only": quiet}
        rows = statements(conn.dialect)["round"].rows(conn, params)
        recorded = rows[0][0] if rows else 0
        return recorded, [Claimed(*row[1:]) for row in rows if row[1] is not None]
    sql = statements(conn.dialect)
    recorded = sql["mark"].many(conn, [{**g, "me": owner_id} for g in given]) if given else 0
    claimed = []
    if want:
        params = {"me": owner_id, "now": now, "want": want, "loud_only": quiet}
        rows = sql["claim"].rows(conn, params)
        if rows:
            inbound = dict(sql["inbound"].rows(conn, {"me": owner_id}))
            claimed = [Claimed(*row, inbound.get(row[0])) for row in rows]
    return recorded, claimed


def claim(conn, owner_id: int, *, now: datetime, limit: int, quiet: bool) -> list[Claimed]:
    """Claim up to `limit` due rows (oldest due first) for the pass `owner_id`."""
    return _record_and_claim(conn, owner_id, [], now=now, want=limit, quiet=quiet)[1]


def mark(conn, owner_id: int, outcomes: list[tuple[int, dict]]) -> int:
    """Record outcomes (column values by name) on the rows the pass `owner_id` holds.

    A recorded row belongs to no pass any more; returns how many rows changed.
    """
    if not outcomes:
        return 0
    return _record_and_claim(conn, owner_id, outcomes, now=None, want=0, quiet=False)[0]


def prepare(session: Session, rows: list[Claimed], now: datetime):
    """(ready to send, outcomes of the rest): stale rows dropped, empty ones failed."""
    ready: list[Outgoing] = []
    dropped: list[tuple[int, dict]] = []
    for row in rows:
        if not notices.still_relevant(session, row, now):
            dropped.append((row.id, dict(status="expired", last_error="no longer relevant")))
            continue
        text = notices.render(session, row)
        if not text:
            dropped.append((row.id, dict(status="failed", last_error="nothing to send")))
            continue
        ready.append(
            Outgoing(
                row.id,
                row.channel,
                row.to_external_id,
                text,
                row.kind,
                row.last_inbound_at,
                notices.push_params(row),
            )
        )
    return ready, dropped


class WouldWait(Exception):
    """SQLite's write lock is held by another connection: run the round where it may wait."""


@contextlib.contextmanager
def _not_waiting(conn):
    """SQLite: a busy database fails at once (no 30 s busy wait) inside this block."""
    driver = conn.connection.driver_connection
    (timeout,) = driver.execute("PRAGMA busy_timeout").fetchone()
    driver.execute("PRAGMA busy_timeout = 0")
    try:
        yield
    except OperationalError as exc:
        if "locked" in str(exc.orig) or "busy" in str(exc.orig):
            raise WouldWait from exc
        raise
    finally:
        driver.execute(f"PRAGMA busy_timeout = {int(timeout)}")


def exchange(
    owner: Owner,
    outcomes: list[tuple[int, dict]],
    *,
    now: datetime,
    want: int,
    quiet: bool,
    wait: bool = True,
) -> tuple[list[Claimed], list[Outgoing], list[tuple[int, dict]]]:
    """Record `outcomes`, then claim up to `want` rows and prepare them; one commit.

    Returns (claimed rows, those ready to send, outcomes of the others: to record next).
    With `wait` false (SQLite only) a locked database raises WouldWait and changes nothing.
    """
    owner.check()
    conn = owner.conn
    with contextlib.nullcontext() if wait else _not_waiting(conn), conn.begin():
        recorded, rows = _record_and_claim(conn, owner.id, outcomes, now=now, want=want,
                                           quiet=quiet)  # fmt: skip
    if recorded < len(outcomes):  # cannot happen while our lock holds; say so if it does
        log.error("%d outbox outcomes found their row taken over", len(outcomes) - recorded)
    if not rows:
        return rows, [], []
    with Session(bind=conn) as session:
        ready, dropped = prepare(session, rows, now)
    return rows, ready, dropped
