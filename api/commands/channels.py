"""Channel set-up commands: menus per role on WeChat and Telegram, the Telegram webhook."""

from __future__ import annotations

import asyncio

import httpx
import typer
from telegram.error import TelegramError

from bot.menu_push import MenuError, publish_telegram_commands, publish_wechat_menus
from bot.senders import SendError
from bot.wechat_api import WechatApi, WechatApiError
from core.settings import Settings
from models.db import make_engine

TIMEOUT = httpx.Timeout(10.0)
# What the account's own settings must enable (docs/checkin-evidence.md): WeChat sends the
# LOCATION event only when 获取用户地理位置 is on; wx.getLocation needs the JS 接口安全域名.
LOCATION_HINT = (
    "提示：请在公众号后台「设置与开发 → 接口权限」开通「获取用户地理位置」"
    "（选择“进入会话时上报”），签到时才有微信位置上报作为佐证；"
    "并在「设置与开发 → 公众号设置 → 功能设置」把本系统域名加入「JS接口安全域名」，"
    "签到页面才能读取手机定位。详见 docs/checkin-evidence.md。"
)
NO_PAGE_HINT = (
    "尚未设置 server.public_url：菜单「签到」暂为地图选点，设置后重新发布菜单即可改用签到页面。"
)


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


async def publish_menu(settings: Settings, engine, http: httpx.AsyncClient) -> dict:
    """The default menu, one conditional menu per role tag, and every bound user tagged."""
    return await publish_wechat_menus(WechatApi(settings, engine, http), engine, settings)


def publish_wechat_menu(settings: Settings) -> None:
    if not (settings.wechat.enabled and settings.wechat.app_id and settings.wechat.app_secret):
        _fail("请先在 config.toml 的 [wechat] 中填写 token、app_id 和 app_secret")
    engine = make_engine(settings.database.url)

    async def run() -> dict:
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            return await publish_menu(settings, engine, http)

    try:
        done = asyncio.run(run())
    except MenuError as exc:
        _fail(f"菜单不符合微信的要求：{exc}")
    except WechatApiError as exc:
        _fail(f"微信拒绝了菜单：{exc}")
    except httpx.HTTPError as exc:
        _fail(f"无法连接微信接口：{type(exc).__name__}")
    typer.echo(
        f"菜单已发布：默认菜单（学生）和 {done['menus']} 个按身份标签的个性化菜单（学生、"
        f"指导教师、家长、企业导师、学校管理员）；已为 {done['tagged']} 位已绑定用户设置标签"
    )
    typer.echo(LOCATION_HINT if settings.server.public_url else LOCATION_HINT + NO_PAGE_HINT)


def publish_telegram_menus(settings: Settings) -> None:
    """setMyCommands: how to bind for everyone, and each bound chat's role commands."""
    if not settings.telegram.enabled:
        _fail("请先在 config.toml 的 [telegram] 中填写 token")
    engine = make_engine(settings.database.url)

    async def run() -> int:
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            return await publish_telegram_commands(http, engine, settings)

    try:
        count = asyncio.run(run())
    except (SendError, httpx.HTTPError) as exc:
        _fail(f"Telegram 拒绝了命令列表：{exc}")
    typer.echo(f"Telegram 命令已按身份设置：{count} 个已绑定的聊天")


async def register_webhook(settings: Settings, public_url: str) -> str:
    """setWebhook <public_url>/telegram/webhook with our secret token; returns the URL."""
    from bot.telegram import build_application

    url = public_url.rstrip("/") + "/telegram/webhook"
    bot = build_application(settings).bot
    await bot.set_webhook(
        url=url,
        secret_token=settings.telegram.webhook_secret,
        allowed_updates=["message", "edited_message"],
    )
    return url


def set_telegram_webhook(settings: Settings, public_url: str) -> None:
    if not settings.telegram.enabled:
        _fail("请先在 config.toml 的 [telegram] 中填写 token")
    if not settings.telegram.webhook_secret:
        _fail("请先在 config.toml 的 [telegram] 中设置 webhook_secret（任意随机字符串）")
    if not public_url.startswith("https://"):
        _fail("Telegram 只接受 https:// 开头的公网地址")
    try:
        url = asyncio.run(register_webhook(settings, public_url))
    except TelegramError as exc:
        _fail(f"Telegram 拒绝了 webhook：{exc}")
    typer.echo(f"Telegram webhook 已设置为 {url}")
