"""`shixi tick --at`: every sweep as of a time, then deliver what is due on the same clock."""

from __future__ import annotations

import asyncio
from datetime import datetime

import httpx
import typer
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from core.settings import Settings
from scheduler.sweeps import run_sweeps

SWEPT = "{at}：已运行全部定时任务，新排入 {n} 条消息"
DELIVERED = "已发送到期消息 {n} 条"
NO_SENDER = "消息发送模块尚不可用，消息已排队，暂未发送"
NOT_MIGRATED = "数据库尚未初始化，请先运行 shixi migrate（{error}）"


def queued_count(results: dict) -> int:
    total = 0
    for value in results.values():
        total += value.get("queued", 0) if isinstance(value, dict) else int(value or 0)
    return total


def run_tick(settings: Settings, engine: Engine, when: datetime) -> None:
    try:
        results = run_sweeps(engine, settings, when)
    except (OperationalError, ProgrammingError) as exc:
        typer.secho(NOT_MIGRATED.format(error=exc.orig), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    at = when.astimezone(settings.tz).isoformat(timespec="minutes")
    typer.echo(SWEPT.format(at=at, n=queued_count(results)))
    try:
        from bot.outbox import build_senders, deliver_due
    except ImportError:
        typer.echo(NO_SENDER)
        return
    sent = asyncio.run(_deliver(engine, settings, when, build_senders, deliver_due))
    typer.echo(DELIVERED.format(n=sent))


async def _deliver(engine, settings, when, build_senders, deliver_due) -> int:
    from bot.senders import ConsoleSender

    async with httpx.AsyncClient(timeout=10) as client:
        senders = build_senders(settings, client, engine=engine, console=ConsoleSender(echo=True))
        # One pass delivers everything due at `when`; retries fall due later on the same clock.
        return await deliver_due(engine, settings, now=when, senders=senders)
