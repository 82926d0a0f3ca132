"""Leave (请假): the list (pending first), one request with approve / reject, and excusing days."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Form, HTTPException, Request

from api.console import queries
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
from models import ConsoleUser, Leave, School, SchoolClass, Student
from models.audit import record
from models.leave import LeaveResult, create_leave, decide_leave, may_decide

router = APIRouter()

STATUS_NAMES = {"pending": "待审批", "approved": "已批准", "rejected": "已驳回"}
NOT_FOUND = "没有这条请假，或您无权查看。"
NOT_YOURS = "只有学生的指导教师或本校管理员可以审批请假。"
ERRORS = {
    "no_student": "没有这名学生。",
    "bad_range": "结束日期不能早于开始日期。",
    "too_long": "一次请假最多 {max_days} 天，请分开登记。",
    "too_old": "{start} 已超过 {max_days} 天，不能再登记请假。",
    "no_reason": "请写明理由。",
    "overlap": "这段日期已有请假 {number}（{status_name}，{start} 至 {end}）。",
    "forbidden": NOT_YOURS,
    "decided": "请假 {number} 已处理（{status_name}），无需再审批。",
    "not_found": NOT_FOUND,
}
REFUSAL_NEEDED = "驳回请写明理由，学生会收到。"


def error_text(result: LeaveResult) -> str:
    """The console's sentence for a refused create or decide."""
    detail = dict(result.detail)
    detail.setdefault("status_name", STATUS_NAMES.get(detail.get("status", ""), ""))
    if result.error == "no_reason" and "number" in detail:
        return REFUSAL_NEEDED
    return ERRORS.get(result.error, result.error).format(**detail)


def decider(user: ConsoleUser) -> tuple[str, int] | None:
    """Who a console user decides leave as: the teacher, or the school admin (else nobody)."""
    if user.role == "teacher" and user.teacher_id is not None:
        return "teacher", user.teacher_id
    if user.role == "school":
        return "school_admin", user.id
    return None


def may_excuse(session, user: ConsoleUser, student: Student) -> bool:
    """Whether `user` may excuse days of `student` (the same rule as deciding their leave)."""
    who = decider(user)
    probe = Leave(
        school_id=student.school_id,
        student_id=student.id,
        start_date=date.min,
        end_date=date.min,
        reason="",
    )
    return who is not None and may_decide(
        session, leave=probe, decider_kind=who[0], decider_id=who[1]
    )


def columns(tz) -> list[Column]:
    return [
        Column(
            "number",
            "编号",
            get=lambda r: r.Leave.number,
            sort=Leave.id,
            link=lambda r: f"/admin/leaves/{r.Leave.id}",
        ),
        Column(
            "status",
            "状态",
            get=lambda r: STATUS_NAMES.get(r.Leave.status, r.Leave.status),
            sort=queries.PENDING_FIRST,
        ),
        Column("student_no", "学号", sort=Student.student_no),
        Column("student_name", "姓名", sort=Student.name),
        Column("class_name", "班级", sort=SchoolClass.name),
        Column("school", "学校", sort=School.name),
        Column(
            "start", "开始", get=lambda r: r.Leave.start_date.isoformat(), sort=Leave.start_date
        ),
        Column("end", "结束", get=lambda r: r.Leave.end_date.isoformat()),
        Column("reason", "理由", get=lambda r: r.Leave.reason[:60]),
        Column("decided_by", "审批人", get=lambda r: r.Leave.decided_by),
        Column("refusal", "驳回理由", get=lambda r: r.Leave.refusal),
        Column(
            "created",
            "申请时间",
            get=lambda r: local(r.Leave.created_at, tz),
            sort=Leave.created_at,
        ),
    ]


