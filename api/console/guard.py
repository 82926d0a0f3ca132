"""The console's gate for request bodies: size and session checked before a byte is read.

FastAPI parses a form before it runs an endpoint's dependencies (sign-in, CSRF), and Starlette
spools a multipart upload to disk whole: without this gate anyone could make the server read a
body of any size, the sign-in form included. Here a POST under /admin must declare its length
(411), within the limit of its path (413); every POST but sign-in needs a signed-in session
(303 to the sign-in page), and sign-in needs the CSRF token its page set (403). The body is
then counted as it is read, so it can never exceed what was declared.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.console.roster import MAX_UPLOAD_BYTES
from api.console.web import COOKIE, CSRF_REFUSED, load_session

LOGIN = "/admin/login"
# Paths that take a file, and their limit: the file plus the form's other fields.
UPLOAD_LIMITS = {"/admin/roster": MAX_UPLOAD_BYTES + 64 * 1024}
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
LENGTH_REQUIRED = "请求缺少 Content-Length。"
TOO_LARGE = "提交的内容太大，已拒绝。"


class BodyOverLimit(Exception):
    """The client sent more than it declared (the server normally stops that first)."""


async def _answer(send: Send, status: int, text: str, headers: list | None = None) -> None:
    body = text.encode()
    head = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *(headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


class ConsoleBodyGate:
    """ASGI middleware: refuses oversized or unauthenticated console POSTs before reading them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in SAFE_METHODS
            or not scope["path"].startswith("/admin")
        ):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        settings = scope["app"].state.settings
        limit = UPLOAD_LIMITS.get(path, settings.console.max_form_bytes)
        declared = _header(scope, b"content-length")
        if declared is None or not declared.isascii() or not declared.isdigit():
            await _answer(send, 411, LENGTH_REQUIRED)
            return
        if int(declared) > limit:
            await _answer(send, 413, TOO_LARGE, [(b"connection", b"close")])
            return
        session = load_session(
            scope["app"], cookie_parser(_header(scope, b"cookie") or "").get(COOKIE, "")
        )
        if path != LOGIN and not session.get("u"):
            target = quote(path)
            await _answer(send, 303, "请先登录", [(b"location", f"{LOGIN}?next={target}".encode())])
            return
        if not session.get("c"):
            await _answer(send, 403, CSRF_REFUSED)
            return
        await self._counted(scope, receive, send, int(declared))

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        seen = 0
        started = False

        async def counting() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyOverLimit
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting, sending)
        except BodyOverLimit:
            if not started:
                await _answer(send, 413, TOO_LARGE, [(b"connection", b"close")])
