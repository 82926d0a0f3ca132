"""Console sign-in and sign-out, with a lock-out after repeated wrong passwords."""

from __future__ import annotations

import secrets
from datetime import timedelta
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from sqlmodel import select

from api.console.web import (
    ConsoleUserDep,
    CsrfChecked,
    read_cookie,
    redirect,
    render,
    write_cookie,
)
from api.deps import NowDep, SessionDep, SettingsDep
from core.accounts import verify_password
from core.audit import record
from models import ConsoleUser

router = APIRouter()

WRONG_LOGIN = "用户名或密码不正确。"
LOCKED = "连续登录失败次数过多，账户已锁定，请 {minutes} 分钟后再试。"


def _safe_next(url: str) -> str:
    # Only paths inside the console: never an open redirect to another site.
    parsed = urlparse(url)
    if parsed.scheme or parsed.netloc or not url.startswith("/admin"):
        return "/admin/"
    return url


@router.get("/admin/login")
def login_page(request: Request, next: str = "/admin/"):
    return render(request, "login.html", next=_safe_next(next), error="")


@router.post("/admin/login", dependencies=[CsrfChecked])
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/admin/"),
):
    user = session.exec(select(ConsoleUser).where(ConsoleUser.username == username.strip())).first()
    target = _safe_next(next)
    if user is not None and user.locked_until and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        error = LOCKED.format(minutes=minutes)
        return render(request, "login.html", 403, next=target, error=error)
    if user is None or not user.active or not verify_password(user.password_hash, password):
        if user is not None:
            user.failed_logins += 1
            record(
                session,
                actor=user.username,
                action="login_failed",
                target_kind="user",
                target_id=user.id,
                school_id=user.school_id,
            )
            if user.failed_logins >= settings.console.max_failed_logins:
                user.locked_until = now + timedelta(minutes=settings.console.lockout_min)
                user.failed_logins = 0
                user.session_nonce = secrets.token_hex(16)
                record(
                    session,
                    actor=user.username,
                    action="login_locked",
                    target_kind="user",
                    target_id=user.id,
                    school_id=user.school_id,
                )
            session.add(user)
            session.commit()
        return render(request, "login.html", 401, next=target, error=WRONG_LOGIN)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if not user.session_nonce:
        user.session_nonce = secrets.token_hex(16)
    session.add(user)
    session.commit()
    response = redirect(target)
    # A fresh CSRF token at sign-in: a token planted before login is worth nothing after it.
    payload = {"u": user.id, "n": user.session_nonce, "c": secrets.token_urlsafe(24)}
    write_cookie(request, response, payload)
    return response


@router.post("/admin/logout", dependencies=[CsrfChecked])
def logout(request: Request, session: SessionDep, user: ConsoleUserDep):
    # A new nonce ends this session and any copy of its cookie.
    user.session_nonce = secrets.token_hex(16)
    session.add(user)
    session.commit()
    response = redirect("/admin/login")
    payload = dict(read_cookie(request))
    payload.pop("u", None)
    payload.pop("n", None)
    write_cookie(request, response, payload)
    return response
