"""The FastAPI app factory: webhooks, console and API share one app and one database."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from api.headers import SecurityHeaders
from api.wechat_lane import ShixiApp
from core.settings import Settings
from models.db import make_engine


def create_app(
    settings: Settings, *, engine: Engine | None = None, serving: bool = False
) -> FastAPI:
    """The app; `serving`: it is about to be served (the ASGI factory), not embedded in
    another program such as a test (server.writer "auto" then writes in a process of its own)."""
    engine = engine or make_engine(
        settings.database.url, echo=settings.database.echo, pool_size=settings.database.pool_size
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        stop = None
        # The writer process, where the pipeline has one (seconds: it loads jieba).
        await asyncio.to_thread(app.state.pipeline.start)
        if settings.scheduler.enabled:  # off for `serve --no-scheduler` and in tests
            from api.commands.worker import start_in_process

            stop = await start_in_process(engine, settings)
        try:
            yield
        finally:
            if stop is not None:
                await stop()
            await asyncio.to_thread(app.state.pipeline.close)

    # ShixiApp: FastAPI with POST /wechat answered in front of it (api.wechat_lane).
    # The OpenAPI description stays at /openapi.json (SPEC section 5); the interactive
    # /docs and /redoc pages are not served to the public.
    app = ShixiApp(
        title="Shixi 实习助手",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine

    from api.routes import checkin_page, health, message, privacy
    from api.routes.channels import mount_channels

    app.include_router(health.router)
    app.include_router(privacy.router)
    app.include_router(message.router)
    app.include_router(checkin_page.router)
    from api import console
    from api.routes import api_v1

    app.include_router(api_v1.router)
    console.install(app)  # /admin pages, /static, console error pages
    mount_channels(app, settings, engine, serving=serving)  # only the channels with a token
    app.add_middleware(SecurityHeaders, hsts=settings.server.cookie_secure)
    return app
