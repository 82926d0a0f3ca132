"""`shixi wechat templates check`: the configured templates against the account's own."""

from __future__ import annotations

import asyncio

import httpx
import typer

from bot.wechat_api import WechatApi, WechatApiError
from bot.wechat_templates import Finding, check_templates
from core.settings import Settings
from models.db import make_engine

TIMEOUT = httpx.Timeout(10.0)
NOT_SET_UP = "请先在 config.toml 的 [wechat] 中填写 token、app_id 和 app_secret"
NONE_CONFIGURED = (
    "config.toml 中还没有配置任何模板（[wechat.templates.<kind>]）；"
    "48 小时内没有发过消息的人将收不到推送。"
)
ALL_GOOD = "全部 {n} 个模板与公众号一致。"
SOME_WRONG = "{n} 个模板有问题，请修改 config.toml 或在公众号后台添加模板。"
NO_LINKS = "提示：没有设置 server.public_url，模板消息将不带详情链接，收件人看不到全文。"
NO_NOTICE = "提示：没有配置 notice 模板，未单独配置模板的推送类型在 48 小时外将无法送达。"
KIND_NAMES = {
    "nudge": "签到提醒",
    "absence": "缺勤预警",
    "ticket": "维权工单",
    "journal": "日志批阅",
    "leave": "请假补卡",
    "notice": "其他通知",
}


async def fetch_findings(settings: Settings, engine, http: httpx.AsyncClient) -> list[Finding]:
    listed = await WechatApi(settings, engine, http).private_templates()
    return check_templates(settings.wechat.templates, listed)


def report(findings: list[Finding], settings: Settings) -> int:
    """Print one line per configured kind; the exit code (1 when anything is wrong)."""
    if not findings:
        typer.secho(NONE_CONFIGURED, fg=typer.colors.RED, err=True)
        return 1
    for f in findings:
        mark = "✓" if f.ok else "✗"
        line = f"{mark} {f.kind}（{KIND_NAMES.get(f.kind, f.kind)}）：{f.message}"
        typer.secho(line, fg=None if f.ok else typer.colors.RED)
    wrong = sum(not f.ok for f in findings)
    if not settings.wechat.templates.notice.configured:
        typer.echo(NO_NOTICE)
    if not settings.server.public_url:
        typer.echo(NO_LINKS)
    if wrong:
        typer.secho(SOME_WRONG.format(n=wrong), fg=typer.colors.RED, err=True)
        return 1
    typer.echo(ALL_GOOD.format(n=len(findings)))
    return 0


def check_wechat_templates(settings: Settings) -> None:
    cfg = settings.wechat
    if not (cfg.enabled and cfg.app_id and cfg.app_secret):
        typer.secho(NOT_SET_UP, fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    engine = make_engine(settings.database.url)

    async def run() -> list[Finding]:
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            return await fetch_findings(settings, engine, http)

    try:
        findings = asyncio.run(run())
    except WechatApiError as exc:
        typer.secho(f"微信拒绝了请求：{exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    except httpx.HTTPError as exc:
        typer.secho(f"无法连接微信接口：{type(exc).__name__}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    raise typer.Exit(report(findings, settings))
