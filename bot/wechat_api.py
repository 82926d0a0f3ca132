"""A small async client for the WeChat API: stable_token shared in the database, messages, menu.

wechatpy's client is synchronous, retries without limit and knows no stable_token, so the few
calls we need are made here, on the push client (bot/push_http.py) or any httpx client.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlencode

import httpx
from anyio import to_thread
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.push_http import PushHttp, post_bytes
from core.settings import Settings
from models import ApiCredential
from models.types import utcnow

JSON_UTF8 = "application/json; charset=utf-8"
TOKEN_ERRORS = {40001, 40014, 42001}  # invalid / expired access token
OUT_OF_WINDOW = {45015, 45047}  # the user has not written for 48 h / too many replies
QUOTA = 45009  # daily API quota used up
BUSY = -1  # "system busy, try again later"
# Refresh this long before expiry, so a token is never used in its last minutes.
REFRESH_MARGIN = timedelta(minutes=5)
QR_MAX_SECONDS = 30 * 24 * 3600  # a temporary QR code lives at most 30 days


class WechatApiError(Exception):
    """An errcode from WeChat; the message is WeChat's errmsg (it carries no secrets)."""

    def __init__(self, errcode: int, errmsg: str = ""):
        super().__init__(f"errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


def _answer(data: dict) -> dict:
    """WeChat's JSON answer, or WechatApiError when it carries a non-zero errcode."""
    code = int(data.get("errcode") or 0)
    if code:
        raise WechatApiError(code, str(data.get("errmsg", "")))
    return data


class WechatApi:
    """access_token from /cgi-bin/stable_token, cached in api_credentials for every process."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        http: PushHttp,
        *,
        clock: Callable[[], datetime] = utcnow,
    ):
        cfg = settings.wechat
        self.base = cfg.api_base_url.rstrip("/")
        self.app_id, self.app_secret = cfg.app_id, cfg.app_secret
        self.engine, self.http, self.clock = engine, http, clock
        self.name = f"wechat_access_token:{cfg.app_id}"
        self._lock = asyncio.Lock()
        # The token in memory; the database row stays the source shared by every process.
        self._token: str | None = None
        self._expires_at: datetime | None = None

    # --- the token --------------------------------------------------------------------------

    def _load(self) -> ApiCredential | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(ApiCredential, self.name)

    def _store(self, token: str, expires_at: datetime) -> None:
        values = dict(name=self.name, value=token, expires_at=expires_at, updated_at=self.clock())
        with Session(self.engine) as session:
            dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
            stmt = dialect.insert(ApiCredential.__table__).values(values)
            stmt = stmt.on_conflict_do_update(
                index_elements=["name"],
                set_={k: v for k, v in values.items() if k != "name"},
            )
            session.execute(stmt)
            session.commit()

    def _usable(self, token: str | None, expires_at: datetime | None, rejected: str | None):
        return (
            token is not None
            and token != rejected
            and expires_at is not None
            and expires_at - REFRESH_MARGIN > self.clock()
        )

    async def access_token(self, *, rejected: str | None = None) -> str:
        """A valid token; `rejected` is one WeChat just refused, which forces a refresh."""
        if self._usable(self._token, self._expires_at, rejected):
            return self._token
        async with self._lock:
            if self._usable(self._token, self._expires_at, rejected):
                return self._token  # refreshed while this call waited for the lock
            row = await to_thread.run_sync(self._load)
            if row is not None and self._usable(row.value, row.expires_at, rejected):
                self._token, self._expires_at = row.value, row.expires_at
                return row.value  # another process may already have refreshed it
            # Normal mode returns the current token to every caller, so processes refreshing
            # at once agree; force_refresh only when WeChat rejected the one we hold.
            data = await self._post_json(
                "/cgi-bin/stable_token",
                {
                    "grant_type": "client_credential",
                    "appid": self.app_id,
                    "secret": self.app_secret,
                    "force_refresh": rejected is not None,
                },
            )
            token = data["access_token"]
            expires_at = self.clock() + timedelta(seconds=int(data.get("expires_in", 7200)))
            await to_thread.run_sync(self._store, token, expires_at)
            self._token, self._expires_at = token, expires_at
            return token

    # --- calls -----------------------------------------------------------------------------

    async def _post_json(self, path: str, payload: dict, params: dict | None = None) -> dict:
        url = f"{self.base}{path}" + (f"?{urlencode(params)}" if params else "")
        # WeChat shows \uXXXX escapes literally in menus and messages: send real UTF-8.
        body = json.dumps(payload, ensure_ascii=False).encode()
        status, content = await post_bytes(self.http, url, body, JSON_UTF8)
        if not 200 <= status < 300:
            request = httpx.Request("POST", url)
            response = httpx.Response(status, request=request)
            raise httpx.HTTPStatusError(f"HTTP {status}", request=request, response=response)
        return _answer(json.loads(content))

    async def _get_json(self, path: str, payload: None, params: dict) -> dict:
        """GET (the few read calls; an httpx client, as the command line uses)."""
        response = await self.http.get(f"{self.base}{path}?{urlencode(params)}")
        response.raise_for_status()
        return _answer(response.json())

    async def call(self, path: str, payload: dict | None, *, method: str = "POST") -> dict:
        """Call with the access token; a rejected token is refreshed once and the call retried."""
        send = self._post_json if method == "POST" else self._get_json
        token = await self.access_token()
        try:
            return await send(path, payload, {"access_token": token})
        except WechatApiError as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
        token = await self.access_token(rejected=token)
        return await send(path, payload, {"access_token": token})

    async def send_text(self, openid: str, text: str) -> dict:
        """A customer-service message; only within 48 h of the user's last message."""
        payload = {"touser": openid, "msgtype": "text", "text": {"content": text}}
        return await self.call("/cgi-bin/message/custom/send", payload)

    async def send_template(self, openid: str, template_id: str, data: dict, url: str = "") -> str:
        """A template message (allowed outside the window); returns WeChat's msgid."""
        payload = {"touser": openid, "template_id": template_id, "data": data}
        if url:
            payload["url"] = url
        result = await self.call("/cgi-bin/message/template/send", payload)
        return str(result.get("msgid", ""))

    async def private_templates(self) -> list[dict]:
        """The account's templates: template_id, title, content ("{{thing1.DATA}}"...), example."""
        data = await self.call("/cgi-bin/template/get_all_private_template", None, method="GET")
        return list(data.get("template_list") or [])

    async def create_qrcode(self, scene: str, *, expire_seconds: int) -> dict:
        """A temporary parametric QR code; scanning it to follow sends EventKey qrscene_<scene>.

        Returns WeChat's {ticket, expire_seconds, url}: `url` is what the QR code encodes.
        """
        payload = {
            "expire_seconds": max(60, min(expire_seconds, QR_MAX_SECONDS)),
            "action_name": "QR_STR_SCENE",
            "action_info": {"scene": {"scene_str": scene}},
        }
        return await self.call("/cgi-bin/qrcode/create", payload)

    async def create_menu(self, menu: dict) -> None:
        await self.call("/cgi-bin/menu/create", menu)

    # --- user tags and conditional menus (bot/menu_push.py) ---------------------------------

    async def get(self, path: str) -> dict:
        """GET with the access token (tags/get, menu/delete); needs an httpx client (the CLI)."""
        token = await self.access_token()
        response = await self.http.get(f"{self.base}{path}", params={"access_token": token})
        response.raise_for_status()
        data = response.json()
        code = int(data.get("errcode") or 0)
        if code:
            raise WechatApiError(code, str(data.get("errmsg", "")))
        return data

    async def list_tags(self) -> dict[str, int]:
        """The account's user tags: name -> id."""
        data = await self.get("/cgi-bin/tags/get")
        return {t["name"]: int(t["id"]) for t in data.get("tags", [])}

    async def create_tag(self, name: str) -> int:
        data = await self.call("/cgi-bin/tags/create", {"tag": {"name": name}})
        return int(data["tag"]["id"])

    async def tag_users(self, tag_id: int, openids: list[str]) -> None:
        """Tag at most 50 users at once (tags/members/batchtagging)."""
        payload = {"openid_list": openids, "tagid": tag_id}
        await self.call("/cgi-bin/tags/members/batchtagging", payload)

    async def untag_users(self, tag_id: int, openids: list[str]) -> None:
        payload = {"openid_list": openids, "tagid": tag_id}
        await self.call("/cgi-bin/tags/members/batchuntagging", payload)

    async def delete_menus(self) -> None:
        """Delete the default menu and every conditional one (menu/delete)."""
        await self.get("/cgi-bin/menu/delete")

    async def add_conditional_menu(self, menu: dict) -> str:
        """A menu shown to users matching `menu["matchrule"]`; returns its menuid."""
        return str((await self.call("/cgi-bin/menu/addconditional", menu)).get("menuid", ""))
