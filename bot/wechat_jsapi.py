"""WeChat JS-SDK for the check-in page: the jsapi_ticket, cached for every process, and the
`wx.config` signature.

The ticket comes from /cgi-bin/ticket/getticket with the access token (bot/wechat_api.py) and
lives 7,200 s; WeChat limits how often it may be fetched, so it is kept in api_credentials like
the access token and refreshed only shortly before it expires.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
from anyio import to_thread
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.wechat_api import REFRESH_MARGIN, TOKEN_ERRORS, WechatApi, WechatApiError
from core.settings import Settings
from models import ApiCredential
from models.types import utcnow

# The JS-SDK, loaded only inside WeChat (the page's one external script).
JSSDK_URL = "https://res.wx.qq.com/open/js/jweixin-1.6.0.js"


def jsapi_signature(*, ticket: str, noncestr: str, timestamp: int | str, url: str) -> str:
    """sha1 of the four fields in the order WeChat's JS-SDK appendix 1 gives (raw values)."""
    text = f"jsapi_ticket={ticket}&noncestr={noncestr}&timestamp={timestamp}&url={url}"
    return hashlib.sha1(text.encode()).hexdigest()


def _load(engine: Engine, name: str) -> ApiCredential | None:
    with Session(engine, expire_on_commit=False) as session:
        return session.get(ApiCredential, name)


def _store(engine: Engine, name: str, value: str, expires_at: datetime, now: datetime) -> None:
    values = dict(name=name, value=value, expires_at=expires_at, updated_at=now)
    with Session(engine) as session:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(ApiCredential.__table__).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"], set_={k: v for k, v in values.items() if k != "name"}
        )
        session.execute(stmt)
        session.commit()


class JsapiTickets:
    """The account's jsapi_ticket, shared through the database like the access token."""

    def __init__(
        self, settings: Settings, engine: Engine, *, clock: Callable[[], datetime] = utcnow
    ):
        self.settings, self.engine, self.clock = settings, engine, clock
        self.name = f"wechat_jsapi_ticket:{settings.wechat.app_id}"

    async def ticket(self) -> str:
        row = await to_thread.run_sync(_load, self.engine, self.name)
        if row is not None and row.expires_at - REFRESH_MARGIN > self.clock():
            return row.value
        async with httpx.AsyncClient(timeout=10) as http:
            api = WechatApi(self.settings, self.engine, http, clock=self.clock)
            token = await api.access_token()
            try:
                data = await self._get(http, api.base, token)
            except WechatApiError as exc:
                if exc.errcode not in TOKEN_ERRORS:
                    raise
                data = await self._get(http, api.base, await api.access_token(rejected=token))
        now = self.clock()
        expires_at = now + timedelta(seconds=int(data.get("expires_in", 7200)))
        await to_thread.run_sync(_store, self.engine, self.name, data["ticket"], expires_at, now)
        return data["ticket"]

    @staticmethod
    async def _get(http: httpx.AsyncClient, base: str, token: str) -> dict:
        url = f"{base}/cgi-bin/ticket/getticket"
        response = await http.get(url, params={"access_token": token, "type": "jsapi"})
        response.raise_for_status()
        data = response.json()
        code = int(data.get("errcode") or 0)
        if code:
            raise WechatApiError(code, str(data.get("errmsg", "")))
        return data

    async def config(self, url: str) -> dict:
        """The `wx.config` parameters for the page at `url` (without its #fragment)."""
        ticket = await self.ticket()
        nonce = secrets.token_urlsafe(12)
        timestamp = int(self.clock().timestamp())
        url = url.split("#", 1)[0]
        return {
            "appId": self.settings.wechat.app_id,
            "timestamp": timestamp,
            "nonceStr": nonce,
            "signature": jsapi_signature(
                ticket=ticket, noncestr=nonce, timestamp=timestamp, url=url
            ),
            "jsApiList": ["getLocation"],
        }
