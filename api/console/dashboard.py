"""The dashboard of each role (to-do list first), its figures as JSON, and the live feed."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from api.console.compliance_summary import summary
from api.console.todo import TodoContext, todo_list
from api.console.web import ConsoleUserDep, local, render
from api.console.week import class_week
from api.deps import NowDep, SessionDep, SettingsDep
from core.cache import TTLCache
from core.calendar import HOLIDAY_NAMES_ZH, holiday_name, is_makeup_workday
from core.device_share import device_shares
from core.feed import latest_actions
from core.stats import overview

router = APIRouter()

HEADINGS = {"province": "全省实习总览", "school": "本校实习总览", "teacher": "我的学生"}
# key -> (label, one line saying what is counted); the roles that show it.
TOTALS = {
    "schools": ("学校数", "接入本平台的学校", ("province",)),
    "students": ("学生数", "名册中的全部学生", ("province", "school", "teacher")),
    "teachers": ("指导教师数", "名册中的指导教师", ("province", "school")),
    "companies": ("实习单位数", "有学生实习的单位", ("province", "school", "teacher")),
    "interning": (
        "实习人数",
        "今天在实习期内的学生，按人计",
        ("province", "school", "teacher"),
    ),
    "started": (
        "上岗数",
        "已开始的实习岗位，按岗位计（含已结束、换过单位的），所以可多于实习人数",
        ("province", "school", "teacher"),
    ),
}
TODAY_LABELS = {
    "students": ("今日签到人数", "今天签到过的学生"),
    "checkins": ("今日签到次数", "上班、下班签到都算"),
    "journals": ("今日日志", "今天提交的日报、周记等"),
    "tickets": ("今日工单", "今天学生反馈的问题"),
}
RATE_LINES = {
    "checkin": "近 30 天应签到的工作日里，实际签到的比例",
    "weekly": "上周在岗的学生中，交了周记的比例",
    "match": "岗位与所学专业对口的实习占比",
    "arranged": "由学校统一安排的实习占比",
    "stable": "实习期间没有换过单位的学生占比",
}
WEEKDAY_NAMES = "一二三四五六日"
# A teacher's figures have no stored snapshot; a reload within this many seconds reuses them
# (the to-do list, the week and the feed stay live).
TEACHER_FIGURES_S = 30
HOLIDAY_NOTE = "今天是{name}（法定节假日），按规定不安排实习，学生无需签到。"
REST_NOTE = "今天是周{weekday}，休息日：只有排班含周末的实习需要签到（今日应签到 {due} 人）。"
NOBODY_NOTE = "今天是周{weekday}，休息日，今天没有需要签到的实习。"
MAKEUP_NOTE = "今天是调休上班日，所有实习都按工作日签到。"


def day_note(today: date, settings, due_today: int | None) -> str:
    """A line saying when today is a holiday, a rest day or a make-up workday; else empty."""
    name = holiday_name(today, settings)
    if name is not None:
        return HOLIDAY_NOTE.format(name=HOLIDAY_NAMES_ZH.get(name, name) or "节假日")
    if is_makeup_workday(today, settings):
        return MAKEUP_NOTE
    if today.isoweekday() >= 6:
        weekday = WEEKDAY_NAMES[today.weekday()]
        if not due_today:
            return NOBODY_NOTE.format(weekday=weekday)
        return REST_NOTE.format(weekday=weekday, due=f"{due_today:,}")
    return ""


def _feed(session, user, tz) -> list[dict]:
    items = latest_actions(session, user)
    for item in items:  # Beijing time in the first paint, as the JS renders it later
        item["time"] = local(datetime.fromisoformat(item["at"]), tz, "%H:%M")
    return items


def _figures(request: Request, session, user, today: date, settings, now: datetime) -> dict:
    def compute():
        return overview(session, user, today=today, settings=settings, now=now)

    if user.role != "teacher":
        return compute()  # province and school figures come from their snapshots already
    cache = getattr(request.app.state, "teacher_figures", None)
    if cache is None:
        cache = request.app.state.teacher_figures = TTLCache(TEACHER_FIGURES_S, max_items=5000)
    return cache.get((user.id, today), compute)


@router.get("/admin")
def admin_root():
    return RedirectResponse("/admin/", status_code=307)


@router.get("/admin/")
def dashboard(
    request: Request, session: SessionDep, settings: SettingsDep, now: NowDep, user: ConsoleUserDep
):
    today = now.astimezone(settings.tz).date()
    figures = _figures(request, session, user, today, settings, now)
    todos = todo_list(session, user, TodoContext(today=today, settings=settings))
    week = class_week(session, user, today=today, settings=settings)
    totals = {k: v for k, v in TOTALS.items() if user.role in v[2]}
    return render(
        request,
        "dashboard.html",
        user=user,
        title=HEADINGS.get(user.role, "总览"),
        figures=figures,
        totals=totals,
        today_labels=TODAY_LABELS,
        rate_lines=RATE_LINES,
        todos=todos,
        week=week,
        day_note=day_note(today, settings, figures.get("due_today")),
        feed=_feed(session, user, settings.tz),
        compliance=summary(session, user, settings, today),
        device_shares=device_shares(session, user, today=today),
    )


@router.get("/admin/overview.json")
def overview_json(session: SessionDep, settings: SettingsDep, now: NowDep, user: ConsoleUserDep):
    return overview(
        session, user, today=now.astimezone(settings.tz).date(), settings=settings, now=now
    )


@router.get("/admin/feed.json")
def feed_json(session: SessionDep, settings: SettingsDep, user: ConsoleUserDep):
    return {"items": _feed(session, user, settings.tz)}
