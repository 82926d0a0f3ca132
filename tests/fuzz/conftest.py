"""Hostile-input suites: Hypothesis with a bounded, reproducible budget, and one populated world.

Every property runs with a fixed number of examples and a derandomized seed, so `make test`
stays within its time and a failure reproduces. FUZZ_EXAMPLES scales the budget up for a long
hunt, e.g. FUZZ_EXAMPLES=5000 pytest tests/fuzz.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from sqlmodel import Session

from api.app import create_app
from core.settings import Settings
from models.db import make_engine
from tests.api.console_world import build_world, csrf_of, login
from tests.conftest import TZ

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "0")) or None


def budget(examples: int) -> settings:
    """Hypothesis settings for one property: `examples` cases (or FUZZ_EXAMPLES), no deadline,
    a fixed seed, no example database left in the working tree."""
    return settings(
        max_examples=EXAMPLES or examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                               HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )  # fmt: skip


NOW = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory, sqlite_template):
    """The app on a SQLite file holding two schools (tests.api.console_world), pinned clock."""
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    shutil.copy(sqlite_template, path)
    cfg = Settings(
        database={"url": f"sqlite:///{path}"},
        server={"secret_key": "fuzz-secret", "cookie_secure": False},
        scheduler={"enabled": False},
        wechat={"token": "wxtoken", "app_id": "wx0123456789abcdef",
                "encoding_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"},
        telegram={"token": "123456:TEST-TOKEN", "webhook_secret": "tg-secret"},
    )  # fmt: skip
    engine = make_engine(cfg.database.url)
    with Session(engine, expire_on_commit=False) as session:
        world = build_world(session, NOW)
    app = create_app(cfg, engine=engine)
    app.state.clock = lambda: NOW
    yield app, world
    engine.dispose()


@pytest.fixture(scope="module")
def fuzz_client(fuzz_world):
    """One client for a module's examples (the app starts once); server errors come back as
    500 responses, which is what the properties look for."""
    app, _ = fuzz_world
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


def signed_in(client, username: str) -> str:
    """Sign the client in; returns the CSRF token of its session."""
    assert login(client, username).status_code == 303
    return csrf_of(client.get("/admin/students").text)
