"""The outbox sender's hot statements, compiled once per dialect and run at driver level.

A sending round records a few outcomes and claims a few rows, hundreds of times a second:
building, caching and processing SQLAlchemy statements cost more than running them, so these
are compiled once, and only the typed columns are converted (each column's own processors).
On PostgreSQL a round is one statement (the pass's connection is in autocommit): a
data-modifying CTE records the outcomes while the main statement claims, and every claimed row
comes back with its addressee's last message time (WeChat's 48-hour window).
"""

from __future__ import annotations

import re

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    bindparam,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from models import ChannelAccount, OutboxMessage

TABLE = OutboxMessage.__table__
ACCOUNTS = ChannelAccount.__table__

# What a sender needs of a claimed row (notices.still_relevant and render read these too).
CLAIMED = ("id", "kind", "channel", "to_external_id", "person_id", "day", "text", "params",
           "expires_at", "attempts")  # fmt: skip
# Every outcome sets these; next_attempt_at only when given (a retry), else it stays.
OUTCOME = ("status", "sent_at", "upstream_id", "last_error", "next_attempt_at")

_ME = bindparam("me", type_=BigInteger)
_NOW = bindparam("now", type_=TABLE.c.next_attempt_at.type)


def _claim():
    """UPDATE the `want` longest-due pending rows to 'sending' under pass `me`."""
    # In quiet hours `loud_only` is true: quiet rows queued meanwhile wait for a later pass
    # (start_pass moves the others to the hours' end).
    loud_only = bindparam("loud_only", type_=TABLE.c.quiet_hours.type)
    due = (
        select(TABLE.c.id)
        .where(
            TABLE.c.status == "pending",
            TABLE.c.next_attempt_at <= _NOW,
            or_(TABLE.c.expires_at.is_(None), TABLE.c.expires_at > _NOW),
            or_(loud_only.is_(False), TABLE.c.quiet_hours.is_(False)),
        )
        .order_by(TABLE.c.next_attempt_at)
        .limit(bindparam("want", type_=Integer))
    )
    # RETURNING on SQLite names columns unqualified: both sides are spelt out in full.
    accounts = ACCOUNTS.alias("account")
    inbound = (
        select(accounts.c.last_inbound_at)
        .where(
            literal_column("account.channel", String) == literal_column("outbox.channel"),
            literal_column("account.external_id", String)
            == literal_column("outbox.to_external_id"),
        )
        .scalar_subquery()
        .label("last_inbound_at")
    )
    return due, inbound


def _claim_sqlite():
    due, _ = _claim()
    return (
        update(TABLE)
        .where(TABLE.c.id.in_(due.scalar_subquery()))
        .values(status="sending", claimed_by=_ME, attempts=TABLE.c.attempts + 1)
        .returning(*(TABLE.c[name] for name in CLAIMED))
    )


def _inbound_sqlite():
    """When the addressee of each row pass `me` holds last wrote to us.

    SQLite does not look a correlated subquery in RETURNING up by index (3.40), so this is
    asked apart, of the few rows the pass holds ('sending' ones come from the due index).
    """
    return (
        select(TABLE.c.id, ACCOUNTS.c.last_inbound_at)
        .join(
            ACCOUNTS,
            (ACCOUNTS.c.channel == TABLE.c.channel)
            & (ACCOUNTS.c.external_id == TABLE.c.to_external_id),
        )
        .where(TABLE.c.status == "sending", TABLE.c.claimed_by == _ME)
    )


def _mark_sqlite():
    """One outcome per parameter set (executemany); only rows pass `me` holds change."""
    return (
        update(TABLE)
        .where(
            TABLE.c.id == bindparam("m_id"),
            TABLE.c.status == "sending",
            TABLE.c.claimed_by == _ME,
        )
        .values(
            status=bindparam("m_status", type_=String),
            sent_at=bindparam("m_sent_at", type_=TABLE.c.sent_at.type),
            upstream_id=bindparam("m_upstream_id", type_=String),
            last_error=bindparam("m_last_error", type_=String),
            next_attempt_at=func.coalesce(
                bindparam("m_next_attempt_at", type_=TABLE.c.next_attempt_at.type),
                TABLE.c.next_attempt_at,
            ),
            claimed_by=None,
        )
    )


