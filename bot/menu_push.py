"""Giving each chat user the menu of their role: WeChat user tags and conditional menus,
Telegram command lists per chat.

`shixi wechat menu` publishes the default and one conditional menu per role tag, creating the
tags if missing, and tags every bound WeChat user; `shixi telegram commands` sets each bound
Telegram chat's commands. A user who binds later is tagged (or given commands) through the
outbox: the bind handler queues a row on a pseudo-channel (bot.types.MENU_CHANNELS), sent by
the senders here, so the bind reply never waits for it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.menus import ROLE_TAGS, WECHAT_MENUS, conditional_menu, menu_problems, telegram_commands
from bot.push_http import PushHttp, post_bytes
from bot.senders import Outgoing, SendError
from bot.types import MENU_CHANNELS
from bot.wechat import menu_for
from bot.wechat_api import WechatApi, WechatApiError
from core.settings import Settings
from models import ApiCredential, ChannelAccount

BATCH = 50  # tags/members/batchtagging takes at most 50 openids
JSON = "application/json; charset=utf-8"
FOREVER = datetime(9999, 1, 1, tzinfo=UTC)


class MenuError(Exception):
    """A menu WeChat would refuse; the message lists every problem."""


def _tags_name(settings: Settings) -> str:
    return f"wechat_role_tags:{settings.wechat.app_id}"


def stored_tags(engine: Engine, settings: Settings) -> dict[str, int]:
    """Role -> WeChat tag id, as `shixi wechat menu` last published them."""
    with Session(engine) as session:
        row = session.get(ApiCredential, _tags_name(settings))
        return {k: int(v) for k, v in json.loads(row.value).items()} if row else {}


def _store_tags(engine: Engine, settings: Settings, tags: dict[str, int]) -> None:
    with Session(engine) as session:
        name = _tags_name(settings)
        row = session.get(ApiCredential, name) or ApiCredential(name=name, value="{}")
        row.value, row.expires_at = json.dumps(tags), FOREVER
        session.add(row)
        session.commit()


def _parse(text: str) -> tuple[str | None, str]:
    role, _, lang = text.partition(":")
    return (None if role == "none" else role), (lang or "zh")


def check_menus(settings: Settings) -> dict[str, dict]:
    """Every role's menu, checked; MenuError naming each problem if any would be refused.

    The students' 签到 opens the check-in page when there is a public address (SPEC 11)."""
    menus = {**WECHAT_MENUS, "student": menu_for(settings)}
    problems = [f"{role} {p}" for role, menu in menus.items() for p in menu_problems(menu)]
    if problems:
        raise MenuError("; ".join(problems))
    return menus


async def publish_wechat_menus(api: WechatApi, engine: Engine, settings: Settings) -> dict:
    """Default menu, a tag and a conditional menu per role, and every bound user tagged."""
    menus = check_menus(settings)
    existing = await api.list_tags()
    tags = {}
    for role, name in ROLE_TAGS.items():
        tags[role] = existing[name] if name in existing else await api.create_tag(name)
    _store_tags(engine, settings, tags)
    conditional = [conditional_menu(role, tags[role], menu) for role, menu in menus.items()]
    problems = [p for menu in conditional for p in menu_problems(menu, conditional=True)]
    if problems:
        raise MenuError("; ".join(problems))
    await api.delete_menus()  # conditional menus cannot be edited: publish the whole set anew
    await api.create_menu(menus["student"])
    for menu in conditional:
        await api.add_conditional_menu(menu)
    tagged = 0
    for role, openids in _bound(engine, "wechat").items():
        for i in range(0, len(openids), BATCH):
            await api.tag_users(tags[role], openids[i : i + BATCH])
        tagged += len(openids)
    return {"tags": tags, "menus": len(conditional), "tagged": tagged}


def _bound(engine: Engine, channel: str) -> dict[str, list[str]]:
    """Active accounts of a channel by role: role -> external ids."""
    with Session(engine) as session:
        rows = session.exec(
            select(ChannelAccount.person_kind, ChannelAccount.external_id)
            .where(ChannelAccount.channel == channel, ChannelAccount.active.is_(True))
            .order_by(ChannelAccount.id)
        ).all()
    out: dict[str, list[str]] = {}
    for role, external_id in rows:
        if role in ROLE_TAGS:
            out.setdefault(role, []).append(external_id)
    return out


