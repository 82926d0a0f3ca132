"""Fresh, migrated bench databases: a SQLite file, or a dedicated PostgreSQL database."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from models.db import make_engine
from models.migrate import upgrade

DATA_DIR = Path(os.environ.get("SHIXI_BENCH_DIR", Path(__file__).parent / ".data"))
PG_URL = os.environ.get(
    "SHIXI_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/shixi_bench"
)


def sqlite_url(name: str = "bench") -> str:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DATA_DIR / (name + '.db')}"


def fresh_database(kind: str, *, sqlite_path: str | None = None) -> str:
    """Drop whatever the last run left and return the URL of an empty, migrated database."""
    if kind == "sqlite":
        url = f"sqlite:///{sqlite_path}" if sqlite_path else sqlite_url()
        path = Path(make_url(url).database)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    elif kind == "postgresql":
        url = PG_URL
        _ensure_pg_database(url)
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        raise ValueError(f"unknown database kind {kind!r} (sqlite | postgresql)")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def _ensure_pg_database(url: str) -> None:
    parsed = make_url(url)
    admin = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False))
    with admin.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
        ).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def pg_available() -> bool:
    try:
        _ensure_pg_database(PG_URL)
        return True
    except Exception:
        return False
