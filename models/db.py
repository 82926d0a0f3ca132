"""Engine and sessions: SQLite with WAL and foreign keys, or PostgreSQL through psycopg 3."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

from models.batch_sql import bind_of

log = logging.getLogger(__name__)


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )

    @event.listens_for(engine, "connect")
    def _plan_each_execution(dbapi_conn, _record):
        # A session setting, not the URL's `options` (a deployment's own search_path, say).
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET plan_cache_mode = {PLAN_CACHE_MODE}")
        dbapi_conn.commit()

    return engine


# psycopg prepares a statement on the server once a connection has run it five times, and
# PostgreSQL may then keep one generic plan for it until the statistics of its tables change.
# The inbound path's connections live long and its tables start empty (dedupe keys, nonces,
# dialog steps, the outbox): a plan made for an empty table reads the whole table on every
# batch ever after, slower with every message, until an ANALYZE that autovacuum may never
# get to (in the bench every message kind ran at half its speed once others had run before
# it). So each execution is planned for its parameters and the table as it is; the parse is
# still saved.
PLAN_CACHE_MODE = "force_custom_plan"
# PostgreSQL checks each foreign key of each row written with a prepared query of its own, and
# PLAN_CACHE_MODE would plan that query anew for every row (a 30-row insert of check-ins took
# 2.4 ms instead of 1.5). A write of many rows whose own plan cannot go stale (an insert from
# arrays or a COPY reads no table; a sweep's INSERT ... SELECT reads the temp table it has just
# built and analyzed) runs between these two (key_checks_planned_once): there the checks keep
# their plans.
CACHED_PLANS = "SET LOCAL plan_cache_mode = auto"
PLAN_EACH = f"SET LOCAL plan_cache_mode = {PLAN_CACHE_MODE}"


@contextmanager
def key_checks_planned_once(executor) -> Iterator[None]:
    """Run the block's write between CACHED_PLANS and PLAN_EACH on PostgreSQL (`executor`: a
    Session or a Connection, in a transaction). Should the write fail, PLAN_EACH is not sent:
    the transaction is rolled back, and SET LOCAL with it."""
    postgres = bind_of(executor).dialect.name == "postgresql"
    if postgres:
        executor.execute(text(CACHED_PLANS))
    yield
    if postgres:
        executor.execute(text(PLAN_EACH))


def refresh_statistics(executor, tables=()) -> None:
    """Let PostgreSQL's planner see what a bulk load wrote (ANALYZE `tables`, all when none).

    Until autovacuum gets to a freshly loaded table (a minute or more later), the planner takes
    it for nearly empty: the first messages after a roster import (a class binding at once)
    then ran on plans made for empty tables, at half the speed or worse. SQLite's planner
    works from its indexes without statistics: nothing to do there.

    Best effort, in a savepoint: two imports ending at once analyze the same tables, each
    holding its locks until it commits, and PostgreSQL may end one ANALYZE as a deadlock;
    that import keeps its rows (the other one's ANALYZE sees them too).
    """
    if bind_of(executor).dialect.name != "postgresql":
        return
    names = ", ".join(getattr(t, "__tablename__", None) or t.name for t in tables)
    try:
        with executor.begin_nested():
            executor.execute(text(f"ANALYZE {names}".strip()))
    except OperationalError as exc:
        log.warning("statistics not refreshed: %s", type(exc.orig).__name__)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
