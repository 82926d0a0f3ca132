"""Mounting the chat channels: a channel without a token is off and its webhook is a 404."""

from __future__ import annotations

import logging
import threading

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from bot.pipeline import Pipeline, writer_mode
from core.settings import Settings
from models.types import utcnow

log = logging.getLogger(__name__)


def _warm_up() -> None:
    try:
        from core.intents import detect

        detect("你好")
    except Exception:  # a failed warm-up only costs the first user some latency
        log.warning("warming up the intent detector failed", exc_info=True)


def _include_first(app: FastAPI, router) -> None:
    """Include `router` ahead of the console and API routes: a webhook callback is the hottest
    request and should not be matched against every other route first (~0.1 ms each time)."""
    before = len(app.router.routes)
    app.include_router(router)
    routes = app.router.routes
    routes[:] = routes[before:] + routes[:before]


def mount_channels(app: FastAPI, settings: Settings, engine: Engine, *, serving: bool) -> None:
    """Build the inbound pipeline and adapters once per app and include the configured webhooks."""
    pipeline = Pipeline(engine, settings, writer=writer_mode(settings, serving=serving))
    app.state.pipeline = pipeline
    # Tests replace app.state.clock to replay callbacks at a fixed time; adapters read it late.
    app.state.clock = utcnow

    def clock():
        return app.state.clock()

    if pipeline.writer_mode == "thread" and (settings.wechat.enabled or settings.telegram.enabled):
        # jieba loads its dictionary on first use (~2 s): do it now, not inside WeChat's deadline.
        threading.Thread(target=_warm_up, name="shixi-warm-up", daemon=True).start()

    if settings.wechat.enabled:
        from api.routes import wechat
        from bot.wechat_webhook import WechatWebhook

        app.state.wechat = WechatWebhook(settings, pipeline, clock=clock)
        _include_first(app, wechat.router)
    if settings.telegram.enabled:
        from api.routes import telegram
        from bot.telegram import TelegramWebhook

        app.state.telegram = TelegramWebhook(engine, settings, pipeline, clock=clock)
        app.include_router(telegram.router)
