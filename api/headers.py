"""Security headers on every response the app gives (POST /wechat answers in front of it).

The console's own pages (and the privacy page) also get a Content-Security-Policy that they
satisfy: scripts only from /static (no inline script or handler), no framing, forms posting only
here. Another page may send its own policy (e.g. one that loads WeChat's JS-SDK); a header a
response already carries is left as it is.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
CSP_PATHS = ("/admin", "/privacy")
HSTS = "max-age=31536000"
ALWAYS = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


class SecurityHeaders:
    """ASGI middleware adding the headers above; HSTS only when cookies are HTTPS-only."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(ALWAYS)
        if scope["path"].startswith(CSP_PATHS):
            extra.append((b"content-security-policy", CONSOLE_CSP.encode()))
        if self.hsts:
            extra.append((b"strict-transport-security", HSTS.encode()))

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)
