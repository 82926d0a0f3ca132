"""Engine and sessions: SQLite with WAL and foreign keys, or PostgreSQL through psycopg 3."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from models.batch_sql import bind_of


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
    return create_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def refresh_statistics(executor, tables=()) -> None:
    """Let PostgreSQL's planner see what a bulk load wrote (ANALYZE `tables`, all when none).

    Until autovacuum gets to a freshly loaded table (a minute or more later), the planner takes
    it for nearly empty: the first messages after a roster import (a class binding at once)
    then ran on plans made for empty tables, at half the speed or worse. SQLite's planner
    works from its indexes without statistics: nothing to do there.
    """
    if bind_of(executor).dialect.name == "postgresql":
        names = ", ".join(getattr(t, "__tablename__", None) or t.name for t in tables)
        executor.execute(text(f"ANALYZE {names}".strip()))


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
