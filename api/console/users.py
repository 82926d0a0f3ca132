"""Users and API tokens in the console: province and school admins disable, enable, reset
passwords and revoke tokens of the users they manage (core.scope.manageable_users)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from sqlmodel import select

from api.console.web import ConsoleUserDep, CsrfChecked, render
from api.deps import NowDep, RowId, SessionDep
from core.scope import manageable_users
from core.user_admin import (
    generated_password,
    reset_password,
    revoke_token,
    set_active,
    token_rows,
    token_state,
)
from models import ApiToken, ConsoleUser
from models.audit import record

router = APIRouter()

TITLE = "用户与令牌"
ADMINS_ONLY = "只有省厅管理员和学校管理员可以管理用户。"
NOT_YOURS = "没有这个用户，或您无权管理。"
NO_TOKEN = "没有这个令牌，或您无权撤销。"
DISABLED = "已停用 {name}：其登录会话和 API 令牌立即失效。"
ENABLED = "已启用 {name}。"
RESET = (
    "已重置 {name} 的密码，其所有登录会话已结束。"
    "新密码（只显示这一次，请当面或电话告知）：{password}"
)
REVOKED = "已撤销令牌 {id}（{name}），立即失效。"


def _admin(user: ConsoleUser) -> None:
    if user.role not in ("province", "school"):
        raise HTTPException(403, ADMINS_ONLY)


def _managed(session, actor: ConsoleUser, user_id: int) -> ConsoleUser:
    target = session.exec(
        select(ConsoleUser).where(ConsoleUser.id == user_id, manageable_users(actor))
    ).first()
    if target is None:
        raise HTTPException(404, NOT_YOURS)
    return target


def _page(request, session, actor: ConsoleUser, now, *, done: str = ""):
    users = session.exec(
        select(ConsoleUser).where(manageable_users(actor)).order_by(ConsoleUser.username)
    ).all()
    mine = (ConsoleUser.id == actor.id) | manageable_users(actor)
    tokens = [
        (t, owner, token_state(t, now)) for t, owner, _ in token_rows(session, user_condition=mine)
    ]
    return render(
        request, "users.html", user=actor, title=TITLE, users=users, tokens=tokens, now=now,
        done=done, error="",
    )  # fmt: skip


def _audit(session, actor: ConsoleUser, action: str, target: ConsoleUser, **detail) -> None:
    record(
        session,
        actor=actor.username,
        action=action,
        target_kind="console_user",
        target_id=target.id,
        school_id=target.school_id,
        username=target.username,
        **detail,
    )


@router.get("/admin/users")
def users_page(request: Request, session: SessionDep, now: NowDep, user: ConsoleUserDep):
    _admin(user)
    return _page(request, session, user, now)


@router.post("/admin/users/{user_id}/{action}", dependencies=[CsrfChecked])
def change_user(
    request: Request,
    user_id: RowId,
    action: str,
    session: SessionDep,
    now: NowDep,
    user: ConsoleUserDep,
):
    _admin(user)
    if action not in ("disable", "enable", "reset-password"):
        raise HTTPException(404, NOT_YOURS)
    target = _managed(session, user, user_id)
    if action == "reset-password":
        password = generated_password()
        reset_password(session, user=target, password=password)
        _audit(session, user, "user.reset_password", target, generated=True)
        done = RESET.format(name=target.username, password=password)
    else:
        active = action == "enable"
        set_active(session, user=target, active=active)
        _audit(session, user, f"user.{action}", target)
        done = (ENABLED if active else DISABLED).format(name=target.username)
    session.commit()
    return _page(request, session, user, now, done=done)


@router.post("/admin/tokens/{token_id}/revoke", dependencies=[CsrfChecked])
def revoke(
    request: Request, token_id: RowId, session: SessionDep, now: NowDep, user: ConsoleUserDep
):
    _admin(user)
    row = session.execute(
        select(ApiToken, ConsoleUser)
        .join(ConsoleUser, ConsoleUser.id == ApiToken.user_id)
        .where(ApiToken.id == token_id, (ConsoleUser.id == user.id) | manageable_users(user))
    ).first()
    if row is None:
        raise HTTPException(404, NO_TOKEN)
    token, owner = row
    if revoke_token(session, token=token, now=now):
        _audit(session, user, "token.revoke", owner, token_id=token.id)
    session.commit()
    return _page(request, session, user, now, done=REVOKED.format(id=token.id, name=owner.username))
