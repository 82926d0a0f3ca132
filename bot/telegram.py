"""Telegram: updates from our webhook route become Inbound events; replies go out with keyboards."""

from __future__ import annotations

import hmac
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from anyio import to_thread
from sqlalchemy.engine import Engine
from telegram import KeyboardButton, Message, ReplyKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.types import Inbound, Location, Reply
from core.settings import Settings
from models.queue import settle_pushed
from models.types import utcnow

if TYPE_CHECKING:  # adapters are handed the pipeline; they do not import what it runs
    from bot.pipeline import Pipeline

log = logging.getLogger(__name__)

# Bot commands and the intent each names; the words after the command are the text.
COMMANDS = {
    "start": "bind",  # deep link t.me/<bot>?start=<code>; a bare /start is a welcome
    "bind": "bind",
    "journal": "journal",
    "report": "report",
    "status": "status",
    "makeup": "makeup",
    "leave": "leave",
    "approve": "approve",
    "reject": "reject",
    "help": "help",
    "today": "today",
    "todo": "todo",
    "grade": "grade",
    "handle": "handle",
    "student": "student",
    "cancel": "cancel",
    "unbind": "unbind",
    "submit": "submit",
}

LOCATION_BUTTON = {"zh": "📍 发送我的位置", "en": "📍 Send my location"}


def build_application(settings: Settings) -> Application:
    """A python-telegram-bot Application fed from our route (no updater, no polling)."""
    cfg = settings.telegram
    return (
        Application.builder()
        .token(cfg.token)
        .base_url(f"{cfg.api_base_url.rstrip('/')}/bot")
        .updater(None)
        .build()
    )


def secret_ok(settings: Settings, header: str | None) -> bool:
    """Constant-time check of X-Telegram-Bot-Api-Secret-Token."""
    expected = settings.telegram.webhook_secret
    return bool(expected) and hmac.compare_digest(expected.encode(), (header or "").encode())


def reply_markup(reply: Reply, lang: str) -> ReplyKeyboardMarkup | None:
    """A one-time keyboard: the location button and/or the reply's suggested answers."""
    rows: list[list[KeyboardButton]] = []
    if reply.ask_location:
        label = LOCATION_BUTTON.get(lang, LOCATION_BUTTON["zh"])
        rows.append([KeyboardButton(label, request_location=True)])
    if reply.buttons:
        rows.append([KeyboardButton(b) for b in reply.buttons])
    if not rows:
        return None
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)


def _location(message: Message, *, edited: bool) -> Location:
    loc = message.location
    with warnings.catch_warnings():  # PTB 22.2+ warns that live_period becomes a timedelta
        warnings.simplefilter("ignore")
        period = loc.live_period
    if isinstance(period, timedelta):
        period = int(period.total_seconds())
    live = edited or bool(period)
    return Location(
        lat=loc.latitude,
        lng=loc.longitude,
        datum="wgs84",
        source="live" if live else "location",
        accuracy_m=loc.horizontal_accuracy,
        live_period=period,
    )


def to_inbound(update: Update, *, at: datetime) -> tuple[Inbound | None, bool]:
    """(Inbound, answer?) for a private message; (None, False) for anything we ignore."""
    edited = update.message is None and update.edited_message is not None
    message = update.message or update.edited_message
    if message is None or message.from_user is None or message.chat.type != "private":
        return None, False
    user = message.from_user
    base = dict(
        channel="telegram",
        user_id=str(user.id),
        at=at,
        message_id=str(message.message_id),
        language="en" if (user.language_code or "").lower().startswith("en") else "zh",
        display_name=user.full_name,
    )
    if message.location is not None:
        point = _location(message, edited=edited)
        # Live-location edits keep arriving while sharing: evidence, not a conversation.
        # A forwarded location is someone else's message: the handler refuses it.
        forwarded = message.forward_origin is not None or bool(
            (message.api_kwargs or {}).get("forward_date")
        )
        inbound = Inbound(
            **base, kind="location", location=point, intent="checkin", forwarded=forwarded
        )
        return inbound, not edited
    if edited:
        return None, False
    text = (message.text or message.caption or "").strip()
    if message.photo:
        return Inbound(**base, kind="image", media=message.photo[-1].file_id, text=text), True
    if text.startswith("/"):
        head, _, args = text.partition(" ")
        command = head[1:].split("@", 1)[0].lower()
        intent = COMMANDS.get(command, "help")
        if command == "start" and not args.strip():
            intent = "help"
        return Inbound(**base, kind="command", intent=intent, text=args.strip()), True
    return Inbound(**base, text=text), True


class TelegramWebhook:
    """Adapter for the bot; handed the pipeline, it never sees handlers.

    Updates take the one inbound path (bot/pipeline.py) in "push" mode: the update's effect,
    its dedupe mark and its replies (queued in the outbox, held back for a grace period)
    commit together before Telegram gets its 200. The replies are then sent at once, with
    their keyboards; the rows of those that went are marked sent, and the rest are left to the
    outbox sender, which retries them (also after a crash of this process).
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        pipeline: Pipeline,
        *,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.engine, self.settings, self.pipeline, self.clock = engine, settings, pipeline, clock
        self.application = build_application(settings)

    @property
    def bot(self):
        return self.application.bot

    async def handle(self, data: dict) -> Callable[[], Awaitable[None]] | None:
        """Handle one update; returns the reply sending to run after answering Telegram."""
        now = self.clock()
        update = Update.de_json(data, self.bot)
        inbound, answer = to_inbound(update, at=now)
        if inbound is None:
            return None
        key = f"update:{update.update_id}"
        handled = await self.pipeline.submit(inbound, key, mode="push" if answer else "silent")
        # A duplicate has nothing to send (its replies were queued the first time); a failure
        # recorded nothing and is only apologised for.
        if not answer or handled.status == "duplicate" or not handled.replies:
            return None

        async def send() -> None:
            await self.send_replies(inbound, handled.replies, handled.pushed)

        return send

    async def send_replies(self, inbound: Inbound, replies, pushed: tuple[int, ...]) -> None:
        """Send each reply in order; stop at the first failure and leave the rest to the outbox."""
        sent: dict[int, str] = {}
        for i, reply in enumerate(replies):
            try:
                message = await self.bot.send_message(
                    chat_id=int(inbound.user_id),
                    text=reply.text,
                    reply_markup=reply_markup(reply, inbound.language),
                )
            except TelegramError as exc:
                log.warning("telegram reply failed (%s); left to the outbox", type(exc).__name__)
                break
            if i < len(pushed):
                sent[pushed[i]] = str(message.message_id)
        unsent = [row_id for row_id in pushed if row_id not in sent]
        if pushed:
            now = self.clock()
            await to_thread.run_sync(
                partial(settle_pushed, self.engine, sent=sent, unsent=unsent, now=now)
            )
