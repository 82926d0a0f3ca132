"""The app as `shixi serve` builds it, with the clock pinned to the bench's day (for uvicorn)."""

from __future__ import annotations

import os
from datetime import datetime

from api.app import create_app
from core.settings import load_settings


def app_factory():
    app = create_app(load_settings())
    at = datetime.fromisoformat(os.environ["SHIXI_BENCH_NOW"])
    app.state.clock = lambda: at
    return app
