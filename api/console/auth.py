"""Console sign-in and sign-out, with a lock-out after repeated wrong passwords."""

from __future__ import annotations

import secrets
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
from core.accounts import (
    hash_password,
    lock_if_exhausted,
    login_succeeded,
    needs_rehash,
    reserve_login_attempt,
    verify_nobody,
    verify_password,
)
from models import ConsoleUser
from models.audit import record

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
    cfg = settings.console
    if user is None or not user.active:
        verify_nobody(password)  # as long as a real check: no telling names apart by timing
        return render(request, "login.html", 401, next=target, error=WRONG_LOGIN)
    if not reserve_login_attempt(session, user_id=user.id, now=now, limit=cfg.max_failed_logins):
        session.refresh(user)
        until = user.locked_until if user.locked_until and user.locked_until > now else None
        left = (until - now).total_seconds() if until else cfg.lockout_min * 60
        error = LOCKED.format(minutes=max(1, int(left // 60) + 1))
        return render(request, "login.html", 403, next=target, error=error)
    if not verify_password(user.password_hash, password):
        audit = dict(target_kind="user", target_id=user.id, school_id=user.school_id)
        record(session, actor=user.username, action="login_failed", **audit)
        if lock_if_exhausted(
            session,
            user_id=user.id,
            now=now,
            limit=cfg.max_failed_logins,
            minutes=cfg.lockout_min,
        ):
            record(session, actor=user.username, action="login_locked", **audit)
        session.commit()
        return render(request, "login.html", 401, next=target, error=WRONG_LOGIN)
    login_succeeded(session, user_id=user.id, now=now)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)  # once, then every sign-in is the cheap one
        session.add(user)
    if not user.session_nonce:
        user.session_nonce = secrets.token_hex(16)
        session.add(user)
    session.commit()
    session.refresh(user)
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
