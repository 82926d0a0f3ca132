"""WeChat parametric QR codes for invite sheets: scan to follow the account and bind at once.

Each code gets a temporary QR code from WeChat's qrcode/create (scene = the binding code, so
following sends EventKey qrscene_<code>), kept in api_credentials until it expires so a sheet
printed twice asks WeChat once. The picture is drawn here as SVG: the browser loads nothing
from WeChat.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import httpx
import segno
from anyio import to_thread
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from bot.wechat_api import QR_MAX_SECONDS, WechatApi, WechatApiError
from models import ApiCredential

log = logging.getLogger("shixi.console.invites")
PREFIX = "wechat_qr:"
QR_FAILED = "微信二维码暂时无法生成（{reason}），学生仍可关注公众号后发送“绑定 邀请码”。"


def _stored(engine, codes: list[str], now: datetime) -> dict[str, str]:
    with Session(engine) as session:
        rows = session.execute(
            select(ApiCredential.name, ApiCredential.value).where(
                ApiCredential.name.in_([PREFIX + c for c in codes]),
                ApiCredential.expires_at > now + timedelta(hours=1),
            )
        ).all()
    return {name.removeprefix(PREFIX): value for name, value in rows}


def _store(engine, found: dict[str, tuple[str, datetime]], now: datetime) -> None:
    with Session(engine) as session:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        for code, (url, expires_at) in found.items():
            values = dict(name=PREFIX + code, value=url, expires_at=expires_at, updated_at=now)
            stmt = dialect.insert(ApiCredential.__table__).values(values)
            stmt = stmt.on_conflict_do_update(
                index_elements=["name"], set_={k: v for k, v in values.items() if k != "name"}
            )
            session.execute(stmt)
        session.commit()


def svg(url: str) -> str:
    """The QR code of `url` as inline SVG (scales with its box)."""
    return segno.make(url, error="m").svg_inline(scale=4, border=2, omitsize=True)


async def qr_codes(
    settings, engine, codes: list[tuple[str, datetime]], now: datetime
) -> tuple[dict[str, str], str]:
    """{code: inline SVG} for the codes, and an error line when WeChat could not make some."""
    if not (settings.wechat.enabled and settings.wechat.app_id and settings.wechat.app_secret):
        return {}, ""
    known = await to_thread.run_sync(_stored, engine, [c for c, _ in codes], now)
    found: dict[str, tuple[str, datetime]] = {}
    error = ""
    missing = [(c, exp) for c, exp in codes if c not in known]
    if missing:
        async with httpx.AsyncClient(timeout=10) as http:
            api = WechatApi(settings, engine, http)
            for code, expires_at in missing:
                seconds = min(int((expires_at - now).total_seconds()), QR_MAX_SECONDS)
                try:
                    data = await api.create_qrcode(code, expire_seconds=seconds)
                except (WechatApiError, httpx.HTTPError, KeyError) as exc:
                    log.warning("qrcode/create failed: %s", exc)
                    error = QR_FAILED.format(reason=str(exc)[:80])
                    break
                lifetime = timedelta(seconds=int(data.get("expire_seconds", seconds)))
                found[code] = (data["url"], now + lifetime)
        if found:
            await to_thread.run_sync(_store, engine, found, now)
    urls = known | {code: url for code, (url, _) in found.items()}
    return {code: svg(url) for code, url in urls.items()}, error
