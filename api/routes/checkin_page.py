"""GET/POST /checkin: the check-in page (SPEC 11), where the phone's own position is read.

The link comes with the reply to 签到 (handlers/checkin.py) and carries a signed token naming
the chat and the student (core/page_token.py). The page reads the position (WeChat JS-SDK
`wx.getLocation` inside WeChat, the browser's geolocation elsewhere) and posts it here; the
check-in then takes the one inbound path (bot/pipeline.py) as that chat's location, with
evidence `device`, so the same rules, receipt and records apply.
"""

from __future__ import annotations

import json
import logging
import math

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from api.console.web import TEMPLATES
from api.routes.limits import BodyTooLarge, ClientGone, read_capped
from bot.types import Inbound, Location
from bot.wechat_jsapi import JSSDK_URL, JsapiTickets
from core.evidence import flag_list
from core.geo import valid_point
from core.page_token import PageToken, TokenError, read
from models.checkins import latest_checkin
from models.inbound import senders

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

MAX_BODY = 2048
DATUMS = ("gcj02", "wgs84")  # what wx.getLocation and navigator.geolocation give
EXPIRED = "签到链接已过期（有效期 {minutes} 分钟）。请回到聊天窗口重新发送「签到」获取新链接。"
INVALID = "签到链接无效。请回到聊天窗口发送「签到」获取新链接。"
NOT_BOUND = "这个链接对应的账号已解绑或已更换，请回到聊天窗口重新发送「签到」。"
BAD_BODY = "提交的数据无法识别，请刷新页面重试。"
BAD_POINT = "没有读到有效的定位，请确认手机已开启定位（GPS）后重试。"
BUSY = "系统繁忙，请稍后再试。"


def _csp(in_wechat: bool) -> str:
    scripts = "'self' https://res.wx.qq.com" if in_wechat else "'self'"
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )


def _token(request: Request, raw) -> PageToken:
    key = request.app.state.pipeline.page_key
    if not key:
        raise TokenError("invalid")
    return read(key, raw, now=request.app.state.clock())


def _refusal(request: Request, exc: TokenError) -> tuple[int, str]:
    if exc.reason == "expired":
        minutes = request.app.state.settings.checkin.page_ttl_min
        return 410, EXPIRED.format(minutes=minutes)
    return 403, INVALID


def _page_url(request: Request) -> str:
    """The page's address as the phone sees it (what wx.config is signed for)."""
    base = request.app.state.settings.server.public_url.rstrip("/")
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{base}{request.url.path}{query}" if base else str(request.url)


@router.get("/checkin")
async def checkin_page(request: Request, t: str = "") -> HTMLResponse:
    settings = request.app.state.settings
    in_wechat = "micromessenger" in request.headers.get("user-agent", "").lower()
    page = {"token": t, "error": "", "wx": None}
    status = 200
    try:
        _token(request, t)
    except TokenError as exc:
        status, page["error"] = _refusal(request, exc)
    if not page["error"] and in_wechat and settings.wechat.app_id and settings.wechat.app_secret:
        try:
            tickets = JsapiTickets(settings, request.app.state.engine)
            page["wx"] = await tickets.config(_page_url(request))
        except Exception:  # the browser's geolocation still works inside WeChat
            log.warning(
                "jsapi_ticket unavailable; the page falls back to geolocation", exc_info=True
            )
    response = TEMPLATES.TemplateResponse(
        request,
        "checkin_page.html",
        {"page": json.dumps(page, ensure_ascii=False), "error": page["error"],
         "jssdk": JSSDK_URL if page["wx"] else ""},
        status_code=status,
    )  # fmt: skip
    response.headers["content-security-policy"] = _csp(bool(page["wx"]))
    response.headers["cache-control"] = "no-store"
    return response


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message}, status_code=status)


@router.post("/checkin")
async def checkin_post(request: Request) -> JSONResponse:
    try:
        data = json.loads(await read_capped(request, MAX_BODY))
    except BodyTooLarge:
        return _error(413, BAD_BODY)
    except (ClientGone, ValueError):
        return _error(400, BAD_BODY)
    if not isinstance(data, dict):
        return _error(400, BAD_BODY)
    try:
        token = _token(request, data.get("t"))
    except TokenError as exc:
        return _error(*_refusal(request, exc))
    lat, lng = _number(data.get("lat")), _number(data.get("lng"))
    accuracy = _number(data.get("accuracy")) if data.get("accuracy") is not None else None
    datum = data.get("coord_system")
    if lat is None or lng is None or datum not in DATUMS or not valid_point(lat, lng):
        return _error(400, BAD_POINT)
    if accuracy is not None and accuracy < 0:
        accuracy = None
    engine = request.app.state.engine
    if not await to_thread.run_sync(_still_bound, engine, token):
        return _error(403, NOT_BOUND)
    inbound = Inbound(
        channel=token.channel,
        user_id=token.user_id,
        at=request.app.state.clock(),
        kind="location",
        intent="checkin",
        location=Location(lat, lng, datum, source="device", accuracy_m=accuracy),
    )
    handled = await request.app.state.pipeline.submit(inbound, mode="return")
    if handled.status != "done":
        return _error(503, BUSY)
    row = await to_thread.run_sync(_recorded, engine, token.student_id, inbound)
    return JSONResponse({"ok": True, "message": handled.answer, "checkin": row})


def _recorded(engine, student_id: int, inbound: Inbound) -> dict | None:
    """The check-in this post recorded (None: a repeat, or nothing was due)."""
    with engine.connect() as conn:
        row = latest_checkin(conn, student_id=student_id)
    if row is None or row.at != inbound.at:
        return None
    return {
        "kind": row.kind,
        "evidence": row.evidence,
        "flags": flag_list(row.flags),
        "within_fence": row.within_fence,
        "distance_m": row.distance_m,
    }


def _still_bound(engine, token: PageToken) -> bool:
    """The chat is still bound to the student the link was issued to."""
    with engine.connect() as conn:
        found = senders(conn, channel=token.channel, external_ids=[token.user_id])
    account = found.get(token.user_id)
    return (
        account is not None
        and account.person_kind == "student"
        and account.person_id == token.student_id
    )
