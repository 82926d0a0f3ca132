"""GET/POST /wechat: URL verification and callbacks of the official account."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.background import BackgroundTask

from api.routes.limits import BodyTooLarge, read_capped
from bot.wechat import WechatRejected
from bot.wechat_webhook import WechatWebhook

log = logging.getLogger(__name__)
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


@router.post("/wechat")
async def callback(request: Request) -> Response:
    try:
        body = await read_capped(request, request.app.state.settings.server.max_body_bytes)
        answer = await _webhook(request).handle(dict(request.query_params), body)
    except BodyTooLarge:
        return PlainTextResponse("body too large", status_code=413)
    except WechatRejected as exc:
        log.info("wechat callback refused: %s", exc.reason)
        return PlainTextResponse(exc.reason, status_code=exc.status)
    media = "text/plain" if answer.body == "success" else "application/xml"
    background = BackgroundTask(answer.later) if answer.later else None
    return Response(answer.body, media_type=media, background=background)
