"""Shared fixtures: settings, real SQLite and PostgreSQL databases, a fixed clock, no network."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlmodel import Session, SQLModel

from core.settings import Settings
from models.db import make_engine
from models.migrate import upgrade

TZ = ZoneInfo("Asia/Shanghai")
PG_URL = os.environ.get("SHIXI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")


# --- no real network -----------------------------------------------------------------------

_real_connect = socket.socket.connect


def _is_local(address) -> bool:
    if isinstance(address, str | bytes):  # AF_UNIX
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self, address):
    if not _is_local(address):
        raise RuntimeError(f"test tried to reach a real host: {address!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any connection beyond loopback fails the test (outbound HTTP is mocked with respx)."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """Tests build their own settings; the developer's SHIXI_* variables must not leak in."""
    for key in list(os.environ):
        if key.startswith("SHIXI_") and key != "SHIXI_TEST_PG_URL":
            monkeypatch.delenv(key)


# --- databases -----------------------------------------------------------------------------


def _pg_available() -> bool:
    try:
        engine = make_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return str(path)


@pytest.fixture(scope="session")
def pg_schema_url():
    """A private schema in database `test`, so parallel runs never see each other's rows."""
    if not _pg_available():
        yield None
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def _truncate_pg(engine) -> None:
    tables = ", ".join(t.name for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path, sqlite_template, pg_schema_url) -> str:
    """A migrated, empty database: a real SQLite file, and the real PostgreSQL when reachable."""
    if request.param == "sqlite":
        path = tmp_path / "shixi.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    if pg_schema_url is None:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    engine = make_engine(pg_schema_url)
    _truncate_pg(engine)
    engine.dispose()
    return pg_schema_url


@pytest.fixture
def sqlite_url(tmp_path, sqlite_template) -> str:
    """SQLite only, for tests about SQLite itself or too slow to run twice."""
    path = tmp_path / "shixi.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def settings(db_url) -> Settings:
    return Settings(
        database={"url": db_url},
        server={"secret_key": "test-secret", "cookie_secure": False},
        scheduler={"enabled": False},  # tests that want it running turn it on
        wechat={
            "token": "wxtoken",
            "app_id": "wx0123456789abcdef",
            "app_secret": "wxsecret",
            "encoding_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            "api_base_url": "https://api.weixin.qq.com",
        },
        telegram={
            "token": "123456:TEST-TOKEN",
            "webhook_secret": "tg-secret",
            "api_base_url": "https://api.telegram.org",
        },
    )


@pytest.fixture
def engine(settings):
    engine = make_engine(settings.database.url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def now() -> datetime:
    """Monday 2026-03-02 09:00 in Shanghai: a workday of every default placement."""
    return datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
