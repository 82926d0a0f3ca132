"""POST /telegram/webhook: updates from Telegram, authenticated by the secret-token header."""

from __future__ import annotations

import json
import logging
import math

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRouter
from starlette.background import BackgroundTask

from api.routes.limits import BodyTooLarge, read_capped
from bot.telegram import TelegramWebhook, secret_ok

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


def _not_a_number(constant: str):
    raise ValueError(f"{constant} is not a number Telegram sends")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e400
        raise ValueError("number out of range")
    return number


def check_location(data: dict) -> None:
    """A location must be a coordinate on Earth: anything else is refused before handling."""
    for key in ("message", "edited_message"):
        message = data.get(key)
        location = message.get("location") if isinstance(message, dict) else None
        if not isinstance(location, dict):
            continue
        for name, limit in (("latitude", 90), ("longitude", 180)):
            value = location.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} is not a number")
            if abs(value) > limit:
                raise ValueError(f"{name} out of range")


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
        data = json.loads(body, parse_constant=_not_a_number, parse_float=_finite)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise ValueError("not an update")
        check_location(data)
    except BodyTooLarge:
        return JSONResponse({"error": "body too large"}, status_code=413)
    except ValueError:  # includes JSONDecodeError and UnicodeDecodeError
        return JSONResponse({"error": "not a Telegram update"}, status_code=400)
    adapter: TelegramWebhook = request.app.state.telegram
    try:
        later = await adapter.handle(data)
    # A malformed update object: python-telegram-bot reads fields with the types it expects.
    except (AttributeError, KeyError, OverflowError, TypeError, ValueError) as exc:
        log.info("telegram update refused: %s", type(exc).__name__)
        return JSONResponse({"error": "malformed update"}, status_code=400)
    return JSONResponse({"ok": True}, background=BackgroundTask(later) if later else None)
