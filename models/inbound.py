"""What the inbound path reads for a whole batch at once, and writes just before its commit.

A batch of messages needs its senders' bindings, their dialog states and the replies already
stored for its dedupe keys: three statements for the batch, whatever its size (lists travel as
one parameter, see models.batch_sql). Its dedupe rows and the senders' 48-hour windows are
written in one statement each just before the commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Integer, String, bindparam, delete, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row

from models.batch_sql import BinaryStatement, listed, per_dialect, unnested
from models.channel import ChannelAccount, ConversationState, InboundSeen
from models.prepared import Prepared, Read, RowsInsert

_ACCOUNT = ChannelAccount.__table__
_STATE = ConversationState.__table__
_SEEN = InboundSeen.__table__

ACCOUNT_COLUMNS = tuple(c.key for c in _ACCOUNT.c)
_SENDERS = Prepared.per_dialect(
    lambda member: sa_select(_ACCOUNT).where(
        _ACCOUNT.c.channel == bindparam("channel"),
        _ACCOUNT.c.active.is_(True),
        member(_ACCOUNT.c.external_id, "external_ids", String),
    )
)
_STATES = Prepared.per_dialect(
    lambda member: sa_select(_STATE).where(
        _STATE.c.channel == bindparam("channel"),
        member(_STATE.c.external_id, "external_ids", String),
    )
)
_STORED = Prepared.per_dialect(
    lambda member: sa_select(_SEEN.c.dedup_key, _SEEN.c.reply).where(
        _SEEN.c.channel == bindparam("channel"),
        member(_SEEN.c.dedup_key, "keys", String),
    )
)
_TOUCH = per_dialect(
    lambda member: (
        update(_ACCOUNT)
        .where(member(_ACCOUNT.c.id, "account_ids", Integer))
        .values(last_inbound_at=bindparam("b_at"))
    )
)
_INSERT_SEENS = RowsInsert(_SEEN, ("channel", "dedup_key", "reply", "at"))
KEY_LENGTH = 128  # inbound_seen.dedup_key


def _by_external_id(rows) -> dict:
    return {row.external_id: row for row in rows}


def senders_read(conn: Connection, *, channel: str, external_ids: Iterable[str]) -> Read:
    """The active binding of each sender that has one, by external id."""
    params = {"channel": channel, "external_ids": listed(conn, sorted(set(external_ids)))}
    return Read(_SENDERS, params, _by_external_id)


def dialog_states_read(conn: Connection, *, channel: str, external_ids: Iterable[str]) -> Read:
    """The stored dialog state of each sender that has one (expired ones included)."""
    params = {"channel": channel, "external_ids": listed(conn, sorted(set(external_ids)))}
    return Read(_STATES, params, _by_external_id)


def stored_replies_read(conn: Connection, *, channel: str, keys: Iterable[str]) -> Read:
    """The inbound keys among `keys` already recorded, with their stored replies ('' if none)."""
    wanted = sorted({key[:KEY_LENGTH] for key in keys})
    params = {"channel": channel, "keys": listed(conn, wanted)}
    return Read(_STORED, params, lambda rows: {row.dedup_key: row.reply or "" for row in rows})


def senders(conn: Connection, *, channel: str, external_ids: Iterable[str]) -> dict[str, Row]:
    return senders_read(conn, channel=channel, external_ids=external_ids).run(conn)


def claim_inbounds(conn: Connection, rows: list[dict]) -> None:
    """Insert dedupe rows (channel, dedup_key, reply, at) in one executemany.

    A plain INSERT: a key recorded meanwhile by another process is a unique violation, and the
    caller's transaction fails rather than having the same effect twice.
    """
    _INSERT_SEENS(conn, rows)


def touch_accounts(conn: Connection, account_ids: Iterable[int], at: datetime) -> None:
    """Open the 48-hour window of many accounts in one statement: the only writer of
    `last_inbound_at` (`at`: the batch's earliest message, so a window is never stretched)."""
    ids = sorted(set(account_ids))
    if ids:
        params = {"account_ids": listed(conn, ids), "b_at": at}
        conn.execute(_TOUCH[conn.dialect.name], params)


# --- dialog state, one sender at a time -----------------------------------------------------

_STATE_VALUES = ("channel", "external_id", "state", "data", "updated_at", "expires_at")


def _replacing(stmt):
    """An insert of dialog states that replaces a sender's stored one."""
    return stmt.on_conflict_do_update(
        index_elements=["channel", "external_id"],
        set_={name: stmt.excluded[name] for name in ("state", "data", "updated_at", "expires_at")},
    )


def _state_upsert(dialect):
    return _replacing(
        dialect.insert(_STATE).values({name: bindparam(name) for name in _STATE_VALUES})
    )


_SET_STATE = Prepared({"postgresql": _state_upsert(postgresql), "sqlite": _state_upsert(sqlite)})


def _states_upsert_from_arrays() -> BinaryStatement:
    """PostgreSQL: many senders' states in ONE upsert (rows from one array per column)."""
    params: dict = {}
    rows = unnested(_STATE, _STATE_VALUES, "s", params)
    stmt = postgresql.insert(_STATE).from_select(list(_STATE_VALUES), rows)
    return BinaryStatement(_replacing(stmt), params)


_SET_STATES = _states_upsert_from_arrays()
_CLEAR_STATE = Prepared(
    delete(_STATE).where(
        _STATE.c.channel == bindparam("channel"), _STATE.c.external_id == bindparam("external_id")
    )
)


def set_dialog_state(
    conn: Connection,
    *,
    channel: str,
    external_id: str,
    state: str,
    data: dict,
    now: datetime,
    expires_at: datetime,
    batch=None,
) -> None:
    """Store (or replace) the dialog step of a sender (with the inbound path's writer
    `batch`: once per sender, with the batch's other dialog changes, before it commits)."""
    values = dict(
        channel=channel,
        external_id=external_id,
        state=state,
        data=data,
        updated_at=now,
        expires_at=expires_at,
    )
    if batch is None:
        _SET_STATE.run(conn, values)
    else:
        _pending(batch)[(channel, external_id)] = values


def clear_dialog_state(conn: Connection, *, channel: str, external_id: str, batch=None) -> None:
    """End a sender's dialog (see set_dialog_state for `batch`)."""
    if batch is None:
        _CLEAR_STATE.run(conn, {"channel": channel, "external_id": external_id})
    else:
        _pending(batch)[(channel, external_id)] = None


# A batch's messages read dialog states from what it read up front and its own changes
# (bot/pipeline.py), never from the table: the table only needs each sender's last state.
def _pending(batch) -> dict:
    return batch.rows("dialog_states", _write_dialogs, new=dict)


def _write_dialogs(conn: Connection, pending: dict) -> None:
    cleared = [dict(channel=c, external_id=e) for (c, e), v in pending.items() if v is None]
    if cleared:
        _CLEAR_STATE.run(conn, cleared)
    # Sorted, so that two processes' batches lock the rows in the same order.
    stored = [v for _, v in sorted(pending.items()) if v is not None]
    if len(stored) > 1 and conn.dialect.name == "postgresql":
        _SET_STATES(conn, {f"s_{name}": [row[name] for row in stored] for name in _STATE_VALUES})
    elif stored:
        _SET_STATE.run(conn, stored)
