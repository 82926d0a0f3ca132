"""Personal data requests in the console: a school admin exports or erases one student's data."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from api.commands.privacy import summary
from api.console.web import ConsoleUserDep, CsrfChecked, render
from api.deps import NowDep, SessionDep
from core.privacy import PrivacyError, erase, export_zip, find_student_for
from models import ConsoleUser
from models.audit import record

router = APIRouter()

TITLE = "个人信息"
SCHOOL_ADMINS_ONLY = "只有学校管理员可以导出或删除学生的个人信息。"
CONFIRM_MISMATCH = "两次输入的学号不一致，未删除。"
ERASED = "已删除学号 {no} 的全部个人信息：{summary}。"


def _school_admin(user: ConsoleUser) -> None:
    if user.role != "school" or user.school_id is None:
        raise HTTPException(403, SCHOOL_ADMINS_ONLY)


def _page(request: Request, user: ConsoleUser, status: int = 200, *, error="", done=""):
    return render(
        request, "privacy_admin.html", status, user=user, title=TITLE, error=error, done=done
    )


@router.get("/admin/privacy")
def privacy_page(request: Request, user: ConsoleUserDep):
    _school_admin(user)
    return _page(request, user)


@router.post("/admin/privacy/export", dependencies=[CsrfChecked])
def privacy_export(
    request: Request,
    session: SessionDep,
    now: NowDep,
    user: ConsoleUserDep,
    student_no: str = Form(""),
):
    _school_admin(user)
    try:
        student = find_student_for(session, student_no, school_id=user.school_id)
    except PrivacyError as exc:
        return _page(request, user, 404, error=str(exc))
    data, counts = export_zip(session, student, at=now)
    record(
        session,
        actor=user.username,
        action="privacy.export",
        target_kind="student",
        target_id=student.id,
        school_id=student.school_id,
        rows=counts,
    )
    session.commit()
    name = quote(f"个人信息_{student.student_no}.zip")
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )


@router.post("/admin/privacy/erase", dependencies=[CsrfChecked])
def privacy_erase(
    request: Request,
    session: SessionDep,
    now: NowDep,
    user: ConsoleUserDep,
    student_no: str = Form(""),
    confirm: str = Form(""),
):
    _school_admin(user)
    if student_no.strip() != confirm.strip():
        return _page(request, user, 400, error=CONFIRM_MISMATCH)
    try:
        student = find_student_for(session, student_no, school_id=user.school_id)
    except PrivacyError as exc:
        return _page(request, user, 404, error=str(exc))
    counts = erase(session, student, actor=user.username, at=now)
    session.commit()
    return _page(request, user, done=ERASED.format(no=student_no.strip(), summary=summary(counts)))