def _languages(engine: Engine) -> dict[str, str]:
    with Session(engine) as session:
        rows = session.exec(
            select(ChannelAccount.external_id, ChannelAccount.language).where(
                ChannelAccount.channel == "telegram", ChannelAccount.active.is_(True)
            )
        ).all()
    return dict(rows)


class TelegramCommands:
    """setMyCommands / deleteMyCommands on the Bot API, per chat or for everyone."""

    def __init__(self, http: PushHttp, settings: Settings):
        cfg = settings.telegram
        self.http = http
        self.base = f"{cfg.api_base_url.rstrip('/')}/bot{cfg.token}"

    async def _call(self, method: str, payload: dict) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        status, content = await post_bytes(self.http, f"{self.base}/{method}", body, JSON)
        data = json.loads(content)
        if not data.get("ok"):
            raise SendError(f"telegram {method}: {data.get('description', status)}")

    async def set_for(self, chat_id: str | None, role: str | None, lang: str) -> None:
        scope = {"type": "chat", "chat_id": chat_id} if chat_id else {"type": "default"}
        if chat_id and role is None:
            await self._call("deleteMyCommands", {"scope": scope})
            return
        await self._call(
            "setMyCommands", {"commands": telegram_commands(role, lang), "scope": scope}
        )


async def publish_telegram_commands(http: PushHttp, engine: Engine, settings: Settings) -> int:
    """Default commands (how to bind), then each bound chat's role commands; returns chats."""
    commands = TelegramCommands(http, settings)
    await commands.set_for(None, None, "zh")
    languages = _languages(engine)
    count = 0
    for role, chats in _bound(engine, "telegram").items():
        for chat_id in chats:
            await commands.set_for(chat_id, role, languages.get(chat_id, "zh"))
            count += 1
    return count


class WechatMenuSender:
    """Sends the outbox's wechat_menu rows: tags the user with their role's tag."""

    def __init__(self, api: WechatApi, engine: Engine, settings: Settings):
        self.api, self.engine, self.settings = api, engine, settings
        self._tags: dict[str, int] = {}

    async def send(self, msg: Outgoing, *, now: datetime) -> str:
        if not self._tags:
            self._tags = stored_tags(self.engine, self.settings)
        role, _ = _parse(msg.text)
        try:
            if role is None:  # unbound: no role tag any more
                for tag_id in self._tags.values():
                    await self.api.untag_users(tag_id, [msg.to])
                return ""
            if role not in self._tags:
                raise SendError("no role tags yet: run `shixi wechat menu`", permanent=True)
            await self.api.tag_users(self._tags[role], [msg.to])
        except WechatApiError as exc:
            raise SendError(f"wechat {exc}") from None
        except httpx.HTTPError as exc:
            raise SendError(f"wechat: {type(exc).__name__}") from None
        return ""


class TelegramMenuSender:
    """Sends the outbox's telegram_menu rows: the chat's commands for its role."""

    def __init__(self, http: PushHttp, settings: Settings):
        self.commands = TelegramCommands(http, settings)

    async def send(self, msg: Outgoing, *, now: datetime) -> str:
        role, lang = _parse(msg.text)
        try:
            await self.commands.set_for(msg.to, role, lang)
        except (httpx.HTTPError, ValueError) as exc:
            raise SendError(f"telegram: {type(exc).__name__}") from None
        return ""


def menu_senders(senders: dict, settings: Settings, http: PushHttp) -> dict:
    """Add the menu senders beside the channel senders they go with."""
    wechat = senders.get("wechat")
    if wechat is not None:
        senders[MENU_CHANNELS["wechat"]] = WechatMenuSender(wechat.api, wechat.api.engine, settings)
    if "telegram" in senders:
        senders[MENU_CHANNELS["telegram"]] = TelegramMenuSender(http, settings)
    return senders
