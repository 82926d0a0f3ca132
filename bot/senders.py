"""Delivering one outbox message on one channel: WeChat, Telegram or the terminal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Protocol

import httpx
import telegram
from sqlalchemy.engine import Engine
from telegram import error as tg_error

from bot.wechat_api import BUSY, OUT_OF_WINDOW, QUOTA, WechatApi, WechatApiError
from core.settings import Settings

# WeChat lets an account send free-form messages only this long after the user last wrote.
SERVICE_WINDOW = timedelta(hours=48)
# WeChat errors that retrying cannot fix: user unsubscribed, bad openid, template not found.
WECHAT_PERMANENT = {40003, 40037, 43004, 43019}


@dataclass(frozen=True)
class Outgoing:
    """What a sender needs to know about one outbox row."""

    id: int
    channel: str
    to: str
    text: str
    kind: str = "notice"
    last_inbound_at: datetime | None = None


class SendError(Exception):
    """A failed delivery; `permanent` gives up at once, `retry_at` overrides the backoff."""

    def __init__(self, message: str, *, permanent: bool = False, retry_at: datetime | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.retry_at = retry_at


class Sender(Protocol):
    async def send(self, msg: Outgoing, *, now: datetime) -> str:
        """Deliver; return the platform's message id ('' if none) or raise."""


class ConsoleSender:
    """Prints pushed messages (shixi chat, tick) and keeps them for tests to read."""

    def __init__(self, *, echo: bool = False):
        self.sent: list[Outgoing] = []
        self.echo = echo

    async def send(self, msg: Outgoing, *, now: datetime) -> str:
        self.sent.append(msg)
        if self.echo:
            print(f"[推送 → {msg.to}] {msg.text}")
        return f"console-{msg.id}"


class TelegramSender:
    def __init__(self, bot: telegram.Bot):
        self.bot = bot

    async def send(self, msg: Outgoing, *, now: datetime) -> str:
        try:
            sent = await self.bot.send_message(chat_id=int(msg.to), text=msg.text)
        except tg_error.RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            retry = now + timedelta(seconds=seconds)
            raise SendError("telegram flood control", retry_at=retry) from None
        except tg_error.Forbidden:
            raise SendError("telegram: the user blocked the bot", permanent=True) from None
        except tg_error.BadRequest as exc:
            raise SendError(f"telegram bad request: {exc.message}", permanent=True) from None
        except tg_error.TelegramError as exc:  # network errors, timeouts, 5xx
            raise SendError(f"telegram: {type(exc).__name__}") from None
        return str(sent.message_id)


class WechatSender:
    """Customer-service message inside the 48-hour window, a template message outside it."""

    def __init__(self, api: WechatApi, settings: Settings):
        self.api = api
        self.templates = settings.wechat.templates
        self.tz = settings.tz

    def _template_id(self, kind: str) -> str:
        if kind.startswith("nudge"):
            return self.templates.nudge or self.templates.notice
        if "alert" in kind:
            return self.templates.alert or self.templates.notice
        return self.templates.notice

    async def _template(self, msg: Outgoing) -> str:
        template_id = self._template_id(msg.kind)
        if not template_id:
            raise SendError("outside the 48-hour window and no wechat template configured")
        # Templates must have a {{content.DATA}} field; the whole text goes there.
        return await self.api.send_template(msg.to, template_id, {"content": {"value": msg.text}})

    async def send(self, msg: Outgoing, *, now: datetime) -> str:
        try:
            if msg.last_inbound_at and now - msg.last_inbound_at < SERVICE_WINDOW:
                try:
                    await self.api.send_text(msg.to, msg.text)
                    return ""
                except WechatApiError as exc:
                    if exc.errcode not in OUT_OF_WINDOW:
                        raise
            return await self._template(msg)
        except WechatApiError as exc:
            if exc.errcode == QUOTA:  # the daily quota resets at midnight
                tomorrow = now.astimezone(self.tz).date() + timedelta(days=1)
                retry = datetime.combine(tomorrow, time(0, 5), self.tz)
                raise SendError(str(exc), retry_at=retry) from None
            permanent = exc.errcode in WECHAT_PERMANENT
            raise SendError(f"wechat {exc}", permanent=permanent and exc.errcode != BUSY) from None
        except httpx.HTTPStatusError as exc:
            raise SendError(f"wechat HTTP {exc.response.status_code}") from None
        except httpx.HTTPError as exc:
            raise SendError(f"wechat: {type(exc).__name__}") from None


def build_senders(
    settings: Settings,
    http_client: httpx.AsyncClient,
    *,
    engine: Engine | None = None,
    console: ConsoleSender | None = None,
) -> dict[str, Sender]:
    """One sender per configured channel (the console always)."""
    senders: dict[str, Sender] = {"console": console or ConsoleSender()}
    if settings.telegram.enabled:
        from bot.telegram import build_application

        senders["telegram"] = TelegramSender(build_application(settings).bot)
    if settings.wechat.enabled:
        if engine is None:
            from models.db import make_engine

            engine = make_engine(settings.database.url)
        senders["wechat"] = WechatSender(WechatApi(settings, engine, http_client), settings)
    return senders
