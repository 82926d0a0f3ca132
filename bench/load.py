"""Bulk loading: COPY on PostgreSQL, big executemany transactions on SQLite; index drop/rebuild."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from itertools import islice

from sqlalchemy import Boolean, Date, Table, Time, text
from sqlalchemy.engine import Engine
from sqlalchemy.types import JSON

from models.types import AwareDateTime

CHUNK = 50_000


def _sqlite_converter(col):
    """How a Python value of this column is stored by SQLAlchemy on SQLite."""
    t = col.type
    if isinstance(t, AwareDateTime):
        return lambda v: (
            None
            if v is None
            else v.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        )
    if isinstance(t, Date):
        return lambda v: None if v is None else v.isoformat()
    if isinstance(t, Time):
        return lambda v: None if v is None else v.strftime("%H:%M:%S.%f")
    if isinstance(t, Boolean):
        return lambda v: None if v is None else int(v)
    if isinstance(t, JSON):
        return lambda v: json.dumps(v, ensure_ascii=False)
    return None


def copy_rows(engine: Engine, table: Table, columns: list[str], rows: Iterable[tuple]) -> int:
    """Load rows into a table as fast as the database allows; returns the row count."""
    raw = engine.raw_connection()
    count = 0
    try:
        cur = raw.cursor()
        if engine.dialect.name == "postgresql":
            from psycopg.types.json import Json

            jsons = [isinstance(table.c[name].type, JSON) for name in columns]
            if any(jsons):
                rows = (
                    tuple(Json(v) if j else v for j, v in zip(jsons, row, strict=True))
                    for row in rows
                )
            cols = ", ".join(columns)
            with cur.copy(f"COPY {table.name} ({cols}) FROM STDIN") as cp:
                for row in rows:
                    cp.write_row(row)
                    count += 1
        else:
            convs = [_sqlite_converter(table.c[name]) for name in columns]
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
            it = iter(rows)
            while chunk := list(islice(it, CHUNK)):
                if any(convs):
                    chunk = [
                        tuple(c(v) if c else v for c, v in zip(convs, row, strict=True))
                        for row in chunk
                    ]
                cur.executemany(sql, chunk)
                count += len(chunk)
        raw.commit()
    finally:
        raw.close()
    return count


def fix_sequences(engine: Engine, tables: Iterable[Table]) -> None:
    """After loading explicit ids, move PostgreSQL sequences past them (SQLite needs nothing)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in tables:
            if "id" in table.c and table.c.id.primary_key:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                    )
                )


@contextmanager
def fast_load(engine: Engine, tables: list[Table]) -> Iterator[None]:
    """Drop secondary indexes during the load and build them once at the end."""
    indexes = [ix for t in tables for ix in t.indexes]
    with engine.begin() as conn:
        for ix in indexes:
            ix.drop(conn, checkfirst=True)
    try:
        yield
    finally:
        with engine.begin() as conn:
            for ix in indexes:
                ix.create(conn, checkfirst=True)
        analyze(engine)


def analyze(engine: Engine) -> None:
    """Statistics, and on PostgreSQL the visibility map a bulk load leaves unset (autovacuum
    would set it in production): index-only scans otherwise visit the heap for every row."""
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("VACUUM (ANALYZE)" if engine.dialect.name == "postgresql" else "ANALYZE"))


def local_midnight_utc(day: date, tz) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
