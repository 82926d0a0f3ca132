"""Check-ins of a day: who is missing, outside the fence, or late."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, HTTPException, Request

from api.console import queries
from api.console.leaves import may_excuse
from api.console.listing import Column, Filter, export_list, paginate
from api.console.web import (
    ConsoleUserDep,
    CsrfChecked,
    local,
    optional_int,
    redirect,
    render,
    school_options,
)
from api.deps import NowDep, RowId, SessionDep, SettingsDep
from models import CheckIn, Company, School, SchoolClass, Student
from models.audit import record
from models.verify_queries import accept_checkin

router = APIRouter()
NOT_YOURS = "只有学生的指导教师或本校管理员可以核实签到。"


def _state_code(row) -> str:
    if not row.n:
        return "missing"
    if not row.present_n:
        return "unverified"
    return "late" if row.late else "outside" if row.outside_n else "present"


def _state(row) -> str:
    if not row.n:
        if row.on_leave:
            return "请假"
        if not row.reachable:
            return "未绑定"
        return "缺勤" if row.bound else "绑定前"  # bound only after that day's nudge
    parts = ["已签到" if row.present_n else "待核实"]
    if row.late:
        parts.append("迟到")
    if row.outside_n:
        parts.append("范围外")
    return "、".join(parts)


def columns(tz) -> list[Column]:
    return [
        Column(
            "student_no", "学号", sort=Student.student_no, link=lambda r: f"/admin/students/{r.id}"
        ),
        Column("name", "姓名", sort=Student.name),
        Column("school", "学校", sort=School.name),
        Column("class_name", "班级", sort=SchoolClass.name),
        Column("company", "实习单位", sort=Company.name),
        Column("shift", "上班时间", get=lambda r: r.shift_start.strftime("%H:%M")),
        Column("first", "首次签到", get=lambda r: local(r.first_at, tz, "%H:%M")),
        Column("last", "最后签到", get=lambda r: local(r.last_at, tz, "%H:%M")),
        Column("n", "签到次数"),
        Column(
            "distance",
            "最远距离(米)",
            get=lambda r: None if r.max_distance is None else round(r.max_distance),
        ),
        Column("flagged", "可疑签到", get=lambda r: r.flagged_n or None),
        Column("state", "状态", get=_state, tag=_state_code),
    ]


def parse_day(value: str, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(400, f"日期格式应为 YYYY-MM-DD：{value}") from None


@router.post("/admin/checkins/{checkin_id}/verify", dependencies=[CsrfChecked])
def verify(checkin_id: RowId, session: SessionDep, now: NowDep, user: ConsoleUserDep):
    """A teacher or school admin accepts a check-in waiting to be verified (待核实)."""
    row = queries.visible(session, user, CheckIn, checkin_id)
    student = session.get(Student, row.student_id) if row is not None else None
    if student is None:
        raise HTTPException(404, "没有这条签到，或您无权查看。")
    if not may_excuse(session, user, student):
        raise HTTPException(403, NOT_YOURS)
    if not accept_checkin(session, checkin_id=row.id, now=now):
        raise HTTPException(409, "这条签到无需核实。")
    record(
        session,
        actor=user.username,
        action="checkin.verify",
        target_kind="checkin",
        target_id=row.id,
        school_id=row.school_id,
        at=now,
    )
    session.commit()
    return redirect(f"/admin/students/{student.id}")


@router.get("/admin/checkins")
def day_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    user: ConsoleUserDep,
    date: str = "",
    status: str = "",
    school_id: str = "",
    class_name: str = "",
    format: str = "",
):
    if status and status not in queries.DAY_STATUSES:
        raise HTTPException(400, f"未知状态：{status}")
    day = parse_day(date, now.astimezone(settings.tz).date())
    stmt = queries.day_sheet(
        session,
        user,
        day=day,
        settings=settings,
        status=status,
        school_id=optional_int(school_id),
        class_name=class_name,
    )
    cols = columns(settings.tz)
    if format:
        return export_list(session, stmt, request, cols, f"签到_{day.isoformat()}")
    page = paginate(
        session,
        stmt,
        request,
        cols,
        default_sort="student_no",
        page_size=settings.console.page_size,
    )
    page.args.setdefault("date", day.isoformat())
    fields = [
        Filter("date", "日期", kind="date"),
        Filter("status", "状态", list(queries.DAY_STATUSES.items())),
        Filter("school_id", "学校", school_options(session, user)),
        Filter("class_name", "班级"),
    ]
    intro = (
        f"{day.isoformat()} 在岗且为工作日的学生（按实习的工作日与节假日计算）；"
        "请假和尚未绑定的学生不计缺勤。"
    )
    return render(
        request,
        "list.html",
        user=user,
        title="每日签到",
        page=page,
        columns=cols,
        fields=fields,
        intro=intro,
    )
