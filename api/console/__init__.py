"""The web console (/admin): server-rendered pages, scoped by core.scope."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.console import (
    assets,
    auth,
    checkins,
    compliance,
    dashboard,
    invites,
    journals,
    leaves,
    privacy,
    reports,
    roster,
    students,
    tickets,
    users,
)
from api.console.guard import ConsoleBodyGate
from api.console.web import TEMPLATES, LoginRequired, render

ROUTERS = (
    auth, dashboard, students, checkins, leaves, journals, tickets, compliance, roster, invites,
    privacy, users, reports,
)  # fmt: skip


async def _login_required(request: Request, exc: LoginRequired):
    if request.url.path.endswith(".json"):
        return JSONResponse({"detail": "请先登录"}, status_code=401)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/admin/login?next={quote(target)}", status_code=303)


async def _http_error(request: Request, exc: StarletteHTTPException):
    # Console pages get a readable page; everything else keeps FastAPI's JSON errors.
    if not request.url.path.startswith("/admin") or request.url.path.endswith(".json"):
        return await http_exception_handler(request, exc)
    return render(request, "error.html", exc.status_code, title="出错了", detail=exc.detail)


def install(app: FastAPI) -> None:
    """Add the console's routes, static files and error pages to the app."""
    TEMPLATES.env.globals["TZ"] = app.state.settings.tz
    TEMPLATES.env.globals["asset"] = assets.asset_url
    for module in ROUTERS:
        app.include_router(module.router, include_in_schema=False)
    app.include_router(assets.router)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(ConsoleBodyGate)  # size and session of a POST, before reading it
