"""The FastAPI app factory: webhooks, console and API share one app and one database."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from core.settings import Settings
from models.db import make_engine


def create_app(settings: Settings, *, engine: Engine | None = None) -> FastAPI:
    engine = engine or make_engine(
        settings.database.url, echo=settings.database.echo, pool_size=settings.database.pool_size
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield

    app = FastAPI(title="Shixi 实习助手", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine

    from api.routes import health

    app.include_router(health.router)
    return app
