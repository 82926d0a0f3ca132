"""`shixi worker`: scheduler and outbox sender without the web app; also used by `serve`."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

import typer
from sqlalchemy.engine import Engine

from core.settings import Settings
from models.db import make_engine
from scheduler.runner import start_background

log = logging.getLogger("shixi.worker")


def outbox_sender(engine: Engine, settings: Settings):
    """The outbox sender of bot/outbox.py, or None while that part is missing."""
    try:
        from bot.outbox import OutboxSender
    except ImportError:
        log.warning("bot.outbox is not available: messages are queued but not sent")
        return None
    return OutboxSender(engine, settings)


async def start_in_process(engine: Engine, settings: Settings) -> Callable[[], Awaitable[None]]:
    """Start sweeps + outbox sender on the running loop; returns an async stopper."""
    return await start_background(engine, settings, sender=outbox_sender(engine, settings))


async def _run(engine: Engine, settings: Settings) -> None:
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_requested.set)
    stop = await start_in_process(engine, settings)
    typer.echo("Shixi worker 已启动：定时任务与消息发送（Ctrl+C 或 SIGTERM 结束）")
    try:
        await stop_requested.wait()
    finally:
        await stop()
        typer.echo("Shixi worker 已停止")


def run_worker(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    engine = make_engine(
        settings.database.url, echo=settings.database.echo, pool_size=settings.database.pool_size
    )
    try:
        asyncio.run(_run(engine, settings))
    finally:
        engine.dispose()
