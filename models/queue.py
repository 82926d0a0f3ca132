"""Putting messages into the outbox: the one place an outbox row is built, never a key twice."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from types import SimpleNamespace

from sqlalchemy import Column, String, and_, bindparam, func, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from models.batch_sql import ONE, BinaryStatement, bind_of, unnest_of
from models.channel import ChannelAccount
from models.outbox import OutboxMessage
from models.prepared import Prepared, PreparedInsert, RowsInsert

KEY_LENGTH = 160  # outbox.idempotency_key


def _dialect_name(executor) -> str:
    """The dialect of a Session or a Connection."""
    return bind_of(executor).dialect.name


# Up to this many rows go one by one through a statement compiled once; more go as one
# executemany of that same statement (the driver batches it: psycopg pipelines, sqlite3 loops
# in C). A multi-row VALUES statement was compiled afresh for every 500 rows: a sweep queueing
# 4,000 messages spent ~3 s compiling, against ~0.3 s for the executemany.
FEW_ROWS = 16
# Without preserve_rowcount, SQLAlchemy 2.1 on psycopg reports -1 for these statements.
COUNT_ROWS = {"preserve_rowcount": True}


@cache
def _insert_or_skip(dialect_name: str, table, key: str):
    """INSERT ... ON CONFLICT (key) DO NOTHING, built once so that SQLAlchemy caches its SQL."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=[key])


