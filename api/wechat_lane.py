"""POST /wechat as plain ASGI, in front of FastAPI.

WeChat callbacks are the hottest requests the app serves (a morning of check-ins, a Sunday
evening of journals): FastAPI's middleware, routing and request objects cost more CPU than
opening, handling and sealing a message. ShixiApp answers every callback, whatever its kind,
straight from the ASGI scope, with the same body cap (413) and the same statuses and texts for
refused callbacks. Everything else, including GET /wechat (URL verification) and lifespan, goes
to FastAPI unchanged; uvicorn's proxy-headers middleware wraps the whole app, so it still
applies. FastAPI's telemetry does not see these callbacks.
"""

from __future__ import annotations

import gc
import logging
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from api.routes.limits import BodyTooLarge, ClientGone, receive_capped
from bot.wechat import WechatRejected

if TYPE_CHECKING:
    from bot.wechat_webhook import WechatWebhook

log = logging.getLogger(__name__)

TEXT = b"text/plain; charset=utf-8"
XML = b"application/xml"


def _is_callback(scope: Scope) -> bool:
    return scope["type"] == "http" and scope["path"] == "/wechat" and scope["method"] == "POST"


def _query(raw: bytes) -> dict[str, str]:
    """The query parameters as Starlette reads them (latin-1, blanks kept, the last one wins).

    WeChat's parameters (hex signatures, digits, ids) need no unquoting: then splitting gives
    parse_qsl's answer at a fraction of its cost.
    """
    text = raw.decode("latin-1")
    if "%" in text or "+" in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    params = {}
    for piece in text.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            params[name] = value
    return params


async def _respond(send: Send, status: int, body: bytes, media: bytes) -> None:
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", media)]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def wechat_callback(
    webhook: WechatWebhook, limit: int, scope: Scope, receive: Receive, send: Send
) -> None:
    """One callback: 413, the refusal's 4xx, or the reply once the message is durable."""
    try:
        body = await receive_capped(scope, receive, limit)
    except BodyTooLarge:
        await _respond(send, 413, b"body too large", TEXT)
        return
    except ClientGone:  # nobody is left to answer
        return
    params = _query(scope["query_string"])
    try:
        answer = await webhook.handle(params, body)
    except WechatRejected as exc:
        log.info("wechat callback refused: %s", exc.reason)
        await _respond(send, exc.status, exc.reason.encode(), TEXT)
        return
    except Exception:
        # Starlette's ServerErrorMiddleware would answer the same, then let the server log it.
        await _respond(send, 500, b"Internal Server Error", TEXT)
        raise
    await _respond(send, 200, answer.encode(), TEXT if answer == "success" else XML)


def _freezing_after_startup(send: Send) -> Send:
    """`send` for the lifespan scope: the heap is frozen from start-up to shut-down.

    What exists once start-up is complete (modules, the app, settings, caches) lives as long
    as the app; left to the cyclic collector, every full collection walks it all again (0.1 to
    0.25 s with the event loop stopped on a busy 2-core machine, which lands in the callbacks'
    p99). Shut-down unfreezes it, for a process that starts apps one after another (tests).
    """

    async def sending(message) -> None:
        if message["type"] == "lifespan.startup.complete":
            gc.collect()
            gc.freeze()
        elif message["type"] == "lifespan.shutdown.complete":
            gc.unfreeze()
        await send(message)

    return sending


class ShixiApp(FastAPI):
    """FastAPI with WeChat's callbacks taken in front of it (see the module docstring)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _is_callback(scope):
            webhook = getattr(self.state, "wechat", None)  # None: WeChat is off, FastAPI 404s
            if webhook is not None:
                limit = self.state.settings.server.max_body_bytes
                await wechat_callback(webhook, limit, scope, receive, send)
                return
        if scope["type"] == "lifespan":
            send = _freezing_after_startup(send)
        await super().__call__(scope, receive, send)
