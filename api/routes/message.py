"""GET /m/<token>: one pushed message in full, behind the link of a template message.

No login: the signed token names one outbox row and its expiry (core/message_links.py), and
the page shows that message's text and nothing else. A token that is not ours or has expired
gets a short Chinese page with a 4xx, never a 500.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.console.web import TEMPLATES
from api.deps import NowDep, SessionDep
from core import notices
from core.message_links import LinkRefused, link_key, read_token
from models import OutboxMessage

router = APIRouter(include_in_schema=False)

TITLE = "消息详情"
FORGED = "链接无效：请从公众号里的消息重新打开。"
EXPIRED = "链接已过期：这条消息的详情只保留一段时间。如需了解情况，请联系指导教师。"
GONE = "这条消息已不存在。"
# The token is the whole secret: never sent on as a referrer, never cached, never indexed.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
}


def _key(request: Request) -> str:
    app = request.app
    if not getattr(app.state, "message_link_key", None):
        app.state.message_link_key = link_key(app.state.settings, app.state.engine)
    return app.state.message_link_key


def _page(request: Request, status: int, **context):
    context.setdefault("text", "")
    context.setdefault("error", "")
    response = TEMPLATES.TemplateResponse(
        request, "message.html", {"title": TITLE, **context}, status_code=status
    )
    response.headers.update(HEADERS)
    return response


@router.get("/m/{token}")
def message_page(request: Request, token: str, session: SessionDep, now: NowDep):
    try:
        message_id = read_token(_key(request), token, now)
    except LinkRefused as refused:
        return _page(
            request, 410 if refused.expired else 404, error=EXPIRED if refused.expired else FORGED
        )
    row = session.get(OutboxMessage, message_id)
    text = notices.render(session, row) if row is not None else ""
    if not text:  # erased with the person's data (PIPL), or never had text
        return _page(request, 404, error=GONE)
    sent = row.sent_at or row.created_at
    return _page(request, 200, text=text, at=sent.astimezone(request.app.state.settings.tz))
