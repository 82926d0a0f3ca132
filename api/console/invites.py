"""Invite codes for a class: issue codes for unbound students, a printable sheet and a CSV."""

from __future__ import annotations

from fastapi import APIRouter, Form, HTTPException, Request
from sqlalchemy import case, exists, func
from sqlmodel import select

from api.console.exports import FORMATS, export_response
from api.console.queries import visible
from api.console.web import ConsoleUserDep, CsrfChecked, local, redirect, render
from api.deps import NowDep, SessionDep, SettingsDep
from core.audit import record
from core.invites import issue_invite
from core.scope import condition
from models import ChannelAccount, InviteCode, School, SchoolClass, Student

router = APIRouter()

NO_CLASS = "没有这个班级，或您无权管理。"
BIND_HINT = "关注学校公众号（或打开 Telegram 机器人），发送“绑定 邀请码”完成绑定。"


def _bound():
    return exists().where(
        ChannelAccount.person_kind == "student",
        ChannelAccount.person_id == Student.id,
        ChannelAccount.active.is_(True),
    )


def _valid_code(now):
    return exists().where(
        InviteCode.person_kind == "student",
        InviteCode.person_id == Student.id,
        InviteCode.used_at.is_(None),
        InviteCode.expires_at > now,
    )


def _class(session, user, class_id: int) -> SchoolClass:
    klass = visible(session, user, SchoolClass, class_id)
    if klass is None:
        raise HTTPException(404, NO_CLASS)
    return klass


@router.get("/admin/invites")
def invite_classes(request: Request, session: SessionDep, now: NowDep, user: ConsoleUserDep):
    bound = func.sum(case((_bound(), 1), else_=0))
    rows = session.execute(
        select(SchoolClass.id, SchoolClass.name, School.name, func.count(Student.id), bound)
        .join(School, School.id == SchoolClass.school_id)
        .join(Student, Student.class_id == SchoolClass.id)
        .where(condition(user, SchoolClass), condition(user, Student))
        .group_by(SchoolClass.id, SchoolClass.name, School.name)
        .order_by(School.name, SchoolClass.name)
    ).all()
    return render(request, "invites.html", user=user, title="邀请码", classes=rows)


@router.post("/admin/invites", dependencies=[CsrfChecked])
def issue_for_class(
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    user: ConsoleUserDep,
    class_id: int = Form(...),
):
    klass = _class(session, user, class_id)
    students = session.exec(
        select(Student).where(
            Student.class_id == klass.id, condition(user, Student), ~_bound(), ~_valid_code(now)
        )
    ).all()
    for student in students:
        issue_invite(
            session,
            person_kind="student",
            person_id=student.id,
            school_id=student.school_id,
            now=now,
            ttl_days=settings.invite.ttl_days,
        )
    record(
        session,
        actor=user.username,
        action="invites.issue",
        target_kind="class",
        target_id=klass.id,
        school_id=klass.school_id,
        issued=len(students),
    )
    session.commit()
    return redirect(f"/admin/invites/{klass.id}")


@router.get("/admin/invites/{class_id}")
def invite_sheet(
    request: Request,
    class_id: int,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    user: ConsoleUserDep,
    format: str = "",
):
    klass = _class(session, user, class_id)
    rows = session.execute(
        select(Student.student_no, Student.name, InviteCode.code, InviteCode.expires_at)
        .join(
            InviteCode, (InviteCode.person_id == Student.id) & (InviteCode.person_kind == "student")
        )
        .where(
            Student.class_id == klass.id,
            condition(user, Student),
            InviteCode.used_at.is_(None),
            InviteCode.expires_at > now,
            ~_bound(),
        )
        .order_by(Student.student_no, InviteCode.created_at.desc())
    ).all()
    latest = {}
    for no, name, code, expires in rows:
        latest.setdefault(no, (no, name, code, expires))  # newest code per student
    codes = list(latest.values())
    if format:
        if format not in FORMATS:
            raise HTTPException(400, f"导出格式只能是 {' / '.join(FORMATS)}")
        table = [
            (no, name, klass.name, code, local(exp, settings.tz)) for no, name, code, exp in codes
        ]
        return export_response(
            f"邀请码_{klass.name}",
            ["student_no", "name", "class", "code", "expires_at"],
            table,
            format,
        )
    return render(
        request,
        "invite_sheet.html",
        user=user,
        title=f"{klass.name} 邀请码",
        klass=klass,
        codes=codes,
        hint=BIND_HINT,
        tz=settings.tz,
    )
