"""`shixi compliance check [--at ISO]`: check every active placement against the rules now."""

from __future__ import annotations

from datetime import datetime

import typer
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from core.settings import Settings
from models.db import session_scope
from scheduler.compliance import check_compliance

CHECKING = "正在检查 {day} 所有在岗实习的合规情况……"
DONE = (
    "检查完成：发现问题 {violations} 项，其中新增 {new} 项、重新出现 {reopened} 项；"
    "已不存在而关闭 {resolved} 项；通知指导教师 {notified} 条消息。"
)
NOT_MIGRATED = "数据库尚未初始化，请先运行 shixi migrate（{error}）"


def run_check(settings: Settings, engine: Engine, when: datetime) -> dict:
    day = when.astimezone(settings.tz).date()
    typer.echo(CHECKING.format(day=day))
    try:
        with session_scope(engine) as session:
            counts = check_compliance(session, settings, when)
    except (OperationalError, ProgrammingError) as exc:
        typer.secho(NOT_MIGRATED.format(error=exc.orig), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    typer.echo(DONE.format(**counts))
    return counts
