"""POST /telegram/webhook: updates from Telegram, authenticated by the secret-token header."""

from __future__ import annotations

import json
import logging

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRouter
from starlette.background import BackgroundTask

from api.routes.limits import BodyTooLarge, read_capped
from bot.telegram import TelegramWebhook, secret_ok

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


@router.post("/telegram/webhook")
async def webhook(request: Request) -> Response:
    settings = request.app.state.settings
    header = request.headers.get("x-telegram-bot-api-secret-token")
    if not header:
        return JSONResponse({"error": "missing secret token"}, status_code=401)
    if not secret_ok(settings, header):
        return JSONResponse({"error": "wrong secret token"}, status_code=403)
    try:
        body = await read_capped(request, settings.server.max_body_bytes)
        data = json.loads(body)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise ValueError("not an update")
    except BodyTooLarge:
        return JSONResponse({"error": "body too large"}, status_code=413)
    except ValueError:  # includes JSONDecodeError and UnicodeDecodeError
        return JSONResponse({"error": "not a Telegram update"}, status_code=400)
    adapter: TelegramWebhook = request.app.state.telegram
    try:
        later = await adapter.handle(data)
    except (KeyError, TypeError, ValueError) as exc:  # a malformed update object
        log.info("telegram update refused: %s", type(exc).__name__)
        return JSONResponse({"error": "malformed update"}, status_code=400)
    return JSONResponse({"ok": True}, background=BackgroundTask(later) if later else None)
