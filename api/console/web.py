"""Console plumbing: signed session cookies, CSRF, the signed-in user, and page rendering."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlmodel import Session

from api.deps import get_session
from models import ConsoleUser
from models.secrets import shared_secret

COOKIE = "shixi_session"
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))
ROLE_NAMES = {"province": "省厅管理员", "school": "学校管理员", "teacher": "指导教师"}
TEMPLATES.env.globals["ROLE_NAMES"] = ROLE_NAMES
TEMPLATES.env.globals["PAGE_SIZES"] = (20, 50, 100, 200)
TEMPLATES.env.filters["thousands"] = lambda n: "" if n is None else f"{n:,}"
CSRF_REFUSED = "表单已过期或来源不明，请刷新页面后重试。"
MAX_FORM_FIELDS = 100


class LoginRequired(Exception):
    """Raised by the console dependency when nobody (valid) is signed in."""


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return serializer_for(request.app)


def serializer_for(app) -> URLSafeTimedSerializer:
    """The signer of this app's session cookies."""
    if not getattr(app.state, "console_secret", None):
        # An empty secret_key means one generated key kept in the database, so sessions
        # survive restarts and work across every web process.
        key = app.state.settings.server.secret_key or shared_secret(
            app.state.engine, "console_session_key"
        )
        app.state.console_secret = key
    return URLSafeTimedSerializer(app.state.console_secret, salt="shixi-console-session")


def read_cookie(request: Request) -> dict:
    """The session payload {u: user id, n: nonce, c: csrf}, or {} when absent or invalid."""
    if "console_payload" in request.state._state:
        return request.state.console_payload
    request.state.console_payload = load_session(request.app, request.cookies.get(COOKIE, ""))
    return request.state.console_payload


def load_session(app, raw: str) -> dict:
    """A session cookie's payload, or {} when it is absent, expired or not signed by us."""
    if not raw:
        return {}
    max_age = app.state.settings.console.session_hours * 3600
    try:
        payload = serializer_for(app).loads(raw, max_age=max_age)
    except BadSignature:
        return {}
    return payload if isinstance(payload, dict) else {}


def write_cookie(request: Request, response, payload: dict) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        COOKIE,
        _serializer(request).dumps(payload),
        max_age=settings.console.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.server.cookie_secure,
        path="/",
    )


def csrf_token(request: Request) -> str:
    """This browser's CSRF token; a fresh one is put in the cookie by `render`."""
    payload = read_cookie(request)
    if not payload.get("c"):
        payload["c"] = secrets.token_urlsafe(24)
        request.state.console_cookie_dirty = True
    return payload["c"]


async def check_csrf(request: Request) -> None:
    """Refuse (403) a POST whose hidden csrf field does not match the session's token.

    api.console.guard has already refused, before any byte of the body was read, a POST
    without a session (or, for sign-in, without a CSRF token) and one over the size limit.
    """
    form = await request.form(max_files=1, max_fields=MAX_FORM_FIELDS)
    sent = str(form.get("csrf", ""))
    expected = read_cookie(request).get("c", "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(status_code=403, detail=CSRF_REFUSED)


def current_user(request: Request, session: Session = Depends(get_session)) -> ConsoleUser:
    payload = read_cookie(request)
    user = session.get(ConsoleUser, payload["u"]) if payload.get("u") else None
    if (
        user is None
        or not user.active
        or not hmac.compare_digest(user.session_nonce.encode(), str(payload.get("n", "")).encode())
    ):
        raise LoginRequired()
    request.state.console_user = user  # for helpers that audit what the page gave out
    return user


ConsoleUserDep = Annotated[ConsoleUser, Depends(current_user)]
CsrfChecked = Depends(check_csrf)


def render(request: Request, name: str, status_code: int = 200, **context):
    """Render a console template with the user, CSRF token and navigation available."""
    context.setdefault("user", None)
    context["csrf"] = csrf_token(request)
    response = TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)
    if getattr(request.state, "console_cookie_dirty", False):
        write_cookie(request, response, read_cookie(request))
    return response


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def local(dt, tz=None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) time as local time text for pages and exports."""
    if dt is None:
        return ""
    return dt.astimezone(tz or TEMPLATES.env.globals.get("TZ")).strftime(fmt)


TEMPLATES.env.filters["local"] = local


def school_options(session: Session, user: ConsoleUser) -> list[tuple[str, str]]:
    """The schools a user may filter by (just their own for a school admin or teacher)."""
    from sqlmodel import select

    from core.scope import condition
    from models import School

    rows = session.execute(select(School.id, School.name).where(condition(user, School))).all()
    return [(str(i), n) for i, n in sorted(rows, key=lambda r: r[1])]


def optional_int(value: str | None) -> int | None:
    """A filter that is empty or a number; anything else is a 400, not a 500."""
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError:
        raise HTTPException(400, f"不是有效的编号：{value[:40]}") from None
    if not 0 < number < 2**31:  # ids are 32-bit integers: a larger one would overflow the driver
        raise HTTPException(400, f"不是有效的编号：{value[:40]}")
    return number
