"""Delivering one outbox message on one channel: WeChat, Telegram or the terminal."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Protocol
from urllib.parse import urlencode

import httpx
from anyio import to_thread
from sqlalchemy.engine import Engine

from bot.push_http import PushHttp, post_bytes
from bot.wechat_api import BUSY, OUT_OF_WINDOW, QUOTA, WechatApi, WechatApiError
from bot.wechat_templates import field_values, fill, template_kind
from core.message_links import link_key, message_url
from core.settings import Settings

FORM = "application/x-www-form-urlencoded"
# WeChat lets an account send free-form messages only this long after the user last wrote.
SERVICE_WINDOW = timedelta(hours=48)
# WeChat errors that retrying cannot fix: user unsubscribed, bad openid, template not found,
# template data refused (a field too long or of the wrong type).
WECHAT_PERMANENT = {40003, 40037, 43004, 43019, 47003}


@dataclass(frozen=True)
class Outgoing:
    """What a sender needs to know about one outbox row."""

    id: int
    channel: str
    to: str
    text: str
    kind: str = "notice"
    last_inbound_at: datetime | None = None
    params: dict = field(default_factory=dict)  # student, date, summary... (template fields)


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
    """sendMessage posted straight to the Bot API on the shared client (no Bot object per send).

    python-telegram-bot builds a full Message object for every reply; the outbox needs only the
    message id, and the lighter path roughly doubles what one process can send.
    """

    def __init__(self, http: PushHttp, settings: Settings):
        cfg = settings.telegram
        self.http = http
        self.url = f"{cfg.api_base_url.rstrip('/')}/bot{cfg.token}/sendMessage"

    async def send(self, msg: Outgoing, *, now: datetime) -> str:
        # A form, as python-telegram-bot posts it; the Bot API takes either.
        body = urlencode({"chat_id": msg.to, "text": msg.text}).encode()
        try:
            status, content = await post_bytes(self.http, self.url, body, FORM)
            data = json.loads(content)
        except (httpx.HTTPError, ValueError) as exc:  # network errors, timeouts, non-JSON 5xx
            raise SendError(f"telegram: {type(exc).__name__}") from None
        if data.get("ok"):
            return str(data["result"]["message_id"])
        code = int(data.get("error_code") or status)
        description = str(data.get("description", ""))
        if code == 429:
            wait = float((data.get("parameters") or {}).get("retry_after", 1))
            raise SendError("telegram flood control", retry_at=now + timedelta(seconds=wait))
        if code == 403:
            raise SendError("telegram: the user blocked the bot", permanent=True)
        if code == 400:
            raise SendError(f"telegram bad request: {description}", permanent=True)
        raise SendError(f"telegram: error {code}")


class WechatSender:
    """Customer-service message inside the 48-hour window, a template message outside it.

    The template is the push's kind's (bot/wechat_templates.py), else `notice`; its fields are
    the push's params cut to 20 characters, and its link opens the full text (GET /m/<token>).
    """

    def __init__(self, api: WechatApi, settings: Settings):
        self.api = api
        self.settings = settings
        self.templates = settings.wechat.templates
        self.tz = settings.tz
        self._link_key: str | None = None

    async def _url(self, msg: Outgoing, now: datetime) -> str:
        if not self.settings.server.public_url:
            return ""
        if self._link_key is None:  # once per sender: maybe a read of the generated key
            self._link_key = await to_thread.run_sync(link_key, self.settings, self.api.engine)
        return message_url(self.settings, self._link_key, msg.id, now)

    async def _template(self, msg: Outgoing, now: datetime) -> str:
        kind = template_kind(msg.kind)
        template = self.templates.for_kind(kind)
        if template is None:
            raise SendError(
                f"outside the 48-hour window and no wechat template configured for {kind} "
                "(nor notice)"
            )
        values = field_values(msg.params, msg.text, now.astimezone(self.tz))
        url = await self._url(msg, now)
        return await self.api.send_template(msg.to, template.id, fill(template, values), url)

    async def send(self, msg: Outgoing, *, now: datetime) -> str:
        try:
            if msg.last_inbound_at and now - msg.last_inbound_at < SERVICE_WINDOW:
                try:
                    await self.api.send_text(msg.to, msg.text)
                    return ""
                except WechatApiError as exc:
                    if exc.errcode not in OUT_OF_WINDOW:
                        raise
            return await self._template(msg, now)
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
    http_client: PushHttp,
    *,
    engine: Engine | None = None,
    console: ConsoleSender | None = None,
) -> dict[str, Sender]:
    """One sender per configured channel (the console always)."""
    senders: dict[str, Sender] = {"console": console or ConsoleSender()}
    if settings.telegram.enabled:
        senders["telegram"] = TelegramSender(http_client, settings)
    if settings.wechat.enabled:
        if engine is None:
            from models.db import make_engine

            engine = make_engine(settings.database.url)
        senders["wechat"] = WechatSender(WechatApi(settings, engine, http_client), settings)
    return senders