@router.get("/admin/leaves")
def leave_list(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: ConsoleUserDep,
    status: str = "",
    q: str = "",
    school_id: str = "",
    class_name: str = "",
    format: str = "",
):
    if status and status not in STATUS_NAMES:
        raise HTTPException(400, f"未知状态：{status}")
    stmt = queries.leaves(
        user, status=status, q=q, school_id=optional_int(school_id), class_name=class_name
    )
    cols = columns(settings.tz)
    if format:
        return export_list(session, stmt, request, cols, "请假")
    page = paginate(
        session, stmt, request, cols, default_sort="status", page_size=settings.console.page_size
    )
    fields = [
        Filter("status", "状态", list(STATUS_NAMES.items())),
        Filter("q", "姓名/学号"),
        Filter("school_id", "学校", school_options(session, user)),
        Filter("class_name", "班级"),
    ]
    intro = "待审批的排在前面。批准后，请假的工作日不提醒、不预警，也不计入签到率。"
    return render(
        request,
        "list.html",
        user=user,
        title="请假",
        page=page,
        columns=cols,
        fields=fields,
        intro=intro,
    )


def _visible(session, user, leave_id: int) -> Leave:
    leave = queries.visible(session, user, Leave, leave_id)
    if leave is None:
        raise HTTPException(404, NOT_FOUND)
    return leave


def _page(request, session, user, leave: Leave, status_code: int = 200, error: str = ""):
    student = session.get(Student, leave.student_id)
    who = decider(user)
    can_decide = who is not None and may_decide(
        session, leave=leave, decider_kind=who[0], decider_id=who[1]
    )
    return render(
        request,
        "leave.html",
        status_code,
        user=user,
        title=f"请假 {leave.number}",
        leave=leave,
        student=student,
        statuses=STATUS_NAMES,
        can_decide=can_decide,
        error=error,
    )


@router.get("/admin/leaves/{leave_id}")
def leave_page(request: Request, leave_id: RowId, session: SessionDep, user: ConsoleUserDep):
    return _page(request, session, user, _visible(session, user, leave_id))


@router.post("/admin/leaves/{leave_id}", dependencies=[CsrfChecked])
def decide(
    request: Request,
    leave_id: RowId,
    session: SessionDep,
    now: NowDep,
    user: ConsoleUserDep,
    action: str = Form(...),
    refusal: str = Form(""),
):
    leave = _visible(session, user, leave_id)
    if action not in ("approve", "reject"):
        raise HTTPException(400, f"未知操作：{action}")
    who = decider(user)
    if who is None:
        return _page(request, session, user, leave, 403, NOT_YOURS)
    result = decide_leave(
        session,
        leave_id=leave.id,
        approve=action == "approve",
        decider_kind=who[0],
        decider_id=who[1],
        decided_by=user.username,
        now=now,
        refusal=refusal,
    )
    if not result.ok:
        session.rollback()
        status = 403 if result.error == "forbidden" else 409 if result.error == "decided" else 400
        return _page(request, session, user, leave, status, error_text(result))
    record(
        session,
        actor=user.username,
        action=f"leave.{action}",
        target_kind="leave",
        target_id=leave.id,
        school_id=leave.school_id,
        refusal=refusal.strip()[:200],
    )
    session.commit()
    return redirect(f"/admin/leaves/{leave.id}")


@router.post("/admin/students/{student_id}/leave", dependencies=[CsrfChecked])
def excuse(
    student_id: RowId,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    user: ConsoleUserDep,
    start: str = Form(...),
    end: str = Form(""),
    reason: str = Form(""),
):
    """A teacher excuses days from the console: an approved leave in the teacher's name."""
    student = queries.visible(session, user, Student, student_id)
    if student is None:
        raise HTTPException(404, "没有这名学生，或您无权查看。")
    if not may_excuse(session, user, student):
        raise HTTPException(403, NOT_YOURS)
    first, last = _day(start), _day(end or start)
    result = create_leave(
        session,
        student_id=student.id,
        start=first,
        end=last,
        reason=reason,
        today=now.astimezone(settings.tz).date(),
        now=now,
        max_past_days=settings.checkin.makeup_max_days,
        source="console",
        requested_by=user.username,
        approved_by=user.username,
    )
    if not result.ok:
        session.rollback()
        raise HTTPException(409 if result.error == "overlap" else 400, error_text(result))
    record(
        session,
        actor=user.username,
        action="leave.excuse",
        target_kind="leave",
        target_id=result.leave.id,
        school_id=student.school_id,
    )
    session.commit()
    return redirect(f"/admin/students/{student.id}#leave")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise HTTPException(400, f"日期格式应为 YYYY-MM-DD：{text}") from None