@cache
def _insert_or_skip_prepared(dialect_name: str, table, key: str) -> PreparedInsert:
    """The same for a few rows, each run on the driver (models.prepared)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return PreparedInsert(
        table, build=lambda t: dialect.insert(t).on_conflict_do_nothing(index_elements=[key])
    )


def insert_ignoring_duplicates(executor, table, rows: list[dict], *, key: str) -> int:
    """INSERT rows, skipping those whose unique `key` already exists; returns rows inserted."""
    if not rows:
        return 0
    if len(rows) <= FEW_ROWS:  # a message's own pushes: the per-message hot path
        one_by_one = _insert_or_skip_prepared(_dialect_name(executor), table, key)
        return sum(one_by_one.run(executor, row) for row in rows)
    stmt = _insert_or_skip(_dialect_name(executor), table, key)
    result = executor.execute(stmt, rows, execution_options=COUNT_ROWS)
    return max(result.rowcount or 0, 0)


def outbox_row(
    *,
    key: str,
    channel: str,
    to: str,
    now: datetime,
    kind: str = "notice",
    text: str | None = None,
    params: dict | None = None,
    person_kind: str = "",
    person_id: int | None = None,
    school_id: int | None = None,
    day: date | None = None,
    quiet_hours: bool = False,
    not_before: datetime | None = None,
    expires_at: datetime | None = None,
) -> dict:
    """One outbox row addressed to one chat account; `key` is unique across the outbox."""
    return dict(
        idempotency_key=key[:KEY_LENGTH],
        school_id=school_id,
        kind=kind,
        channel=channel,
        to_external_id=to,
        person_kind=person_kind,
        person_id=person_id,
        day=day,
        text=text,
        params=params or {},
        quiet_hours=quiet_hours,
        status="pending",
        attempts=0,
        next_attempt_at=not_before or now,
        expires_at=expires_at,
        last_error="",
        upstream_id="",
        created_at=now,
    )


def queue_rows(executor, rows: list[dict], *, batch=None) -> int | None:
    """Insert built rows (see outbox_row), skipping keys already queued; returns rows queued.

    With the inbound path's writer `batch`, the rows join the batch's others and are written
    with them just before its commit (None: counted then, not now)."""
    if batch is not None:
        batch.rows("outbox_rows", _queue_batch_rows).extend(rows)
        return None
    return _queue_rows(executor, rows)


def _queue_rows(executor, rows: list[dict]) -> int:
    return insert_ignoring_duplicates(
        executor, OutboxMessage.__table__, rows, key="idempotency_key"
    )


def _queue_batch_rows(conn: Connection, rows: list[dict]) -> int:
    """A writer batch's rows: on PostgreSQL one INSERT from arrays per set of columns
    (RowsInsert), where an executemany runs (and plans) one per row."""
    if len(rows) < 2 or conn.dialect.name != "postgresql":
        return _queue_rows(conn, rows)
    return sum(_outbox_rows_insert(names)(conn, same) for names, same in _by_shape(rows))


def _by_shape(rows: list[dict]):
    """(column names, the rows naming exactly those) for each set of names among `rows`."""
    shapes: dict[tuple, list[dict]] = {}
    for row in rows:
        shapes.setdefault(tuple(row), []).append(row)
    return shapes.items()


@cache
def _outbox_rows_insert(names: tuple[str, ...]) -> RowsInsert:
    return RowsInsert(OutboxMessage.__table__, names, skip_conflicts_on="idempotency_key")


def queue_rows_returning_ids(executor, rows: list[dict]) -> list[int]:
    """Insert built rows whose keys are new (the replies to one message); their ids, in order."""
    if not rows:
        return []
    return [_INSERT_RETURNING_ID.scalar(executor, row) for row in rows]


_INSERT_RETURNING_ID = PreparedInsert(OutboxMessage.__table__, OutboxMessage.__table__.c.id)


def settle_pushed(engine, *, sent: dict[int, str], unsent: list[int], now: datetime) -> None:
    """Replies an adapter pushed itself: mark the sent ones, hand the rest to the sender now."""
    table = OutboxMessage.__table__
    with engine.begin() as conn:
        for row_id, upstream_id in sent.items():
            conn.execute(
                update(table)
                .where(table.c.id == row_id, table.c.status == "pending")
                .values(status="sent", sent_at=now, attempts=1, upstream_id=upstream_id[:64])
            )
        if unsent:
            conn.execute(
                update(table)
                .where(table.c.id.in_(unsent), table.c.status == "pending")
                .values(next_attempt_at=now)
            )


def enqueue(
    executor,
    *,
    person_kind: str,
    person_id: int,
    key: str,
    now: datetime,
    kind: str = "notice",
    text: str | None = None,
    params: dict | None = None,
    school_id: int | None = None,
    quiet_hours: bool = False,
    not_before: datetime | None = None,
    expires_at: datetime | None = None,
    day: date | None = None,
    batch=None,
) -> int | None:
    """Queue a message to every active chat account of a person; returns rows newly queued.

    One statement: the row (outbox_row) goes to each of the person's active accounts by
    INSERT ... SELECT, its key and address taken from the account. With the inbound path's
    writer `batch` it runs with the batch's other writes before its commit (None is returned:
    counted then, not now)."""
    row = outbox_row(
        key=key,
        channel="",
        to="",
        now=now,
        kind=kind,
        text=text,
        params=params,
        person_kind=person_kind,
        person_id=person_id,
        school_id=school_id,
        day=day,
        quiet_hours=quiet_hours,
        not_before=not_before,
        expires_at=expires_at,
    )
    row["key"] = key  # the account's part is added in SQL, then the whole cut to KEY_LENGTH
    if batch is not None:
        batch.rows("outbox_people", _enqueue_rows).append(row)
        return None
    return _enqueue_rows(executor, [row])


def _enqueue_rows(executor, rows: list[dict]) -> int:
    """The rows queued: per set of columns given, on PostgreSQL one statement from arrays
    for many rows (an executemany runs and plans one per row), else one executemany."""
    dialect = _dialect_name(executor)
    queued = 0
    for names, same in _by_shape(rows):
        if len(same) > 1 and dialect == "postgresql":
            conn = executor if isinstance(executor, Connection) else executor.connection()
            arrays = {f"r_{name}": [row[name] for row in same] for name in names}
            queued += _to_every_account_from_arrays(names)(conn, arrays)
        else:
            statement = _to_every_account(dialect, names)
            queued += statement.run(executor, same if len(same) > 1 else same[0])
    return queued


def _accounts_of_rows(rows, account) -> tuple[dict, object]:
    """The outbox columns a row takes from each active account of its person (its address and
    its key, made unique per account and cut to KEY_LENGTH), and the join to those accounts."""
    # Constants written into the SQL (not bound): a BinaryStatement binds only what it is given.
    colon = literal_column("':'", String)
    key = rows.c.key + colon + account.c.channel + colon + account.c.external_id
    taken = {
        "idempotency_key": func.substr(key, ONE, literal_column(str(KEY_LENGTH))),
        "channel": account.c.channel,
        "to_external_id": account.c.external_id,
    }
    return taken, and_(
        account.c.person_kind == rows.c.person_kind,
        account.c.person_id == rows.c.person_id,
        account.c.active.is_(True),
    )


@cache
def _to_every_account_from_arrays(names: tuple[str, ...]) -> BinaryStatement:
    """PostgreSQL: rows of one shape, as one array per column, to every account of their
    person (see _to_every_account), in ONE statement."""
    table, account = OutboxMessage.__table__, ChannelAccount.__table__
    columns = {name: Column(name, String) if name == "key" else table.c[name] for name in names}
    params: dict = {}
    rows = unnest_of(columns, "r", params)
    taken, joined = _accounts_of_rows(rows, account)
    written = [name for name in names if name != "key"]
    select_rows = select(*(taken[n] if n in taken else rows.c[n] for n in written)).select_from(
        rows.join(account, joined)
    )
    statement = postgresql.insert(table).from_select(written, select_rows)
    return BinaryStatement(
        statement.on_conflict_do_nothing(index_elements=["idempotency_key"]), params
    )


@cache
def _to_every_account(dialect_name: str, names: tuple[str, ...]):
    table, account = OutboxMessage.__table__, ChannelAccount.__table__
    # One row's values as parameters, where _to_every_account_from_arrays has them as columns.
    one = SimpleNamespace(c=SimpleNamespace(
        key=bindparam("key", type_=String),
        person_kind=bindparam("person_kind", type_=table.c.person_kind.type),
        person_id=bindparam("person_id", type_=table.c.person_id.type),
    ))  # fmt: skip
    taken, joined = _accounts_of_rows(one, account)
    columns = [name for name in names if name != "key"]
    values = [
        taken[name] if name in taken else bindparam(name, type_=table.c[name].type)
        for name in columns
    ]
    accounts = select(*values).where(joined)
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table).from_select(columns, accounts)
    return Prepared(statement.on_conflict_do_nothing(index_elements=["idempotency_key"]))
