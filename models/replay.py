"""WeChat callbacks' (timestamp, nonce) pairs already accepted: the durable replay guard.

A pair is accepted once, across processes (the primary key decides). WeChat may deliver the
same message again with the same pair when our answer was slow; such a retry carries the same
message, so a pair seen again with the same message digest is let through (the message's own
dedupe key then answers it with the stored reply), and with any other body it is a replay.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, String, bindparam, delete, func
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel

from models.batch_sql import DIALECTS, bind_of, listed, member
from models.prepared import Prepared, Read, RowsInsert
from models.types import AwareDateTime


class WechatNonce(SQLModel, table=True):
    __tablename__ = "wechat_nonces"
    timestamp: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    nonce: str = Field(max_length=64, primary_key=True)
    digest: str = Field(max_length=64)  # sha256 hex of the message the pair first carried
    at: datetime = Field(sa_type=AwareDateTime, index=True)


def _claim_statement(dialect):
    """Insert the pair; on a conflict touch it only when the digest matches; RETURNING tells."""
    table = WechatNonce.__table__
    stmt = dialect.insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["timestamp", "nonce"],
        set_={"digest": stmt.excluded.digest},
        where=table.c.digest == stmt.excluded.digest,
    )
    return stmt.returning(table.c.timestamp)


_TABLE = WechatNonce.__table__
# Built once: this runs once per callback.
_CLAIM = {"postgresql": _claim_statement(postgresql), "sqlite": _claim_statement(sqlite)}


def claim_nonce(conn, *, timestamp: int, nonce: str, digest: str, at: datetime) -> bool:
    """True for a pair's first use or a retry of the same message; False for a replay.

    `conn` is a Connection or a Session; the claim commits (or rolls back) with its transaction.
    """
    params = {"timestamp": timestamp, "nonce": nonce, "digest": digest, "at": at}
    return conn.execute(_CLAIM[bind_of(conn).dialect.name], params).first() is not None


def _stored_statement(dialect: str):
    """The digest of each wanted pair, NULL where it is new."""
    if dialect == "postgresql":
        # One probe of the primary key per pair, whatever the statistics say: a second of
        # busy traffic shares one timestamp between hundreds of pairs, and a test of the
        # timestamps first would read them all.
        arrays = (
            bindparam("timestamps", type_=postgresql.ARRAY(BigInteger)),
            bindparam("nonces", type_=postgresql.ARRAY(String)),
        )
        wanted = func.unnest(*arrays).table_valued("timestamp", "nonce").render_derived("wanted")
        digest = sa_select(_TABLE.c.digest).where(
            _TABLE.c.timestamp == wanted.c.timestamp, _TABLE.c.nonce == wanted.c.nonce
        )
        return sa_select(
            wanted.c.timestamp, wanted.c.nonce, digest.scalar_subquery().label("digest")
        )
    # The timestamps first: they lead the primary key (a nonce alone would read the table).
    return sa_select(_TABLE.c.timestamp, _TABLE.c.nonce, _TABLE.c.digest).where(
        member(dialect, _TABLE.c.timestamp, "timestamps", BigInteger),
        member(dialect, _TABLE.c.nonce, "nonces", String),
    )


_STORED = Prepared({dialect: _stored_statement(dialect) for dialect in DIALECTS})
_INSERT = RowsInsert(_TABLE, ("timestamp", "nonce", "digest", "at"))


def stored_nonces_read(conn, *, pairs) -> Read:
    """The digests of the (timestamp, nonce) pairs among `pairs` already accepted."""
    wanted = set(pairs)
    pairs = sorted(wanted)
    params = {
        "timestamps": listed(conn, [int(timestamp) for timestamp, _ in pairs]),
        "nonces": listed(conn, [nonce for _, nonce in pairs]),
    }
    return Read(
        _STORED,
        params,
        lambda rows: {
            (r.timestamp, r.nonce): r.digest
            for r in rows
            if r.digest is not None and (r.timestamp, r.nonce) in wanted
        },
    )


def insert_nonces(conn, rows: list[dict]) -> None:
    """Accept new pairs (timestamp, nonce, digest, at) in one executemany; a pair stored
    meanwhile by another process fails the caller's transaction (it is then retried)."""
    _INSERT(conn, rows)


def prune_nonces(conn, *, before: datetime) -> int:
    """Forget pairs accepted before `before` (their timestamps are outside the window now)."""
    stmt = delete(WechatNonce).where(WechatNonce.at < before)
    return conn.execute(stmt.execution_options(synchronize_session=False)).rowcount