def _marked_cte():
    """PostgreSQL: the outcomes as arrays, recorded by UPDATE ... FROM unnest(...)."""
    names = ("id", *OUTCOME)
    arrays = [
        bindparam(f"m_{name}", type_=ARRAY(BigInteger if name == "id" else TABLE.c[name].type))
        for name in names
    ]
    given = func.unnest(*arrays).table_valued(*names).render_derived(name="given")
    return (
        update(TABLE)
        .where(TABLE.c.id == given.c.id, TABLE.c.status == "sending", TABLE.c.claimed_by == _ME)
        .values(
            status=given.c.status,
            sent_at=given.c.sent_at,
            upstream_id=given.c.upstream_id,
            last_error=given.c.last_error,
            next_attempt_at=func.coalesce(given.c.next_attempt_at, TABLE.c.next_attempt_at),
            claimed_by=None,
        )
        .returning(TABLE.c.id)
        .cte("marked")
    )


def _round_pg():
    """One statement: record the outcomes, claim `want` rows (SKIP LOCKED), return them.

    Both parts see one snapshot; they touch different rows (recorded ones are 'sending',
    claimed ones 'pending'). The first column counts the rows recorded; a round that claims
    nothing returns that count alone, on a row of NULLs.
    """
    marked = _marked_cte()
    due, inbound = _claim()
    claimed = (
        update(TABLE)
        .where(TABLE.c.id.in_(due.with_for_update(skip_locked=True).scalar_subquery()))
        .values(status="sending", claimed_by=_ME, attempts=TABLE.c.attempts + 1)
        .returning(*(TABLE.c[name] for name in CLAIMED), inbound)
        .cte("claimed")
    )
    recorded = select(func.count()).select_from(marked).scalar_subquery().label("recorded")
    one = select(literal(1).label("one")).subquery("one")
    return select(recorded, *claimed.c).select_from(one.outerjoin(claimed, true()))


class Compiled:
    """A statement compiled once for a dialect; its typed parameters and columns converted."""

    def __init__(self, statement, dialect):
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        if dialect.driver == "psycopg":
            # Binary parameters: psycopg quotes every element of a text array one by one.
            self.sql = re.sub(r"%\((\w+)\)s", r"%(\1)b", self.sql)
        self.defaults = dict(compiled.params)
        self.binds = []
        for name, param in compiled.binds.items():
            process = param.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self.binds.append((name, process))
        self.results = []
        for i, column in enumerate(statement.exported_columns):
            process = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if process is not None:
                self.results.append((i, process))

    def params(self, values: dict) -> dict:
        params = {**self.defaults, **values}
        for name, process in self.binds:
            if name in params and params[name] is not None:
                params[name] = process(params[name])
        return params

    def rows(self, conn: Connection, values: dict) -> list[list]:
        result = conn.exec_driver_sql(self.sql, self.params(values))
        rows = [list(row) for row in result]
        for row in rows:
            for i, process in self.results:
                row[i] = process(row[i])
        return rows

    def many(self, conn: Connection, values: list[dict]) -> int:
        result = conn.exec_driver_sql(self.sql, [self.params(v) for v in values])
        return max(result.rowcount or 0, 0)


_SQLITE = sqlite.dialect(paramstyle="named")


_COMPILED: dict[tuple[str, str], dict[str, Compiled]] = {}


def statements(dialect) -> dict[str, Compiled]:
    """The compiled statements for a connection's dialect (per database and driver)."""
    key = (dialect.name, dialect.driver)
    if key not in _COMPILED:
        if dialect.name == "postgresql":
            _COMPILED[key] = {"round": Compiled(_round_pg(), dialect)}
        else:  # pysqlite takes named parameters from a dict, whatever style the engine uses
            _COMPILED[key] = {
                "claim": Compiled(_claim_sqlite(), _SQLITE),
                "inbound": Compiled(_inbound_sqlite(), _SQLITE),
                "mark": Compiled(_mark_sqlite(), _SQLITE),
            }
    return _COMPILED[key]
