"""The overview dashboard, its figures as JSON for the charts, and the live feed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from api.console.web import ConsoleUserDep, render
from api.deps import NowDep, SessionDep, SettingsDep
from core.feed import latest_actions
from core.stats import overview

router = APIRouter()

TOTAL_LABELS = {
    "schools": "学校数",
    "students": "学生数",
    "teachers": "指导教师数",
    "companies": "实习单位数",
    "interning": "实习人数",
    "started": "上岗数",
}
TODAY_LABELS = {
    "checkins": "今日签到次数",
    "students": "今日签到人数",
    "journals": "今日日志",
    "tickets": "今日工单",
}


@router.get("/admin")
def admin_root():
    return RedirectResponse("/admin/", status_code=307)


@router.get("/admin/")
def dashboard(
    request: Request, session: SessionDep, settings: SettingsDep, now: NowDep, user: ConsoleUserDep
):
    figures = overview(
        session, user, today=now.astimezone(settings.tz).date(), settings=settings, now=now
    )
    return render(
        request,
        "dashboard.html",
        user=user,
        title="总览",
        figures=figures,
        total_labels=TOTAL_LABELS,
        today_labels=TODAY_LABELS,
        feed=latest_actions(session, user),
    )


@router.get("/admin/overview.json")
def overview_json(session: SessionDep, settings: SettingsDep, now: NowDep, user: ConsoleUserDep):
    return overview(
        session, user, today=now.astimezone(settings.tz).date(), settings=settings, now=now
    )


@router.get("/admin/feed.json")
def feed_json(session: SessionDep, user: ConsoleUserDep):
    return {"items": latest_actions(session, user)}
