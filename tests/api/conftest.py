"""The real app on the test database, with the clock pinned to the `now` fixture."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app


@pytest.fixture
def app(settings, engine, now):
    app = create_app(settings, engine=engine)
    app.state.clock = lambda: now
    return app


@pytest.fixture
def client(app):
    with TestClient(app) as client:
        yield client
