"""`shixi serve`: migrate, then run the web app (and by default the scheduler) under uvicorn."""

from __future__ import annotations

import importlib.util
import os

import typer
import uvicorn

from core.settings import Settings
from models.db import make_engine
from models.migrate import upgrade


def run_server(
    settings: Settings, *, host: str | None, port: int | None, workers: int, scheduler: bool
) -> None:
    upgrade(make_engine(settings.database.url))
    host = host or settings.server.host
    port = port or settings.server.port
    # The factory reads settings again in each worker process; this flag travels with them.
    os.environ["SHIXI_SCHEDULER__ENABLED"] = "true" if scheduler else "false"
    if workers > 1 and settings.server.writer == "auto":
        # Several web workers already use the cores: each writes in its own process.
        os.environ["SHIXI_SERVER__WRITER"] = "thread"
    typer.echo(f"Shixi 正在 http://{host}:{port} 上服务（控制台 /admin，健康检查 /healthz）")
    uvicorn.run(
        "api.asgi:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
        **fast_server_options(),
    )


def fast_server_options() -> dict:
    """uvloop and httptools when installed (uvicorn[standard]): several times h11's rate."""
    options = {}
    if importlib.util.find_spec("uvloop") is not None:
        options["loop"] = "uvloop"
    if importlib.util.find_spec("httptools") is not None:
        options["http"] = "httptools"
    return options
