"""GET /wechat: URL verification of the official account (callbacks: api.wechat_lane)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from bot.wechat import WechatRejected
from bot.wechat_webhook import WechatWebhook

router = APIRouter(include_in_schema=False)


def _webhook(request: Request) -> WechatWebhook:
    return request.app.state.wechat


@router.get("/wechat")
def verify(request: Request) -> Response:
    try:
        echo = _webhook(request).verify(dict(request.query_params))
    except WechatRejected as exc:
        return PlainTextResponse(exc.reason, status_code=exc.status)
    return PlainTextResponse(echo)
